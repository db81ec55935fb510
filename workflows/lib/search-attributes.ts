import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Mail queue = Temporal: queued mails are open workflows carrying these search attributes, so
 * WebAdmin's `/mailQueues` browses, counts and deletes with visibility queries. Pure module.
 */
export const QUEUE_ATTRIBUTE = defineSearchAttributeKey('PostflowQueue', SearchAttributeType.KEYWORD);
/** `processing` (spool), `sending`, `delayed` (waiting for the next attempt). */
export const STATE_ATTRIBUTE = defineSearchAttributeKey('PostflowState', SearchAttributeType.KEYWORD);
export const SENDER_ATTRIBUTE = defineSearchAttributeKey('PostflowSender', SearchAttributeType.KEYWORD);
export const RECIPIENTS_ATTRIBUTE = defineSearchAttributeKey('PostflowRecipients', SearchAttributeType.KEYWORD_LIST);
export const NEXT_ATTEMPT_ATTRIBUTE = defineSearchAttributeKey('PostflowNextAttempt', SearchAttributeType.DATETIME);

/** Every search attribute Postflow needs registered on the namespace, with its type. */
export const POSTFLOW_SEARCH_ATTRIBUTES = [QUEUE_ATTRIBUTE, STATE_ATTRIBUTE, SENDER_ATTRIBUTE, RECIPIENTS_ATTRIBUTE, NEXT_ATTEMPT_ATTRIBUTE];

export const SPOOL_QUEUE = 'spool';
export const OUTGOING_QUEUE = 'outgoing';
/** The sender of a null reverse-path as a search attribute value (Keyword cannot be empty-searched). */
export const NULL_SENDER = '<>';

/**
 * Temporal's default size limit of one search attribute value (`limit.searchAttributesSizeOfValueLimit`):
 * the bytes of its JSON. A start or upsert above it is refused (INVALID_ARGUMENT).
 */
export const SEARCH_ATTRIBUTE_VALUE_LIMIT = 2048;
/** Ends a recipients list cut to fit the limit: `…+N more` (not an address, so no filter matches it). */
export const MORE_RECIPIENTS_PREFIX = '…+';

/**
 * The `PostflowRecipients` value of a mail: every recipient when they fit the limit, else the
 * first ones that fit followed by `…+N more`. A mail with 50 recipients of 45 characters is
 * already above 2 KB; the workflow's input always has them all.
 */
export function recipientsAttributeValue(recipients: readonly string[], limit = SEARCH_ATTRIBUTE_VALUE_LIMIT): string[] {
  // JSON: `[` + `]` + quoted values + separating commas.
  let size = 2;
  const sizes = recipients.map((r) => utf8Length(JSON.stringify(r)));
  const total = sizes.reduce((sum, s) => sum + s + 1, 1);
  if (total <= limit) return [...recipients];
  const kept: string[] = [];
  for (let i = 0; i < recipients.length; i++) {
    const marker = `${MORE_RECIPIENTS_PREFIX}${recipients.length - i} more`;
    const withNext = size + sizes[i] + (kept.length > 0 ? 1 : 0);
    const markerAfter = utf8Length(JSON.stringify(`${MORE_RECIPIENTS_PREFIX}${recipients.length - i - 1} more`)) + 1;
    if (withNext + markerAfter > limit) return [...kept, marker];
    size = withNext;
    kept.push(recipients[i]);
  }
  return kept;
}

/** UTF-8 length of a string (workflow code has no Buffer). */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}
