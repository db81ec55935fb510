import net from 'node:net';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { BlobStore } from '../../blob/api/blob-store';
import { openMessageContent } from '../message-content';
import { PermanentError, TemporaryError } from '../../core/errors';
import type { GroupListener, MailboxEvent } from '../../events/api/event-bus';
import type { MailboxManager } from '../api/mailbox-manager';

export const SPAM_LEARNING_GROUP = 'spam-learning';
/** spamd learns one message in well under a second; past this it is considered down (the event is retried). */
export const SPAMD_TELL_TIMEOUT_MS = 30_000;
/** Larger messages are not taught (SpamAssassin itself skips large messages; spamc's default is 500 KB). */
export const MAX_LEARNED_MESSAGE_SIZE = 500 * 1024;

export type SpamClass = 'spam' | 'ham';

/**
 * SpamAssassin learning (James' SpamAssassinListener): a message moved into the user's Junk
 * mailbox is taught as spam, one moved out of Junk (except into Trash) as ham, with spamd's TELL
 * command (spamd runs with `--allow-tell`). Re-teaching a message is harmless for Bayes, so a
 * replayed event needs no bookkeeping.
 */
export class SpamLearningListener implements GroupListener {
  readonly group = SPAM_LEARNING_GROUP;

  constructor(
    private readonly mailboxes: MailboxManager,
    private readonly blobs: BlobStore,
    private readonly spamd: { host: string; port: number },
    private readonly logger: Logger,
  ) {}

  async handle(event: MailboxEvent): Promise<void> {
    if (event.type !== 'MessageMoved') return;
    const [target, source] = await Promise.all([this.mailboxes.getMailboxById(event.mailboxId), this.mailboxes.getMailboxById(event.sourceMailboxId)]);
    if (!target) return;
    let learnAs: SpamClass | null = null;
    if (target.role === 'junk' && source?.role !== 'junk') learnAs = 'spam';
    else if (source?.role === 'junk' && target.role !== 'trash') learnAs = 'ham';
    if (!learnAs) return;
    for (const messageId of event.messageIds) {
      const location = (await this.mailboxes.getMessageLocations(target.owner, messageId)).find((l) => l.mailboxId === target.id);
      if (!location) continue; // moved again or expunged since: nothing to teach from here
      for await (const message of this.mailboxes.listMessages(target.id, { from: location.uid, to: location.uid })) {
        if (message.size > MAX_LEARNED_MESSAGE_SIZE) continue;
        const content = await readAll(await openMessageContent(this.blobs, message));
        await spamdTell(this.spamd.host, this.spamd.port, learnAs, content, target.owner);
        this.logger.debug({ user: target.owner, messageId, learnAs }, 'spamd learned a message');
      }
    }
  }
}

/**
 * spamd's TELL (SPAMC/1.5): `Message-class: spam|ham`, `Set: local`. Resolves once spamd
 * answered `EX_OK` with `DidSet` or `DidRemove` (nothing to do when it knew the message already).
 */
export async function spamdTell(host: string, port: number, learnAs: SpamClass, message: Buffer, user?: string): Promise<string> {
  const response = await new Promise<string>((resolve, reject) => {
    const socket = net.connect({ host, port });
    const chunks: Buffer[] = [];
    socket.setTimeout(SPAMD_TELL_TIMEOUT_MS, () => socket.destroy(new TemporaryError(`spamd at ${host}:${port} did not answer within ${SPAMD_TELL_TIMEOUT_MS} ms`)));
    socket.once('connect', () => {
      const userLine = user && /^[^\s\r\n]{1,254}$/.test(user) ? `User: ${user}\r\n` : '';
      socket.write(`TELL SPAMC/1.5\r\nMessage-class: ${learnAs}\r\nSet: local\r\n${userLine}Content-length: ${message.length}\r\n\r\n`);
      socket.end(message);
    });
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.once('error', (err) => reject(err instanceof TemporaryError ? err : new TemporaryError(`spamd at ${host}:${port}: ${err.message}`)));
    socket.once('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
  });
  const status = /^SPAMD\/\d\.\d+ (\d+) (\S+)/.exec(response);
  if (!status) throw new TemporaryError(`spamd answered: ${response.split('\r\n')[0] || '(nothing)'}`);
  // EX_OK is 0; 69 EX_UNAVAILABLE (TELL not allowed: spamd without --allow-tell) will not change by retrying.
  if (status[1] === '69') throw new PermanentError(`spamd refuses TELL (start it with --allow-tell): ${status[2]}`);
  if (status[1] !== '0') throw new TemporaryError(`spamd answered: ${response.split('\r\n')[0]}`);
  return response;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
