import { MAIL_BUCKET } from '../../../blob/api/blob-store';
import { NotFoundError } from '../../../core/errors';
import { MAX_SEARCH_CONTENT } from '../limits';
import { formatString, ok, type TaggedResult } from '../response';
import { compileSearch, parseContent, type SearchTarget } from '../search/evaluate';
import { parseSearch } from '../search/parse';
import { formatNumberSet, needsContent, usesModSeq, type SearchKey } from '../search/query';
import type { MessageMetadata } from '../../../mailbox/api/mailbox-store';
import type { FetchedMessage } from '../../../mailbox/api/mailbox-manager';
import type { SelectedMailbox } from '../selected-mailbox';
import type { ImapSession } from '../session';
import type { CommandContext, ImapCommand } from '../types';

async function readContent(session: ImapSession, blobId: string): Promise<Buffer> {
  const stream = await session.deps.blobs.read(MAIL_BUCKET, blobId);
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= MAX_SEARCH_CONTENT) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, MAX_SEARCH_CONTENT);
}

/**
 * Streams the announced messages of the selected mailbox and calls `onMatch` for those matching
 * `key`. With `withSummary` the messages carry their parsed summary (SORT needs it).
 */
export async function forEachMatch(
  session: ImapSession,
  key: SearchKey,
  withSummary: boolean,
  onMatch: (sequence: number, message: MessageMetadata & Pick<FetchedMessage, 'parsed'>) => void,
): Promise<void> {
  const view = session.selected as SelectedMailbox;
  const uids = view.announcedUids;
  if (uids.length === 0) return;
  const matches = compileSearch(key, { exists: view.exists, highestUid: view.highestUid, now: new Date() });
  const withContent = needsContent(key);
  const range = { from: uids[0], to: uids[uids.length - 1] };
  const manager = session.manager;
  const source: AsyncIterable<MessageMetadata & Pick<FetchedMessage, 'parsed'>> =
    withSummary && manager ? manager.getMessages(session.user as string, view.mailbox.id, [range], 'headers') : session.deps.mailboxes.listMessages(view.mailbox.id, range);
  for await (const message of source) {
    const sequence = view.sequenceOf(message.uid);
    if (sequence === null) continue;
    const target: SearchTarget = { sequence, message };
    if (withContent) {
      try {
        target.content = parseContent(await readContent(session, message.blobId));
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
        session.log.error({ err, uid: message.uid }, 'message content missing from the blob store during SEARCH');
        continue;
      }
    }
    if (matches(target)) onMatch(sequence, message);
  }
}

/**
 * SEARCH and UID SEARCH (RFC 3501 §6.4.4) with ESEARCH return options (RFC 4731). Evaluated
 * in memory, message by message, streaming the selected mailbox through `listMessages`; the
 * content is read only for header/body keys. Only message numbers are kept.
 */
export async function runSearch({ tag, args, session }: CommandContext, byUid: boolean): Promise<TaggedResult> {
  const request = parseSearch(args);
  const results: number[] = [];
  let highestModSeq = 0;
  await forEachMatch(session, request.key, false, (sequence, message) => {
    results.push(byUid ? message.uid : sequence);
    highestModSeq = Math.max(highestModSeq, message.modSeq);
  });
  results.sort((a, b) => a - b);
  const modSeq = usesModSeq(request.key) && results.length > 0 ? highestModSeq : null;
  // RFC 9051 §7.3.4: IMAP4rev2 sessions always get ESEARCH.
  const returnOptions = request.returnOptions ?? (session.isEnabled('IMAP4REV2') ? ['ALL' as const] : null);
  if (returnOptions === null) {
    const tail = modSeq === null ? '' : ` (MODSEQ ${modSeq})`;
    await session.untagged(`SEARCH${results.length > 0 ? ' ' : ''}${results.join(' ')}${tail}`);
  } else {
    const options = returnOptions.length === 0 ? ['ALL'] : returnOptions;
    let text = `ESEARCH (TAG ${formatString(tag)})${byUid ? ' UID' : ''}`;
    if (results.length > 0) {
      if (options.includes('MIN')) text += ` MIN ${results[0]}`;
      if (options.includes('MAX')) text += ` MAX ${results[results.length - 1]}`;
      if (options.includes('ALL')) text += ` ALL ${formatNumberSet(results)}`;
    }
    if (options.includes('COUNT')) text += ` COUNT ${results.length}`;
    if (modSeq !== null) text += ` MODSEQ ${modSeq}`;
    await session.untagged(text);
  }
  return ok(`${byUid ? 'UID SEARCH' : 'SEARCH'} completed`);
}

export const search: ImapCommand = {
  name: 'SEARCH',
  states: ['selected'],
  handler: (context) => runSearch(context, false),
};
