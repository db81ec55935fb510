import net from 'node:net';
import { SearchIndexer } from '../../src/search/search-indexer';
import { TikaExtractor } from '../../src/search/tika-extractor';
import { eventually, logger, mail, searchStack, type SearchStack } from './fixture';

/** Tika is optional and has no stand-in here: these tests cover the paths without a Tika server. */
describe('attachment text through Tika', () => {
  let stack: SearchStack;
  let closedPort: number;

  beforeEach(async () => {
    stack = await searchStack();
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closedPort = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  afterEach(async () => {
    await stack?.cleanup();
  });

  const withAttachment = mail(
    'Contract',
    '--b\nContent-Type: text/plain\n\nsee attached\n--b\nContent-Type: application/pdf; name="contract.pdf"\nContent-Disposition: attachment; filename="contract.pdf"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--b--',
    'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n',
  );

  it('indexes a message without its attachment text when the Tika server does not answer', async () => {
    await stack.stopIndexer();
    const inbox = await stack.backends.mailboxes.ensureMailbox('alice@example.com', 'INBOX');
    const message = await stack.deliver(inbox.id, withAttachment);
    const indexer = new SearchIndexer({ index: stack.index, mailboxes: stack.backends.mailboxes, logger, attachments: new TikaExtractor(`http://127.0.0.1:${closedPort}`, stack.backends.blobs) });
    expect(await indexer.indexMessages('alice@example.com', inbox.id, [message.uid])).toBe(1);
    const hits = await stack.index.search({ mailboxIds: [inbox.id], criterion: { type: 'attachmentName', value: 'contract.pdf' } });
    expect(hits.map((h) => h.uid)).toEqual([message.uid]);
  });

  it('does not call Tika for a message without attachments', async () => {
    const inbox = await stack.backends.mailboxes.ensureMailbox('alice@example.com', 'INBOX');
    const message = await stack.deliver(inbox.id, mail('Plain', 'no attachment here'));
    await eventually(async () => (await stack.index.count(inbox.id)) === 1);
    const [stored] = await Promise.all([stack.backends.mailboxes.getMessages('alice@example.com', inbox.id, [{ from: message.uid, to: message.uid }], 'headers')[Symbol.asyncIterator]().next()]);
    const record = stored.value as Parameters<TikaExtractor['extract']>[1] & { parsed: Parameters<TikaExtractor['extract']>[2] };
    expect(await new TikaExtractor(`http://127.0.0.1:${closedPort}`, stack.backends.blobs).extract('alice@example.com', record, record.parsed)).toBe('');
  });
});
