import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { capabilitiesFor } from '../../../src/protocols/imap/capabilities';
import { MAX_APPEND_SIZE } from '../../../src/protocols/imap/limits';
import type { ImapState } from '../../../src/protocols/imap/types';

const ROOT = path.join(__dirname, '..', '..', '..');

/**
 * For each capability the server can advertise: a test file (from the repository root) that
 * exercises it, and a text that file must contain (the command, response or item that proves it).
 */
const COVERAGE: Record<string, Array<[file: string, evidence: string]>> = {
  IMAP4rev1: [['test/protocols/imap/capability.txt', 'C: a1 CAPABILITY']],
  IMAP4rev2: [
    ['test/protocols/imap/imap4rev2.txt', 'ENABLE IMAP4rev2'],
    ['test/protocols/imap/imap4rev2-audit.txt', 'ENABLE IMAP4rev2'],
  ],
  'LITERAL+': [['test/protocols/imap/append-copy-move.txt', 'APPEND Drafts {10+}']],
  CHILDREN: [['test/protocols/imap/mailboxes.txt', '\\HasChildren']],
  UNSELECT: [['test/protocols/imap/imap4rev2-audit.txt', 'C: b6 UNSELECT']],
  ENABLE: [['test/protocols/imap/imap4rev2.txt', 'ENABLE X-NOSUCH UIDPLUS']],
  ID: [['test/protocols/imap/capability.txt', 'S: * ID (']],
  NAMESPACE: [['test/protocols/imap/imap4rev2-audit.txt', 'S: * NAMESPACE']],
  ESEARCH: [['test/protocols/imap/imap4rev2.txt', 'SEARCH RETURN (COUNT) ALL']],
  'STATUS=SIZE': [['test/protocols/imap/imap4rev2.txt', '(MESSAGES DELETED SIZE)']],
  WITHIN: [['test/protocols/imap/search.txt', 'YOUNGER']],
  IDLE: [['test/protocols/imap/idle.txt', 'IDLE']],
  UIDPLUS: [
    ['test/protocols/imap/append-copy-move.txt', 'APPENDUID'],
    ['test/protocols/imap/imap4rev2-audit.txt', 'UID EXPUNGE 2'],
  ],
  MOVE: [['test/protocols/imap/append-copy-move.txt', 'UID MOVE']],
  MULTIAPPEND: [['test/protocols/imap/append-copy-move.txt', 'APPENDUID {*} 2:3']],
  [`APPENDLIMIT=${MAX_APPEND_SIZE}`]: [['test/protocols/imap-append-limits.test.ts', 'APPENDLIMIT']],
  'SPECIAL-USE': [['test/protocols/imap/mailboxes.txt', 'LIST (SPECIAL-USE) "" * RETURN (SPECIAL-USE)']],
  'CREATE-SPECIAL-USE': [['test/protocols/imap/create-special-use.txt', 'CREATE Spam (USE (\\junk))']],
  'LIST-EXTENDED': [
    ['test/protocols/imap/mailboxes.txt', 'LIST (SUBSCRIBED) "" "*" RETURN (CHILDREN)'],
    ['test/protocols/imap/list-recursivematch.txt', '("CHILDINFO" ("SUBSCRIBED"))'],
  ],
  'LIST-STATUS': [['test/protocols/imap/mailboxes.txt', 'RETURN (STATUS (MESSAGES UNSEEN))']],
  CONDSTORE: [['test/protocols/imap/condstore.txt', 'UNCHANGEDSINCE']],
  QRESYNC: [['test/protocols/imap/qresync.txt', 'VANISHED']],
  ACL: [['test/protocols/imap/acl.txt', 'GETACL']],
  'RIGHTS=kxte': [['test/protocols/imap/acl.txt', 'l r s w i p k x t e a n']],
  SORT: [['test/protocols/imap/sort.txt', 'UID SORT']],
  'SORT=DISPLAY': [['test/protocols/imap/sort.txt', 'SORT (DISPLAYFROM)']],
  'THREAD=ORDEREDSUBJECT': [['test/protocols/imap/thread.txt', 'THREAD ORDEREDSUBJECT UTF-8 ALL']],
  'THREAD=REFERENCES': [['test/protocols/imap/thread.txt', 'THREAD REFERENCES UTF-8 ALL']],
  METADATA: [['test/protocols/imap/metadata.txt', 'GETMETADATA']],
  BINARY: [['test/protocols/imap/binary.txt', 'BINARY']],
  OBJECTID: [['test/protocols/imap/objectid.txt', 'EMAILID']],
  SEARCHRES: [
    ['test/protocols/imap/imap4rev2.txt', 'SEARCH RETURN (SAVE)'],
    ['test/protocols/imap/searchres-sort-thread.txt', 'UID THREAD REFERENCES UTF-8 $'],
  ],
  QUOTA: [['test/protocols/imap/quota.txt', 'GETQUOTAROOT INBOX']],
  'QUOTA=RES-STORAGE': [['test/quota/quota-e2e.test.ts', '(STORAGE 0 512 MESSAGE 0 100)']],
  'QUOTA=RES-MESSAGE': [['test/quota/quota-e2e.test.ts', '(MESSAGE 0 7)']],
  QUOTASET: [['test/quota/quota-e2e.test.ts', 'SETQUOTA']],
  'COMPRESS=DEFLATE': [['test/protocols/imap-extensions.test.ts', 'COMPRESS DEFLATE']],
  STARTTLS: [['test/protocols/imap-server.test.ts', 'STARTTLS']],
  LOGINDISABLED: [['test/protocols/imap-server.test.ts', 'LOGINDISABLED']],
  'SASL-IR': [['test/protocols/imap/imap4rev2-audit.txt', 'AUTHENTICATE PLAIN AGltYXA0cmV2Mi1hdWRpdEBzY3JpcHRzLmV4YW1wbGUAY29ycmVjdCBob3JzZQ==']],
  'AUTH=PLAIN': [['test/protocols/imap/imap4rev2-audit.txt', 'AUTHENTICATE PLAIN']],
};

/** Every capability any state and wiring can advertise. */
function everyAdvertised(): Set<string> {
  const all = new Set<string>();
  const states: ImapState[] = ['not-authenticated', 'authenticated', 'selected'];
  for (const state of states) {
    for (const loginDisabled of [false, true]) {
      for (const capability of capabilitiesFor(state, { idle: true, manager: true, quota: true, starttls: true, loginDisabled })) all.add(capability);
    }
  }
  return all;
}

describe('IMAP capability coverage', () => {
  const advertised = everyAdvertised();

  it.each([...advertised].sort())('%s is exercised by a test', (capability) => {
    const entries = COVERAGE[capability];
    expect(entries).toBeDefined();
    for (const [file, evidence] of entries) {
      const full = path.join(ROOT, file);
      expect(existsSync(full)).toBe(true);
      expect(readFileSync(full, 'utf8')).toContain(evidence);
    }
  });

  it('names no capability the server never advertises (a stale entry hides a removed one)', () => {
    expect(Object.keys(COVERAGE).filter((capability) => !advertised.has(capability))).toEqual([]);
  });

  it('does not advertise UTF8=ACCEPT (RFC 6855 is not implemented), so ENABLE cannot turn it on', () => {
    expect(advertised.has('UTF8=ACCEPT')).toBe(false);
    expect(readFileSync(path.join(ROOT, 'test/protocols/imap/imap4rev2-audit.txt'), 'utf8')).toContain('C: a15 ENABLE UTF8=ACCEPT\nS: * ENABLED\n');
  });

  it('advertises before login only what works without a login: no COMPRESS, and AUTH or LOGINDISABLED', () => {
    const before = capabilitiesFor('not-authenticated', { idle: true, manager: true, quota: true });
    expect(before).not.toContain('COMPRESS=DEFLATE');
    expect(before).toEqual(expect.arrayContaining(['SASL-IR', 'AUTH=PLAIN']));
    const disabled = capabilitiesFor('not-authenticated', { idle: true, manager: true, loginDisabled: true });
    expect(disabled).toContain('LOGINDISABLED');
    expect(disabled).not.toContain('AUTH=PLAIN');
    const after = capabilitiesFor('authenticated', { idle: true, manager: true, quota: true });
    expect(after).not.toContain('AUTH=PLAIN');
    expect(after).not.toContain('STARTTLS');
  });

  it('advertises without the mailbox manager none of the extensions that need it', () => {
    const plain = capabilitiesFor('authenticated', { idle: false });
    for (const needsManager of ['IMAP4rev2', 'UIDPLUS', 'MOVE', 'CREATE-SPECIAL-USE', 'SEARCHRES', 'QUOTA', 'IDLE']) expect(plain).not.toContain(needsManager);
  });
});
