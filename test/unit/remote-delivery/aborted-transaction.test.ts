import { abortedTransaction } from '../../../src/remote-delivery/smtp-sender';

describe('abortedTransaction (RemoteDelivery sendpartial=false)', () => {
  const rcpts = ['a@r.test', 'b@r.test', 'c@r.test'];

  it('fails everybody permanently when the first refusal is a 5xx, each refused one with its own reply', () => {
    const out = abortedTransaction(rcpts, ['a@r.test', 'c@r.test'], [{ recipient: 'b@r.test', responseCode: 550, response: '550 5.1.1 no such user' }], 'mx.r.test');
    expect(out.delivered).toEqual([]);
    expect(out.temporary).toEqual([]);
    expect(out.permanent.map((f) => [f.recipient, f.status])).toEqual([['a@r.test', '5.5.0'], ['b@r.test', '5.1.1'], ['c@r.test', '5.5.0']]);
    expect(out.permanent[0].diagnostic).toBe('Not sent: b@r.test was refused (550 5.1.1 no such user) and sendpartial is false');
    expect(out.permanent[1].diagnostic).toBe('550 5.1.1 no such user');
    expect(out).toMatchObject({ dnsProblem: false, remoteMta: 'mx.r.test' });
  });

  it('retries everybody when the first refusal is a 4xx', () => {
    const out = abortedTransaction(rcpts, ['a@r.test', 'c@r.test'], [{ recipient: 'b@r.test', responseCode: 451, response: '451 4.3.0 later' }], 'mx');
    expect(out.permanent).toEqual([]);
    expect(out.temporary.map((f) => [f.recipient, f.status])).toEqual([['a@r.test', '4.5.0'], ['b@r.test', '4.3.0'], ['c@r.test', '4.5.0']]);
  });

  it('keeps a 5xx-refused recipient permanent even when the first refusal was temporary', () => {
    const out = abortedTransaction(rcpts, ['a@r.test'], [
      { recipient: 'b@r.test', responseCode: 452, response: '452 4.2.2 full' },
      { recipient: 'c@r.test', responseCode: 550, response: '550 5.1.1 unknown' },
    ], 'mx');
    expect(out.temporary.map((f) => f.recipient)).toEqual(['a@r.test', 'b@r.test']);
    expect(out.permanent.map((f) => f.recipient)).toEqual(['c@r.test']);
  });

  it('treats a refusal without a reply code as temporary and marks recipients the server never confirmed', () => {
    const out = abortedTransaction(['a@r.test', 'b@r.test'], [], [{ recipient: 'a@r.test', responseCode: undefined, response: 'connection reset' }], 'mx');
    expect(out.permanent).toEqual([]);
    expect(out.temporary.map((f) => [f.recipient, f.status])).toEqual([['a@r.test', '4.0.0'], ['b@r.test', '4.5.0']]);
    expect(out.temporary[1].diagnostic).toMatch(/^Not sent \(not confirmed\): a@r\.test was refused/);
  });
});
