import { denormalizedNameArg, mailboxNameArg } from '../../../src/protocols/imap/commands/args';
import { ImapBadError } from '../../../src/protocols/imap/errors';
import type { ImapValue } from '../../../src/protocols/imap/parser';

const quoted = (value: string): ImapValue => ({ type: 'quoted', value });

describe('UTF-8 mailbox names in NFC (RFC 9051 §5.1)', () => {
  const decomposed = 'Cafe\u0301';

  it('takes a UTF-8 name in NFC and reports the name as sent when it was not', () => {
    expect(mailboxNameArg(quoted(decomposed), true)).toBe('Caf\u00e9');
    expect(denormalizedNameArg(quoted(decomposed), true)).toBe(decomposed);
    expect(mailboxNameArg(quoted('\u2126'), true)).toBe('\u03a9');
  });

  it('reports nothing for a name already in NFC, and never for modified UTF-7 sessions', () => {
    expect(denormalizedNameArg(quoted('Caf\u00e9'), true)).toBeNull();
    expect(denormalizedNameArg(quoted(decomposed), false)).toBeNull();
    expect(mailboxNameArg(quoted('Caf&AOk-'), false)).toBe('Caf\u00e9');
  });

  it('keeps INBOX case-insensitive after normalization, and refuses a list as a name', () => {
    expect(mailboxNameArg(quoted('inbox.Cafe\u0301'), true)).toBe('INBOX.Caf\u00e9');
    expect(() => denormalizedNameArg({ type: 'list', items: [] }, true)).toThrow(ImapBadError);
  });
});
