import type { MessageMetadata, MessageRecord } from '../../../src/mailbox/api/mailbox-store';
import { ImapBadError } from '../../../src/protocols/imap/errors';
import { formatMailboxName } from '../../../src/protocols/imap/mailbox-name';
import { objectId } from '../../../src/protocols/imap/object-id';
import { parseCommand } from '../../../src/protocols/imap/parser';
import { compileSearch } from '../../../src/protocols/imap/search/evaluate';
import { parseSearch } from '../../../src/protocols/imap/search/parse';
import { needsThread } from '../../../src/protocols/imap/search/query';
import { SelectedMailbox } from '../../../src/protocols/imap/selected-mailbox';
import { parseSequenceSet } from '../../../src/protocols/imap/sequence-set';
import { expectationPattern } from '../../protocols/imap/script-runner';

function args(text: string): ReturnType<typeof parseCommand>['args'] {
  return parseCommand({ lines: [`t SEARCH ${text}`], literals: [] }).args;
}

const message = (uid: number, messageId: string, threadId?: string): MessageMetadata & Partial<MessageRecord> => ({
  mailboxId: 'm',
  uid,
  modSeq: uid,
  messageId,
  blobId: 'b',
  size: 10,
  internalDate: new Date('2024-03-01T10:00:00Z'),
  flags: [],
  ...(threadId === undefined ? {} : { threadId }),
});

const scope = { exists: 3, highestUid: 3, now: new Date(), saved: new Set([2]) };

describe('OBJECTID SEARCH keys (RFC 8474 §6)', () => {
  it('parses EMAILID and THREADID objectids', () => {
    expect(parseSearch(args('EMAILID M1_a-2')).key).toEqual({ type: 'emailid', id: 'M1_a-2' });
    expect(parseSearch(args('NOT THREADID T9')).key).toEqual({ type: 'not', key: { type: 'threadid', id: 'T9' } });
    expect(needsThread(parseSearch(args('OR ALL THREADID T9')).key)).toBe(true);
    expect(needsThread(parseSearch(args('EMAILID M1')).key)).toBe(false);
  });

  it('refuses missing, malformed and over-long ids', () => {
    expect(() => parseSearch(args('EMAILID'))).toThrow(ImapBadError);
    expect(() => parseSearch(args('EMAILID "a b"'))).toThrow(/Invalid EMAILID/);
    expect(() => parseSearch(args('THREADID "a.b"'))).toThrow(/Invalid THREADID/);
    expect(() => parseSearch(args(`THREADID ${'x'.repeat(256)}`))).toThrow(/Invalid THREADID/);
    expect(() => parseSearch(args('EMAILID ()'))).toThrow(ImapBadError);
    expect(parseSearch(args(`THREADID ${'x'.repeat(255)}`)).key).toMatchObject({ type: 'threadid' });
  });

  it('matches the objectid of the stored ids, encoded ones included; no thread never matches', () => {
    const byEmail = compileSearch({ type: 'emailid', id: 'abc' }, scope);
    expect(byEmail({ sequence: 1, message: message(1, 'abc') })).toBe(true);
    expect(byEmail({ sequence: 2, message: message(2, 'abd') })).toBe(false);
    const odd = 'id with spaces/+';
    expect(compileSearch({ type: 'emailid', id: objectId(odd) }, scope)({ sequence: 1, message: message(1, odd) })).toBe(true);
    const byThread = compileSearch({ type: 'threadid', id: 'T1' }, scope);
    expect(byThread({ sequence: 1, message: message(1, 'a', 'T1') })).toBe(true);
    expect(byThread({ sequence: 1, message: message(1, 'a', 'T2') })).toBe(false);
    expect(byThread({ sequence: 1, message: message(1, 'a') })).toBe(false);
    expect(compileSearch({ type: 'threadid', id: objectId('') || 'x' }, scope)({ sequence: 1, message: message(1, 'a', '') })).toBe(false);
  });
});

describe('SEARCHRES (RFC 5182)', () => {
  it('parses RETURN (SAVE) and $ as a key and as a UID set', () => {
    expect(parseSearch(args('RETURN (SAVE MIN) ALL')).returnOptions).toEqual(['SAVE', 'MIN']);
    expect(parseSearch(args('$')).key).toEqual({ type: 'saved' });
    expect(parseSearch(args('UID $')).key).toEqual({ type: 'saved' });
    expect(() => parseSearch(args('RETURN (SAVE BOGUS) ALL'))).toThrow(/return option/);
  });

  it('evaluates $ against the saved UIDs', () => {
    const saved = compileSearch({ type: 'saved' }, scope);
    expect([1, 2, 3].filter((uid) => saved({ sequence: uid, message: message(uid, 'a') }))).toEqual([2]);
    expect(compileSearch({ type: 'saved' }, { ...scope, saved: undefined })({ sequence: 2, message: message(2, 'a') })).toBe(false);
  });

  it('resolves $ to the saved UIDs still present, as ranges, for UID and sequence commands alike', () => {
    const view = new SelectedMailbox({ id: 'm', owner: 'u', name: 'INBOX', uidValidity: 1, uidNext: 10, highestModSeq: 1, messageCount: 5 }, false, [1, 2, 3, 5, 8]);
    expect(view.uidRangesFor('$', false)).toEqual([]);
    view.savedUids = [1, 2, 3, 4, 8];
    expect(view.uidRangesFor('$', false)).toEqual([
      { from: 1, to: 3 },
      { from: 8, to: 8 },
    ]);
    expect(view.uidRangesFor('$', true)).toEqual(view.uidRangesFor('$', false));
    expect(view.uidRangesFor(parseSequenceSet('2'), false)).toEqual([{ from: 2, to: 2 }]);
  });
});

describe('UTF-8 mailbox names (RFC 9051 §5.1)', () => {
  it('writes modified UTF-7 for IMAP4rev1 and quoted UTF-8 once enabled', () => {
    expect(formatMailboxName('Entwürfe', false)).toBe('"Entw&APw-rfe"');
    expect(formatMailboxName('Entwürfe', true)).toBe('"Entwürfe"');
    expect(formatMailboxName('a "q" \\ b', true)).toBe('"a \\"q\\" \\\\ b"');
    expect(formatMailboxName('a\r\nb', true)).toBe('{4}\r\na\r\nb');
  });
});

describe('script captures', () => {
  it('captures {=NAME} tokens as named groups', () => {
    const match = expectationPattern('* OK [MAILBOXID ({=ID})] Ok').exec('* OK [MAILBOXID (abc-1_2)] Ok');
    expect(match?.groups).toEqual({ ID: 'abc-1_2' });
    expect(expectationPattern('* OK [MAILBOXID ({=ID})] Ok').test('* OK [MAILBOXID (a b)] Ok')).toBe(false);
  });
});
