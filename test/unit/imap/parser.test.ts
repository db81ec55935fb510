import { extractTag, ImapParseError, parseCommand, type FramedCommand } from '../../../src/protocols/imap/parser';

function line(text: string): FramedCommand {
  return { lines: [text], literals: [] };
}

function parseError(command: FramedCommand): ImapParseError {
  try {
    parseCommand(command);
  } catch (err) {
    if (err instanceof ImapParseError) return err;
    throw err;
  }
  throw new Error('expected a parse error');
}

describe('parseCommand', () => {
  it('reads the tag and upper-cases the command name', () => {
    expect(parseCommand(line('a1 noop'))).toEqual({ tag: 'a1', name: 'NOOP', args: [] });
  });

  it('reads atoms and quoted strings with escapes', () => {
    expect(parseCommand(line('a LOGIN joe "p\\"a\\\\ss"')).args).toEqual([
      { type: 'atom', value: 'joe' },
      { type: 'quoted', value: 'p"a\\ss' },
    ]);
  });

  it('decodes 8-bit text in quoted strings as UTF-8', () => {
    const text = Buffer.from('a LOGIN "jürgen" x', 'utf8').toString('latin1');
    expect(parseCommand(line(text)).args[0]).toEqual({ type: 'quoted', value: 'jürgen' });
  });

  it('reads NIL case-insensitively', () => {
    expect(parseCommand(line('a X nil NIL')).args).toEqual([{ type: 'nil' }, { type: 'nil' }]);
  });

  it('reads nested parenthesized lists, including empty ones', () => {
    expect(parseCommand(line('a X (A (B "c") ()) D')).args).toEqual([
      {
        type: 'list',
        items: [
          { type: 'atom', value: 'A' },
          { type: 'list', items: [{ type: 'atom', value: 'B' }, { type: 'quoted', value: 'c' }] },
          { type: 'list', items: [] },
        ],
      },
      { type: 'atom', value: 'D' },
    ]);
  });

  it('reads literals between command lines', () => {
    const command = { lines: ['a LOGIN {3}', ' {4+}', ''], literals: [Buffer.from('joe'), Buffer.from('s\r\nx')] };
    expect(parseCommand(command).args).toEqual([
      { type: 'literal', value: Buffer.from('joe'), length: 3 },
      { type: 'literal', value: Buffer.from('s\r\nx'), length: 4 },
    ]);
  });

  it('reads a literal inside a list', () => {
    const command = { lines: ['a X ({2}', ')'], literals: [Buffer.from('ab')] };
    expect(parseCommand(command).args).toEqual([{ type: 'list', items: [{ type: 'literal', value: Buffer.from('ab'), length: 2 }] }]);
  });

  it('keeps sequence sets and list wildcards as atoms', () => {
    expect(parseCommand(line('a FETCH 1:*,4 FLAGS')).args[0]).toEqual({ type: 'atom', value: '1:*,4' });
    expect(parseCommand(line('a LIST "" %.Sent*')).args[1]).toEqual({ type: 'atom', value: '%.Sent*' });
  });

  it('reads fetch attributes with a section and a partial range', () => {
    expect(parseCommand(line('a FETCH 1 (BODY.PEEK[] BODY[HEADER.FIELDS (From To)]<0.100>)')).args[1]).toEqual({
      type: 'list',
      items: [
        { type: 'atom', value: 'BODY.PEEK', section: [] },
        {
          type: 'atom',
          value: 'BODY',
          section: [
            { type: 'atom', value: 'HEADER.FIELDS' },
            { type: 'list', items: [{ type: 'atom', value: 'From' }, { type: 'atom', value: 'To' }] },
          ],
          partial: { start: 0, length: 100 },
        },
      ],
    });
  });

  it('treats brackets in other atoms as name characters', () => {
    expect(parseCommand(line('a SELECT [Gmail].Sent')).args[0]).toEqual({ type: 'atom', value: '[Gmail].Sent' });
  });

  describe('malformed input', () => {
    it.each([
      ['an empty line', '', 'Empty command line'],
      ['a line without a tag', ' NOOP', 'Missing or invalid tag'],
      ['a tag alone', 'a1', 'Missing or invalid tag'],
      ['a tag with a plus', 'a+1 NOOP', 'Missing or invalid tag'],
      ['a tag with a wildcard', '* NOOP', 'Missing or invalid tag'],
    ])('refuses %s without naming a tag', (_what, text, message) => {
      const err = parseError(line(text));
      expect(err.tag).toBeNull();
      expect(err.message).toContain(message);
    });

    it.each([
      ['a missing command name', 'a1 ', 'Missing command name'],
      ['an invalid command name', 'a1 NO[OP', 'Invalid command name'],
      ['a double space', 'a1 LOGIN  joe x', 'Unexpected extra space'],
      ['a trailing space', 'a1 NOOP ', 'Unexpected trailing space'],
      ['an unterminated quoted string', 'a1 LOGIN "joe', 'Unterminated quoted string'],
      ['an invalid escape', 'a1 LOGIN "j\\oe" x', 'Invalid escape'],
      ['an unterminated list', 'a1 X (A B', 'Unterminated list'],
      ['an unbalanced closing paren', 'a1 X A)', 'Expected a space'],
      ['text glued to a quoted string', 'a1 X "a"b', 'Unexpected character'],
      ['an atom glued to a quoted string', 'a1 X a"b"', 'Unexpected character'],
      ['a literal marker without literal', 'a1 X {3}', 'Invalid literal'],
      ['a malformed literal marker', 'a1 X {3x}', 'Invalid literal'],
      ['a control character', 'a1 X a\x01b', 'Unexpected character'],
      ['an 8-bit atom', 'a1 X caf\xe9', 'Unexpected character'],
      ['an invalid partial range', 'a1 FETCH 1 BODY[]<1.0>', 'Invalid partial range'],
      ['an unterminated section', 'a1 FETCH 1 BODY[HEADER', 'Unterminated section'],
    ])('answers %s with the tag', (_what, text, message) => {
      const err = parseError(line(text));
      expect(err.tag).toBe('a1');
      expect(err.message).toContain(message);
    });

    it('refuses a literal whose length differs from its marker', () => {
      const err = parseError({ lines: ['a1 LOGIN {3}', ' x'], literals: [Buffer.from('jo')] });
      expect(err.message).toContain('Literal length mismatch');
    });

    it('refuses lists nested too deeply', () => {
      const err = parseError(line(`a1 X ${'('.repeat(100)}${')'.repeat(100)}`));
      expect(err.message).toContain('nested too deeply');
    });
  });
});

describe('extractTag', () => {
  it('returns the tag only when a space follows it', () => {
    expect(extractTag('A001 LOGIN')).toBe('A001');
    expect(extractTag('A001')).toBeNull();
    expect(extractTag('(x) NOOP')).toBeNull();
  });
});
