import { expectationPattern, parseScript } from '../../protocols/imap/script-runner';

describe('IMAP conversation script format', () => {
  it('parses client, server, optional and hook lines and skips comments', () => {
    expect(parseScript('# comment\n\nC: a1 NOOP\nS: a1 OK {*}\nS? * 1 EXISTS\n!deliver Hello\nC:\n')).toEqual([
      { kind: 'send', text: 'a1 NOOP', line: 3 },
      { kind: 'expect', text: 'a1 OK {*}', optional: false, line: 4 },
      { kind: 'expect', text: '* 1 EXISTS', optional: true, line: 5 },
      { kind: 'hook', name: 'deliver', args: ['Hello'], line: 6 },
      { kind: 'send', text: '', line: 7 },
    ]);
    expect(() => parseScript('X: nope')).toThrow(/line 1/);
  });

  it('treats {*} as a wildcard and everything else literally', () => {
    expect(expectationPattern('* OK [UIDVALIDITY {*}] UIDs valid').test('* OK [UIDVALIDITY 42] UIDs valid')).toBe(true);
    expect(expectationPattern('* FLAGS (\\Seen)').test('* FLAGS (\\Seen)')).toBe(true);
    expect(expectationPattern('* 1 FETCH (UID 1)').test('* 1 FETCH (UID 12)')).toBe(false);
  });
});
