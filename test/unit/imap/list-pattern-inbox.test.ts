import { compileListPattern } from '../../../src/protocols/imap/mailbox-name';

// Expectations taken from Dovecot 2.3.19 (`LIST "" <pattern>` with these mailboxes, separator ".").
describe('LIST patterns and the case of INBOX', () => {
  const names = ['INBOX', 'INBOX.Lower', 'INBOX.sub', 'Inboxes', 'Archive', 'Imap', '#user.bob.INBOX'];
  const matching = (pattern: string): string[] => names.filter((name) => compileListPattern(pattern, '.').test(name));

  it('finds INBOX with its name in any case, and nothing else', () => {
    expect(matching('inbox')).toEqual(['INBOX']);
    expect(matching('InBoX')).toEqual(['INBOX']);
    expect(matching('INBOX')).toEqual(['INBOX']);
  });

  it('matches the INBOX part of a wildcard pattern in any case', () => {
    expect(matching('InBoX*')).toEqual(['INBOX', 'INBOX.Lower', 'INBOX.sub']);
    expect(matching('InBoX%')).toEqual(['INBOX']);
    expect(matching('inb%')).toEqual(['INBOX']);
    expect(matching('in%x')).toEqual(['INBOX']);
    expect(matching('*x')).toEqual(['INBOX']);
    expect(matching('*X')).toEqual(['INBOX', '#user.bob.INBOX']);
    expect(matching('%o%')).toEqual(['INBOX', 'Inboxes']);
  });

  it('keeps every other name, and the children part of INBOX names, case-sensitive', () => {
    expect(matching('i*')).toEqual(['INBOX', 'INBOX.Lower', 'INBOX.sub']);
    expect(matching('I%')).toEqual(['INBOX', 'Inboxes', 'Imap']);
    expect(matching('inboxes')).toEqual([]);
    expect(matching('INBOXes')).toEqual([]);
    expect(matching('INBOX.SUB')).toEqual([]);
    expect(matching('inbox.sub')).toEqual(['INBOX.sub']);
    expect(matching('archive')).toEqual([]);
    // INBOX of another user's namespace is an ordinary name.
    expect(matching('#user.bob.inbox')).toEqual([]);
    expect(matching('#user.bob.INBOX')).toEqual(['#user.bob.INBOX']);
  });

  it('lists the children of INBOX under a reference or pattern in any case', () => {
    expect(matching('inbox.%')).toEqual(['INBOX.Lower', 'INBOX.sub']);
    expect(matching('inbox.*')).toEqual(['INBOX.Lower', 'INBOX.sub']);
    expect(matching('%')).toEqual(['INBOX', 'Inboxes', 'Archive', 'Imap']);
  });

  it('takes only ASCII letters as the other case of INBOX', () => {
    // U+0131 (dotless i) upper-cases to "I" but is no spelling of INBOX.
    expect(matching('\u0131nbox')).toEqual([]);
  });
});
