import { ImapFramer, type FramerEvent } from '../../../src/protocols/imap/framer';

function feed(framer: ImapFramer, ...chunks: Array<string | Buffer>): FramerEvent[] {
  return chunks.flatMap((chunk) => framer.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk));
}

function commandLines(events: FramerEvent[]): string[][] {
  return events.flatMap((event) => (event.type === 'command' ? [[...event.command.lines]] : []));
}

describe('ImapFramer', () => {
  it('cuts commands at CRLF, across and within chunks', () => {
    const framer = new ImapFramer();
    expect(commandLines(feed(framer, 'a1 NO', 'OP\r', '\na2 CAPABILITY\r\na3 LOG'))).toEqual([['a1 NOOP'], ['a2 CAPABILITY']]);
    expect(commandLines(feed(framer, 'OUT\r\n'))).toEqual([['a3 LOGOUT']]);
  });

  it('accepts a bare LF as line end', () => {
    expect(commandLines(feed(new ImapFramer(), 'a1 NOOP\n'))).toEqual([['a1 NOOP']]);
  });

  it('asks for a synchronizing literal and collects its bytes', () => {
    const framer = new ImapFramer();
    expect(feed(framer, 'a1 LOGIN {5}\r\n')).toEqual([{ type: 'continue' }]);
    const events = feed(framer, 'jo\r\n', 'e "pw"\r\n');
    expect(events).toEqual([{ type: 'command', command: { lines: ['a1 LOGIN {5}', ' "pw"'], literals: [Buffer.from('jo\r\ne')] } }]);
  });

  it('takes a non-synchronizing literal without continuation', () => {
    const events = feed(new ImapFramer(), 'a1 LOGIN {3+}\r\njoe {0+}\r\n\r\n');
    expect(events).toEqual([{ type: 'command', command: { lines: ['a1 LOGIN {3+}', ' {0+}', ''], literals: [Buffer.from('joe'), Buffer.alloc(0)] } }]);
  });

  it('rejects an over-long line with its tag and resynchronizes at the next line', () => {
    const framer = new ImapFramer({ maxLineLength: 20 });
    const events = feed(framer, 'a1 LOGIN aaaaaaaaaa', 'aaaaaaaaaaaaaaaaaaa', 'aaaa\r\na2 NOOP\r\n');
    expect(events).toEqual([
      { type: 'reject', tag: 'a1', text: 'Command line too long', code: 'TOOBIG' },
      { type: 'command', command: { lines: ['a2 NOOP'], literals: [] } },
    ]);
  });

  it('rejects an over-long line received in one chunk', () => {
    const events = feed(new ImapFramer({ maxLineLength: 10 }), 'x1 NOOP aaaaaaaaaaaaaa\r\nx2 NOOP\r\n');
    expect(events).toEqual([
      { type: 'reject', tag: 'x1', text: 'Command line too long', code: 'TOOBIG' },
      { type: 'command', command: { lines: ['x2 NOOP'], literals: [] } },
    ]);
  });

  it('rejects an over-long line without a readable tag', () => {
    const events = feed(new ImapFramer({ maxLineLength: 10 }), '((((((((((((((((\r\n');
    expect(events).toEqual([{ type: 'reject', tag: null, text: 'Command line too long', code: 'TOOBIG' }]);
  });

  it('skips the non-synchronizing literal that follows an over-long line', () => {
    const framer = new ImapFramer({ maxLineLength: 20 });
    const events = feed(framer, `a1 X ${'a'.repeat(30)} {6+}\r\n`, 'a2 NOO', 'P rest\r\na3 NOOP\r\n');
    expect(events).toEqual([
      { type: 'reject', tag: 'a1', text: 'Command line too long', code: 'TOOBIG' },
      { type: 'command', command: { lines: ['a3 NOOP'], literals: [] } },
    ]);
  });

  it('refuses a synchronizing literal above the limit without asking for it', () => {
    const framer = new ImapFramer({ maxLiteralSize: 10 });
    expect(feed(framer, 'a1 LOGIN {11}\r\na2 NOOP\r\n')).toEqual([
      { type: 'reject', tag: 'a1', text: 'Literal too large', code: 'TOOBIG' },
      { type: 'command', command: { lines: ['a2 NOOP'], literals: [] } },
    ]);
  });

  it('skips a non-synchronizing literal above the limit and the rest of its command', () => {
    const framer = new ImapFramer({ maxLiteralSize: 10 });
    expect(feed(framer, 'a1 LOGIN {12+}\r\nabcdef', 'ghijkl x {2+}\r\n', 'zz\r\na2 NOOP\r\n')).toEqual([
      { type: 'reject', tag: 'a1', text: 'Literal too large', code: 'TOOBIG' },
      { type: 'command', command: { lines: ['a2 NOOP'], literals: [] } },
    ]);
  });

  it('bounds the total size of a command made of many literals', () => {
    const framer = new ImapFramer({ maxLiteralSize: 10, maxCommandSize: 40 });
    const events = feed(framer, 'a1 X {10+}\r\n0123456789 {10+}\r\n0123456789 {10+}\r\n0123456789\r\na2 NOOP\r\n');
    expect(events[0]).toEqual({ type: 'reject', tag: 'a1', text: 'Command too large', code: 'TOOBIG' });
    expect(commandLines(events)).toEqual([['a2 NOOP']]);
  });

  it('refuses an APPEND over APPENDLIMIT before reading it: NO [TOOBIG] for a synchronizing literal (RFC 7889)', () => {
    const framer = new ImapFramer({ maxLiteralSize: 10, maxAppendSize: 100 });
    expect(feed(framer, 'a1 APPEND INBOX {101}\r\na2 NOOP\r\n')).toEqual([
      { type: 'reject', tag: 'a1', text: 'Literal too large', code: 'TOOBIG', status: 'NO' },
      { type: 'command', command: { lines: ['a2 NOOP'], literals: [] } },
    ]);
  });

  it('answers BAD [TOOBIG] to a non-synchronizing APPEND literal over the limit and skips its bytes (RFC 7888)', () => {
    const framer = new ImapFramer({ maxLiteralSize: 10, maxAppendSize: 20 });
    const events = feed(framer, 'a1 APPEND INBOX {25+}\r\n0123456789', '0123456789abcde\r\na2 NOOP\r\n');
    expect(events).toEqual([
      { type: 'reject', tag: 'a1', text: 'Literal too large', code: 'TOOBIG' },
      { type: 'command', command: { lines: ['a2 NOOP'], literals: [] } },
    ]);
  });

  it('keeps a large APPEND literal in the chunks it arrived in, never copied into one buffer', () => {
    const framer = new ImapFramer({ maxLiteralSize: 10, maxAppendSize: 1000 });
    const parts = [Buffer.from('a1 APPEND INBOX {30+}\r\n'), Buffer.from('0123456789'), Buffer.from('abcdefghij'), Buffer.from('ABCDEFGHIJ\r\n')];
    const events = parts.flatMap((part) => framer.push(part));
    expect(events).toHaveLength(1);
    const command = (events[0] as unknown as { command: { literals: Array<{ chunks: Buffer[]; length: number }> } }).command;
    const literal = command.literals[0];
    expect(literal.length).toBe(30);
    expect(Buffer.concat(literal.chunks).toString()).toBe('0123456789abcdefghijABCDEFGHIJ');
    // Views of the received chunks: the bytes are held once.
    expect(literal.chunks.map((chunk) => chunk.buffer)).toEqual([parts[1].buffer, parts[2].buffer, parts[3].buffer]);
  });

  it('copies a small literal out of the received chunk so the chunk is not retained', () => {
    const framer = new ImapFramer();
    const chunk = Buffer.from('a1 LOGIN {3}\r\njoe x\r\n');
    const events = framer.push(chunk);
    const literal = (events[1] as unknown as { command: { literals: Buffer[] } }).command.literals[0];
    chunk.fill(0);
    expect(literal.toString()).toBe('joe');
  });

  it('refuses a SETMETADATA value literal over the limit with NO [METADATA MAXSIZE n] (RFC 5464)', () => {
    const framer = new ImapFramer({ maxLiteralSize: 10 });
    expect(feed(framer, 'a1 SETMETADATA INBOX (/private/comment {11}\r\na2 NOOP\r\n')).toEqual([
      { type: 'reject', tag: 'a1', text: 'Literal too large', code: 'METADATA MAXSIZE 10', status: 'NO' },
      { type: 'command', command: { lines: ['a2 NOOP'], literals: [] } },
    ]);
  });
});
