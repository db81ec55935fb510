import { compileListPattern, decodeMailboxName, encodeMailboxName, normalizeMailboxName } from '../../../src/protocols/imap/mailbox-name';

describe('modified UTF-7 mailbox names', () => {
  it.each([
    ['INBOX', 'INBOX'],
    ['Tom & Jerry', 'Tom &- Jerry'],
    ['Entwürfe', 'Entw&APw-rfe'],
    ['~peter/mail/台北/日本語', '~peter/mail/&U,BTFw-/&ZeVnLIqe-'],
    ['😀', '&2D3eAA-'],
  ])('encodes %j as %j and back', (name, encoded) => {
    expect(encodeMailboxName(name)).toBe(encoded);
    expect(decodeMailboxName(encoded)).toBe(name);
  });

  it.each(['&U,BTFw', '&Jjo!-', '&AGEAYgBj-', '&A-'])('refuses the invalid encoding %j', (encoded) => {
    expect(decodeMailboxName(encoded)).toBeNull();
  });

  it('takes names sent as raw UTF-8 as they are', () => {
    expect(decodeMailboxName('Entwürfe')).toBe('Entwürfe');
  });
});

describe('normalizeMailboxName', () => {
  it('spells INBOX and its children canonically', () => {
    expect(normalizeMailboxName('inbox', '.')).toBe('INBOX');
    expect(normalizeMailboxName('Inbox.Sent', '.')).toBe('INBOX.Sent');
    expect(normalizeMailboxName('Inboxes', '.')).toBe('Inboxes');
    expect(normalizeMailboxName('Archive', '.')).toBe('Archive');
  });
});

describe('compileListPattern', () => {
  const names = ['INBOX', 'INBOX.Sub', 'Archive', 'Archive.2024', 'Archive.2024.Q1', 'a+b(c)'];
  const matching = (pattern: string): string[] => names.filter((name) => compileListPattern(pattern, '.').test(name));

  it('matches everything with *', () => {
    expect(matching('*')).toEqual(names);
  });

  it('stops % at the hierarchy delimiter', () => {
    expect(matching('%')).toEqual(['INBOX', 'Archive', 'a+b(c)']);
    expect(matching('Archive.%')).toEqual(['Archive.2024']);
    expect(matching('Archive.*')).toEqual(['Archive.2024', 'Archive.2024.Q1']);
  });

  it('matches INBOX case-insensitively and regular expression characters literally', () => {
    expect(matching('inbox')).toEqual(['INBOX']);
    expect(matching('a+b(c)')).toEqual(['a+b(c)']);
    expect(matching('archive')).toEqual([]);
  });
});
