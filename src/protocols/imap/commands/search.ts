import { openMessageContent, type ContentRef } from '../../../mailbox/message-content';
import { NotFoundError } from '../../../core/errors';
import { MAX_SEARCH_CONTENT } from '../limits';
import { formatString, ok, type TaggedResult } from '../response';
import { compileSearch, parseContent, type SearchTarget } from '../search/evaluate';
import { searchContentKeys, type ImapSearchDeps } from '../search/index-search';
import { candidateRanges, candidateUids } from '../search/candidates';
import { parseSearch } from '../search/parse';
import { formatNumberSet, needsContent, needsThread, usesModSeq, type SearchKey, type SearchRequest } from '../search/query';
import type { ImapValue } from '../parser';
import { ImapBadError } from '../errors';
import type { MessageMetadata, UidRange } from '../../../mailbox/api/mailbox-store';
import type { FetchedMessage } from '../../../mailbox/api/mailbox-manager';
import type { SelectedMailbox } from '../selected-mailbox';
import type { ImapSession } from '../session';
import type { CommandContext, ImapCommand } from '../types';

async function readContent(session: ImapSession, message: ContentRef): Promise<Buffer> {
  const stream = await openMessageContent(session.deps.blobs, message);
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
  const index = (session.deps as ImapSearchDeps).search;
  const answered = index ? await searchContentKeys(index, view.mailbox.id, uids, key) : null;
  const matches = compileSearch(key, { exists: view.exists, highestUid: view.highestUid, now: new Date(), fromIndex: answered?.fromIndex, saved: new Set(view.savedUids) });
  const withContent = needsContent(key);
  // Only the messages the index answers may match are read, when they are few enough.
  const candidates = answered ? candidateUids(key, answered, uids) : null;
  const ranges = (candidates && candidateRanges(candidates)) ?? [{ from: uids[0], to: uids[uids.length - 1] }];
  const manager = session.manager;
  // THREADID (RFC 8474) needs the thread of each message, which only the MailboxManager returns.
  const withThread = needsThread(key);
  if (withThread && !manager) throw new ImapBadError('SEARCH THREADID is not supported by this server');
  const source: AsyncIterable<MessageMetadata & Pick<FetchedMessage, 'parsed'>> =
    (withSummary || withThread) && manager
      ? manager.getMessages(session.user as string, view.mailbox.id, ranges, withSummary ? 'headers' : 'metadata')
      : listRanges(session, view.mailbox.id, ranges);
  for await (const message of source) {
    const sequence = view.sequenceOf(message.uid);
    if (sequence === null) continue;
    const target: SearchTarget = { sequence, message, indexed: answered?.indexed.has(message.uid) ?? false };
    // Messages the index does not know yet (indexing is asynchronous) are read and evaluated here.
    if (withContent && !target.indexed) {
      try {
        target.content = parseContent(await readContent(session, message));
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
        session.log.error({ err, uid: message.uid }, 'message content missing from the blob store during SEARCH');
        continue;
      }
    }
    if (matches(target)) onMatch(sequence, message);
  }
}

async function* listRanges(session: ImapSession, mailboxId: string, ranges: readonly UidRange[]): AsyncIterable<MessageMetadata> {
  for (const range of ranges) yield* session.deps.mailboxes.listMessages(mailboxId, range);
}

/**
 * SEARCH and UID SEARCH (RFC 3501 §6.4.4) with ESEARCH return options (RFC 4731). Content keys
 * (header, body, text, sent dates) are answered by the search index; keys that must be exact
 * against the session's view (sequence numbers, UIDs, flags, MODSEQ, sizes, internal dates) are
 * evaluated while streaming the mailbox's metadata. Messages the index does not know yet are read
 * and evaluated in memory, so a SEARCH right after APPEND is exact. Only message numbers are kept.
 */
export async function runSearch({ tag, args, session }: CommandContext, byUid: boolean): Promise<TaggedResult> {
  const view = session.selected as SelectedMailbox;
  let request: SearchRequest;
  try {
    request = parseSearch(args);
  } catch (err) {
    // RFC 9051 §6.4.4.1 (RFC 5182 §2.1): a SEARCH RETURN (SAVE) answered NO (BADCHARSET) leaves
    // `$` empty; one answered BAD MUST NOT change it.
    if (!(err instanceof ImapBadError) && requestsSave(args)) view.savedUids = [];
    throw err;
  }
  const results: number[] = [];
  const uids: number[] = [];
  let highestModSeq = 0;
  const save = request.returnOptions?.includes('SAVE') ?? false;
  try {
    await forEachMatch(session, request.key, false, (sequence, message) => {
      results.push(byUid ? message.uid : sequence);
      uids.push(message.uid);
      highestModSeq = Math.max(highestModSeq, message.modSeq);
    });
  } catch (err) {
    // RFC 9051 §6.4.4.1: a SEARCH RETURN (SAVE) answered NO leaves `$` empty, a BAD leaves it as it was.
    if (save && !(err instanceof ImapBadError)) view.savedUids = [];
    throw err;
  }
  results.sort((a, b) => a - b);
  uids.sort((a, b) => a - b);
  if (save) view.savedUids = savedResult(uids, request.returnOptions ?? []);
  const modSeq = usesModSeq(request.key) && results.length > 0 ? highestModSeq : null;
  // RFC 9051 §7.3.4: IMAP4rev2 sessions always get ESEARCH.
  const returnOptions = request.returnOptions ?? (session.isEnabled('IMAP4REV2') ? ['ALL' as const] : null);
  // RFC 5182 §2.1: SAVE alone returns no ESEARCH response.
  if (save && returnOptions?.length === 1) return ok(`${byUid ? 'UID SEARCH' : 'SEARCH'} completed, result saved`);
  if (returnOptions === null) {
    const tail = modSeq === null ? '' : ` (MODSEQ ${modSeq})`;
    await session.untagged(`SEARCH${results.length > 0 ? ' ' : ''}${results.join(' ')}${tail}`);
  } else {
    const options = returnOptions.length === 0 ? ['ALL'] : returnOptions.filter((option) => option !== 'SAVE');
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

function requestsSave(args: readonly ImapValue[]): boolean {
  const [first, list] = args;
  return first?.type === 'atom' && first.value.toUpperCase() === 'RETURN' && list?.type === 'list' && list.items.some((item) => item.type === 'atom' && item.value.toUpperCase() === 'SAVE');
}

/**
 * What SAVE keeps (RFC 5182 §2.1): with MIN and/or MAX (and neither ALL nor COUNT) only those
 * messages, else the whole result.
 */
function savedResult(uids: readonly number[], options: readonly string[]): number[] {
  if (uids.length === 0 || options.includes('ALL') || options.includes('COUNT') || !(options.includes('MIN') || options.includes('MAX'))) return [...uids];
  const kept = new Set<number>();
  if (options.includes('MIN')) kept.add(uids[0]);
  if (options.includes('MAX')) kept.add(uids[uids.length - 1]);
  return [...kept].sort((a, b) => a - b);
}

export const search: ImapCommand = {
  name: 'SEARCH',
  states: ['selected'],
  handler: (context) => runSearch(context, false),
};
