import { formatThreads, threadOrderedSubject, threadReferences, type ThreadInput } from '../../../src/protocols/imap/commands/thread';

let sequence = 0;
function msg(id: number, fields: Partial<ThreadInput> = {}): ThreadInput {
  sequence++;
  return { id, sequence, date: id * 1000, messageId: `m${id}`, references: [], baseSubject: `subject ${id}`, isReply: false, ...fields };
}

describe('THREAD algorithms (RFC 5256)', () => {
  it('links replies along References, a chain inline and branches nested', () => {
    const messages = [
      msg(1, { baseSubject: 'plan' }),
      msg(2, { references: ['m1'], baseSubject: 'plan', isReply: true }),
      msg(3, { references: ['m1', 'm2'], baseSubject: 'plan', isReply: true }),
      msg(4, { references: ['m1'], baseSubject: 'aside' }),
    ];
    expect(formatThreads(threadReferences(messages))).toBe('(1 (2 3)(4))');
  });

  it('keeps a missing parent with several children as a dummy at the root, and drops it with one child', () => {
    const two = [msg(1, { references: ['gone'], baseSubject: 'a' }), msg(2, { references: ['gone'], baseSubject: 'b' })];
    expect(formatThreads(threadReferences(two))).toBe('((1)(2))');
    const one = [msg(3, { references: ['gone'], baseSubject: 'c' })];
    expect(formatThreads(threadReferences(one))).toBe('(3)');
  });

  it('survives reference loops and duplicate Message-IDs without losing a message', () => {
    const messages = [
      msg(1, { messageId: 'x', references: ['y'] }),
      msg(2, { messageId: 'y', references: ['x'] }),
      msg(3, { messageId: 'x', references: [] }),
      msg(4, { messageId: null, references: ['x', 'x', 'x'] }),
    ];
    const output = formatThreads(threadReferences(messages));
    for (const id of [1, 2, 3, 4]) expect(output).toMatch(new RegExp(`(^|[ (])${id}([ )]|$)`));
    expect(output.match(/\d+/g)?.sort()).toEqual(['1', '2', '3', '4']);
  });

  it('merges a reply with the thread of its base subject, and two originals under a dummy', () => {
    const replies = [msg(1, { messageId: 'a', baseSubject: 'lunch' }), msg(2, { messageId: 'b', baseSubject: 'lunch', isReply: true })];
    expect(formatThreads(threadReferences(replies))).toBe('(1 2)');
    const originals = [msg(3, { messageId: 'c', baseSubject: 'same' }), msg(4, { messageId: 'd', baseSubject: 'same' })];
    expect(formatThreads(threadReferences(originals))).toBe('((3)(4))');
  });

  it('orders threads and children by sent date, ties by sequence number', () => {
    const messages = [msg(1, { date: 5000, baseSubject: 'late' }), msg(2, { date: 1000, baseSubject: 'early' }), msg(3, { date: 1000, baseSubject: 'early too' })];
    expect(formatThreads(threadReferences(messages))).toBe('(2)(3)(1)');
  });

  it('groups ORDEREDSUBJECT threads by base subject with the first message as the parent of all others', () => {
    const messages = [msg(1, { baseSubject: 'x' }), msg(2, { baseSubject: 'y' }), msg(3, { baseSubject: 'x' }), msg(4, { baseSubject: 'x' })];
    expect(formatThreads(threadOrderedSubject(messages))).toBe('(1 (3)(4))(2)');
    expect(formatThreads(threadOrderedSubject([msg(5, { baseSubject: 'z' }), msg(6, { baseSubject: 'z' })]))).toBe('(5 6)');
  });

  it('answers nothing for no message', () => {
    expect(formatThreads(threadReferences([]))).toBe('');
    expect(formatThreads(threadOrderedSubject([]))).toBe('');
  });

  it('threads 10,000 messages of long reply chains quickly', () => {
    const messages: ThreadInput[] = [];
    for (let i = 1; i <= 10_000; i++) messages.push(msg(i, { references: i % 100 === 1 ? [] : [`m${i - 1}`], baseSubject: `t${Math.ceil(i / 100)}` }));
    const started = performance.now();
    const roots = threadReferences(messages);
    expect(roots).toHaveLength(100);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
