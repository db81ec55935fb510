import pino from 'pino';
import type { MailReference } from '../../src/core/mail';
import type { MailetContext, NewMail } from '../../src/mailet/api';
import { recipientRewriteTableMailet, RRT_ERROR_ATTRIBUTE } from '../../src/mailet/catalogue/rrt';
import { ErrorMappingError, TooManyMappingsError } from '../../src/rrt/errors';

const MAPPINGS: Record<string, string[] | Error> = {
  'forward@local.test': ['me@local.test', 'friend@remote.example'],
  'team@local.test': ['a@local.test', 'b@local.test'],
  'loop@local.test': new TooManyMappingsError('554 Too many mappings to process'),
  'closed@local.test': new ErrorMappingError('550 closed'),
};

function context(sent: NewMail[]): MailetContext {
  return {
    isLocalDomain: async (domain: string) => domain === 'local.test',
    message: async () => Buffer.from('Subject: x\r\n\r\nbody\r\n'),
    sendMail: async (mail: NewMail) => {
      sent.push(mail);
      return `sent-${sent.length}`;
    },
    logger: pino({ level: 'silent' }),
    services: {
      recipientRewriteTable: {
        rewriteRecipient: async (address: string) => {
          const mapped = MAPPINGS[address];
          if (mapped instanceof Error) throw mapped;
          return mapped ?? [address];
        },
      },
    },
  } as unknown as MailetContext;
}

function mail(recipients: string[]): MailReference {
  return {
    mailId: 'm1',
    name: 'm1',
    sender: 'sender@remote.example',
    recipients,
    messageBlobId: 'blob',
    size: 10,
    state: 'transport',
    remoteAddr: '127.0.0.1',
    remoteHost: 'localhost',
    authUser: null,
    receivedAt: new Date(0).toISOString(),
    attributes: {},
    errorMessage: null,
  };
}

const params = { errorProcessor: 'rrt-error', rewriteSenderUponForward: true };

describe('RecipientRewriteTable mailet', () => {
  it('replaces recipients by their local rewrites and leaves unmapped ones, local or not, in the mail', async () => {
    const sent: NewMail[] = [];
    const result = await recipientRewriteTableMailet.service(mail(['team@local.test', 'plain@local.test', 'someone@remote.example']), context(sent), params);
    expect(result.recipients).toEqual(['a@local.test', 'b@local.test', 'plain@local.test', 'someone@remote.example']);
    expect(result.state).toBe('transport');
    expect(sent).toEqual([]);
  });

  it('sends rewritten remote addresses in a new mail to root, from the forwarding address', async () => {
    const sent: NewMail[] = [];
    const result = await recipientRewriteTableMailet.service(mail(['forward@local.test']), context(sent), params);
    expect(result.recipients).toEqual(['me@local.test']);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ sender: 'forward@local.test', recipients: ['friend@remote.example'], state: 'root', key: 'rrt-forward:forward@local.test' });
    const keepSender = await recipientRewriteTableMailet.service(mail(['forward@local.test']), context((sent.length = 0, sent)), { ...params, rewriteSenderUponForward: false });
    expect(keepSender.recipients).toEqual(['me@local.test']);
    expect(sent[0].sender).toBe('sender@remote.example');
  });

  it('moves the mail to the error processor when every recipient fails', async () => {
    const sent: NewMail[] = [];
    const result = await recipientRewriteTableMailet.service(mail(['loop@local.test', 'closed@local.test']), context(sent), params);
    expect(result.state).toBe('rrt-error');
    expect(result.recipients).toEqual(['loop@local.test', 'closed@local.test']);
    expect(result.errorMessage).toContain('554 Too many mappings');
    expect(result.errorMessage).toContain('550 closed');
    expect(sent).toEqual([]);
  });

  it('sends only the failing recipients to the error processor when others succeed', async () => {
    const sent: NewMail[] = [];
    const result = await recipientRewriteTableMailet.service(mail(['team@local.test', 'loop@local.test']), context(sent), params);
    expect(result.recipients).toEqual(['a@local.test', 'b@local.test']);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ recipients: ['loop@local.test'], state: 'rrt-error', key: 'rrt-error' });
    expect(sent[0].attributes?.[RRT_ERROR_ATTRIBUTE]).toContain('554 Too many mappings');
  });

  it('lets a temporary failure (engine down) propagate so the step is retried', async () => {
    const ctx = context([]);
    (ctx.services as { recipientRewriteTable: { rewriteRecipient(a: string): Promise<string[]> } }).recipientRewriteTable.rewriteRecipient = async () => {
      throw new Error('Cassandra unreachable');
    };
    await expect(recipientRewriteTableMailet.service(mail(['team@local.test']), ctx, params)).rejects.toThrow('Cassandra unreachable');
  });
});
