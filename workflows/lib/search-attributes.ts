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
