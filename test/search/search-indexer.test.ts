import { ALL_UIDS } from '../../src/mailbox/api/mailbox-store';
import type { Criterion } from '../../src/search/api/search-query';
import { eventually, mail, searchStack, type SearchStack } from './fixture';

const USER = 'alice@example.com';

describe('search-indexer group listener (embedded: SQLite FTS5)', () => {
  let stack: SearchStack;

  beforeEach(async () => {
    stack = await searchStack();
  });

  afterEach(async () => {
    await stack?.cleanup();
  });

  const find = async (mailboxId: string, criterion: Criterion): Promise<number[]> => (await stack.index.search({ mailboxIds: [mailboxId], criterion })).map((h) => h.uid);

  it('indexes a delivered message from its stored parsed data: headers, text, HTML as text, attachment names', async () => {
    const inbox = await stack.backends.mailboxes.ensureMailbox(USER, 'INBOX');
    const raw = [
      'From: Carol <carol@example.net>',
      'To: alice@example.com',
      'Subject: =?UTF-8?B?UsOpc3Vtw6k=?= of the meeting',
      'X-Ticket: PF-4242',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<html><body><p>The <b>budget</b> is approved&nbsp;today</p><script>var hidden = 1;</script></body></html>',
      '--b1',
      'Content-Type: application/pdf; name="minutes.pdf"',
      'Content-Disposition: attachment; filename="minutes.pdf"',
      'Content-Transfer-Encoding: base64',
      '',
      'JVBERi0xLjQK',
      '--b1--',
      '',
    ].join('\n');
    const message = await stack.deliver(inbox.id, raw);
    await eventually(async () => (await stack.index.count(inbox.id)) === 1);
    expect(await find(inbox.id, { type: 'subject', value: 'résumé' })).toEqual([message.uid]);
    expect(await find(inbox.id, { type: 'body', value: 'budget is approved' })).toEqual([message.uid]);
    expect(await find(inbox.id, { type: 'body', value: 'hidden' })).toEqual([]);
    expect(await find(inbox.id, { type: 'header', field: 'x-ticket', value: 'PF-4242' })).toEqual([message.uid]);
    expect(await find(inbox.id, { type: 'address', field: 'from', value: 'carol@example.net' })).toEqual([message.uid]);
    expect(await find(inbox.id, { type: 'attachmentName', value: 'minutes' })).toEqual([message.uid]);
    expect(await find(inbox.id, { type: 'hasAttachment', value: true })).toEqual([message.uid]);
  });

  it('follows flag changes, expunges, moves and mailbox deletions', async () => {
    const manager = stack.backends.mailboxes;
    const inbox = await manager.ensureMailbox(USER, 'INBOX');
    const archive = await manager.createMailbox(USER, 'Projects');
    const first = await stack.deliver(inbox.id, mail('first', 'apples'));
    const second = await stack.deliver(inbox.id, mail('second', 'pears'));
    await eventually(async () => (await stack.index.count(inbox.id)) === 2);

    await manager.updateFlags(USER, inbox.id, [{ from: first.uid, to: first.uid }], { mode: 'add', flags: ['\\Seen', '\\Deleted'] });
    await eventually(async () => (await find(inbox.id, { type: 'flag', flag: '\\Seen', present: true })).length === 1);
    expect(await find(inbox.id, { type: 'flag', flag: '\\Seen', present: true })).toEqual([first.uid]);

    await manager.expunge(USER, inbox.id);
    await eventually(async () => (await stack.index.count(inbox.id)) === 1);
    expect(await find(inbox.id, { type: 'body', value: 'apples' })).toEqual([]);

    await manager.moveMessages(USER, inbox.id, [ALL_UIDS], archive.id);
    await eventually(async () => (await stack.index.count(inbox.id)) === 0 && (await stack.index.count(archive.id)) === 1);
    const hits = await stack.index.search({ mailboxIds: [archive.id], criterion: { type: 'body', value: 'pears' } });
    expect(hits).toEqual([{ mailboxId: archive.id, uid: 1, messageId: second.messageId }]);

    await manager.deleteMailbox(USER, 'Projects');
    await eventually(async () => (await stack.index.count(archive.id)) === 0);
  });

  it('indexes a message that was expunged before its event was handled as nothing, without failing', async () => {
    const inbox = await stack.backends.mailboxes.ensureMailbox(USER, 'INBOX');
    expect(await stack.indexer.indexMessages(USER, inbox.id, [41, 42])).toBe(0);
    expect(await stack.indexer.indexMessages(USER, 'no-such-mailbox', [1])).toBe(0);
    expect(await stack.backends.deadLetters.listInsertionIds('search-indexer')).toEqual([]);
  });
});
