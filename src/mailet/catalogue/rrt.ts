import { z } from 'zod';
import { GHOST } from '../../core/mail';
import { PermanentError, errorMessage } from '../../core/errors';
import { defineMailet, withAttributes, type AnyMailet } from '../api';
import { boolParam } from './params';

/** What the RecipientRewriteTable mailet needs from the data layer (src/rrt). */
export interface RecipientRewriteService {
  /**
   * The final recipients of an address (itself when no mapping applies). Rejects with a
   * PermanentError for an error mapping or a loop (554 Too many mappings).
   */
  rewriteRecipient(address: string): Promise<string[]>;
}

declare module '../api' {
  interface MailetServices {
    /** Recipient rewriting (RecipientRewriteTable mailet). */
    recipientRewriteTable?: RecipientRewriteService;
  }
}

/** Attribute carrying why the recipients of a mail sent to the error processor could not be rewritten. */
export const RRT_ERROR_ATTRIBUTE = 'org.apache.james.rrt.error';

const processorName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be a processor name');

/**
 * James' RecipientRewriteTable mailet: rewrites each recipient through the recipient rewrite table
 * (aliases, forwards, groups, domain aliases and mappings, regex, error mappings).
 * - rewritten addresses of local domains stay in the mail;
 * - rewritten addresses of other domains leave in a new mail sent to `root` (so relay rules see it as
 *   sent by a mailet), its sender rewritten to the forwarding address unless `rewriteSenderUponForward=false`;
 * - recipients whose rewriting fails (error mapping, loop: `554 Too many mappings`) go to
 *   `errorProcessor` (James' default configuration: `rrt-error`), the mail itself when all failed.
 */
export const recipientRewriteTableMailet = defineMailet<{ errorProcessor: string; rewriteSenderUponForward: boolean }>({
  name: 'RecipientRewriteTable',
  params: z.object({ errorProcessor: processorName.default('error'), rewriteSenderUponForward: boolParam.default(true) }).strict(),
  processors: (p) => [p.errorProcessor],
  async service(mail, context, params) {
    const rrt = context.services.recipientRewriteTable;
    if (!rrt) {
      context.logger.warn('RecipientRewriteTable: no recipient rewrite table configured; recipients left unchanged');
      return mail;
    }
    const kept: string[] = [];
    const remoteBySource = new Map<string, string[]>();
    const errors: Array<{ recipient: string; message: string }> = [];
    for (const recipient of mail.recipients) {
      let targets: string[];
      try {
        targets = await rrt.rewriteRecipient(recipient);
      } catch (err) {
        if (!(err instanceof PermanentError)) throw err;
        errors.push({ recipient, message: errorMessage(err) });
        continue;
      }
      const rewritten = !(targets.length === 1 && targets[0] === recipient.toLowerCase());
      for (const target of targets) {
        const domain = target.slice(target.lastIndexOf('@') + 1);
        if (!rewritten || (await context.isLocalDomain(domain))) {
          if (!kept.includes(rewritten ? target : recipient)) kept.push(rewritten ? target : recipient);
        } else {
          const list = remoteBySource.get(recipient) ?? [];
          if (!list.includes(target)) list.push(target);
          remoteBySource.set(recipient, list);
        }
      }
    }

    if (remoteBySource.size > 0) {
      const message = await context.message(mail);
      for (const [source, recipients] of remoteBySource) {
        await context.sendMail({
          sender: params.rewriteSenderUponForward ? source : mail.sender,
          recipients,
          message,
          state: 'root',
          attributes: mail.attributes,
          key: `rrt-forward:${source}`,
        });
      }
    }

    const errorText = errors.map((e) => `${e.recipient}: ${e.message}`).join('; ');
    if (errors.length > 0) {
      context.logger.warn({ errors: errorText }, 'RecipientRewriteTable: rewriting failed');
      if (kept.length === 0 && remoteBySource.size === 0) {
        return { ...withAttributes(mail, { [RRT_ERROR_ATTRIBUTE]: errorText }), recipients: errors.map((e) => e.recipient), state: params.errorProcessor, errorMessage: errorText };
      }
      await context.sendMail({
        sender: mail.sender,
        recipients: errors.map((e) => e.recipient),
        message: await context.message(mail),
        state: params.errorProcessor,
        attributes: { ...mail.attributes, [RRT_ERROR_ATTRIBUTE]: errorText },
        key: 'rrt-error',
      });
    }
    if (kept.length === 0) return { ...mail, recipients: [], state: GHOST };
    return { ...mail, recipients: kept };
  },
});

export const RRT_MAILETS: AnyMailet[] = [recipientRewriteTableMailet];
