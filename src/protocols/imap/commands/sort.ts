import type { EnvelopeAddress, MessageSummary } from '../../../mime/parsed-message';
import { ImapBadError } from '../errors';
import { ok, type TaggedResult } from '../response';
import { parseSearch } from '../search/parse';
import type { CommandContext, ImapCommand } from '../types';
import { atomArg } from './args';
import { forEachMatch } from './search';

/** RFC 5256 sort keys, and RFC 5957 DISPLAYFROM/DISPLAYTO. */
const SORT_KEYS = new Set(['ARRIVAL', 'CC', 'DATE', 'FROM', 'SIZE', 'SUBJECT', 'TO', 'DISPLAYFROM', 'DISPLAYTO']);

interface Criterion {
  key: string;
  reverse: boolean;
}

interface Row {
  sequence: number;
  uid: number;
  values: Array<string | number>;
}

function firstAddress(list: readonly EnvelopeAddress[] | undefined): { name: string; address: string } | null {
  for (const entry of list ?? []) {
    if ('group' in entry) {
      if (entry.members.length > 0) return entry.members[0];
    } else {
      return entry;
    }
  }
  return null;
}

/** RFC 5256 §3: the addr-mailbox (local part) of the first address, lower-cased. */
function mailboxOf(list: readonly EnvelopeAddress[] | undefined): string {
  const address = firstAddress(list)?.address ?? '';
  const at = address.lastIndexOf('@');
  return (at === -1 ? address : address.slice(0, at)).toLowerCase();
}

/** RFC 5957: the display name, or the address when there is none. */
function displayOf(list: readonly EnvelopeAddress[] | undefined): string {
  const first = firstAddress(list);
  return (first?.name || first?.address || '').toLowerCase();
}

function valueOf(key: string, internalDate: Date, size: number, summary: MessageSummary | undefined): string | number {
  const envelope = summary?.envelope;
  switch (key) {
    case 'ARRIVAL':
      return internalDate.getTime();
    case 'SIZE':
      return size;
    case 'DATE': {
      // RFC 5256: the sent date; the internal date when it is missing or unparsable.
      const sent = envelope?.date ? Date.parse(envelope.date) : NaN;
      return Number.isNaN(sent) ? internalDate.getTime() : sent;
    }
    case 'SUBJECT':
      return (summary?.threading.baseSubject ?? '').toLowerCase();
    case 'FROM':
      return mailboxOf(envelope?.from);
    case 'TO':
      return mailboxOf(envelope?.to);
    case 'CC':
      return mailboxOf(envelope?.cc);
    case 'DISPLAYFROM':
      return displayOf(envelope?.from);
    default:
      return displayOf(envelope?.to);
  }
}

function parseCriteria(value: unknown): Criterion[] {
  const list = value as { type: string; items?: Array<{ type: string; value?: string; section?: unknown }> };
  if (list?.type !== 'list' || !list.items || list.items.length === 0) throw new ImapBadError('Usage: SORT (<criteria>) <charset> <search keys>');
  const criteria: Criterion[] = [];
  let reverse = false;
  for (const item of list.items) {
    const name = item.type === 'atom' && !item.section ? (item.value ?? '').toUpperCase() : '';
    if (name === 'REVERSE') {
      if (reverse) throw new ImapBadError('REVERSE twice in SORT criteria');
      reverse = true;
      continue;
    }
    if (!SORT_KEYS.has(name)) throw new ImapBadError(`Unknown SORT criterion ${name.slice(0, 30) || '?'}`);
    criteria.push({ key: name, reverse });
    reverse = false;
  }
  if (reverse || criteria.length === 0) throw new ImapBadError('SORT criteria end with REVERSE');
  return criteria;
}

/**
 * SORT and UID SORT (RFC 5256; DISPLAYFROM/DISPLAYTO of RFC 5957). The search keys are those of
 * SEARCH; sort values come from the parsed message stored at append. Ties are broken by sequence
 * number (RFC 5256 §3). Only the sort values of the matching messages are held in memory.
 */
export async function runSort({ args, session }: CommandContext, byUid: boolean): Promise<TaggedResult> {
  if (args.length < 3) throw new ImapBadError('Usage: SORT (<criteria>) <charset> <search keys>');
  const criteria = parseCriteria(args[0]);
  const charset = atomArg(args[1], 'charset');
  const request = parseSearch([{ type: 'atom', value: 'CHARSET' }, { type: 'atom', value: charset }, ...args.slice(2)]);
  const rows: Row[] = [];
  await forEachMatch(session, request.key, true, (sequence, message) => {
    rows.push({ sequence, uid: message.uid, values: criteria.map((c) => valueOf(c.key, message.internalDate, message.size, message.parsed)) });
  });
  rows.sort((a, b) => {
    for (const [i, criterion] of criteria.entries()) {
      const x = a.values[i];
      const y = b.values[i];
      const order = x < y ? -1 : x > y ? 1 : 0;
      if (order !== 0) return criterion.reverse ? -order : order;
    }
    return a.sequence - b.sequence;
  });
  const results = rows.map((row) => (byUid ? row.uid : row.sequence));
  await session.untagged(`SORT${results.length > 0 ? ' ' : ''}${results.join(' ')}`);
  return ok(`${byUid ? 'UID SORT' : 'SORT'} completed`);
}

export const sort: ImapCommand = {
  name: 'SORT',
  states: ['selected'],
  needsManager: true,
  handler: (context) => runSort(context, false),
};
