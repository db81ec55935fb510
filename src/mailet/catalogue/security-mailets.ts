import { readFileSync } from 'node:fs';
import net from 'node:net';
import { promises as dns } from 'node:dns';
import { z } from 'zod';
import { dkimSign } from 'mailauth/lib/dkim/sign';
import { dkimVerify } from 'mailauth/lib/dkim/verify';
import { TemporaryError } from '../../core/errors';
import { defineMailet, withAttributes, type AnyMailet } from '../api';
import { boolParam } from './params';

/** Attribute DKIMVerify sets: `pass`, `fail`, `none`… (the best result of the signatures). */
export const DKIM_RESULT_ATTRIBUTE = 'org.apache.james.jdkim.mailets.DKIMVerify.result';
/** Attributes SpamAssassin sets per recipient (James names). */
export const SPAM_STATUS_ATTRIBUTE = 'org.apache.james.spamassassin.status';
export const SPAM_FLAG_ATTRIBUTE = 'org.apache.james.spamassassin.flag';
/** spamd may take a few seconds on a large message; past this we give up (the step is retried). */
export const SPAMD_TIMEOUT_MS = 30_000;

interface DkimSignParams {
  domain: string;
  selector: string;
  headers: string[] | undefined;
  algorithm: string;
  canonicalization: string;
  privateKey: string;
}

/** Parses James' `signatureTemplate` (`v=1; s=selector; d=example.com; h=from:to; a=rsa-sha256; c=relaxed/relaxed; bh=; b=;`). */
function parseTemplate(template: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const part of template.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) tags[part.slice(0, eq).trim()] = part.slice(eq + 1).replace(/\s+/g, '');
  }
  return tags;
}

/** Signs the message with DKIM (RFC 6376) and prepends the signature (James `DKIMSign`). */
const dkimSignMailet = defineMailet<DkimSignParams>({
  name: 'DKIMSign',
  params: z
    .object({ signatureTemplate: z.string(), privateKey: z.string().optional(), privateKeyFilepath: z.string().optional(), privateKeyPassword: z.unknown().optional() })
    .strict()
    .transform((p, ctx) => {
      const tags = parseTemplate(p.signatureTemplate);
      if (!tags.d || !tags.s) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'signatureTemplate needs d= (domain) and s= (selector)' });
        return z.NEVER;
      }
      let privateKey = p.privateKey;
      if (!privateKey && p.privateKeyFilepath) {
        try {
          privateKey = readFileSync(p.privateKeyFilepath, 'utf8');
        } catch (err) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: `privateKeyFilepath: ${(err as Error).message}` });
          return z.NEVER;
        }
      }
      if (!privateKey || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(privateKey)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'needs privateKey (PEM) or privateKeyFilepath' });
        return z.NEVER;
      }
      return {
        domain: tags.d,
        selector: tags.s,
        headers: tags.h ? tags.h.split(':').filter(Boolean) : undefined,
        algorithm: tags.a ?? 'rsa-sha256',
        canonicalization: tags.c ?? 'relaxed/relaxed',
        privateKey,
      };
    }),
  async service(mail, context, params) {
    const message = await context.message(mail);
    // mailauth 4.13 signs with `signatureData` entries (its top-level key options are types only).
    const signature = { signingDomain: params.domain, selector: params.selector, privateKey: params.privateKey, algorithm: params.algorithm, canonicalization: params.canonicalization };
    const result = await dkimSign(message, {
      ...signature,
      signatureData: [signature],
      headerList: params.headers,
      signTime: new Date(mail.receivedAt),
    } as Parameters<typeof dkimSign>[1]);
    if (result.errors.length > 0) throw new Error(`DKIM signing failed: ${result.errors.map((e) => e.message).join('; ')}`);
    return context.withMessage(mail, Buffer.concat([Buffer.from(result.signatures.replace(/\r?\n/g, '\r\n')), message]));
  },
});

/** Verifies the DKIM signatures; sets the result attribute and an Authentication-Results header (James `DKIMVerify`). */
const dkimVerifyMailet = defineMailet<{ addHeader: boolean }>({
  name: 'DKIMVerify',
  params: z.object({ forceCRLF: z.unknown().optional(), addHeader: boolParam.default(true) }).strict().transform(({ addHeader }) => ({ addHeader })),
  async service(mail, context, params) {
    const resolveTxt = context.services.resolveTxt ?? ((name: string) => dns.resolveTxt(name));
    const verified = await dkimVerify(await context.message(mail), {
      resolver: async (name: string, type: string) => {
        if (type !== 'TXT') throw Object.assign(new Error(`unsupported DNS type ${type}`), { code: 'ENOTFOUND' });
        return resolveTxt(name);
      },
    });
    const results = verified.results ?? [];
    const best = results.find((r) => r.status.result === 'pass') ?? results[0];
    const outcome = best ? best.status.result : 'none';
    const withAttr = withAttributes(mail, { [DKIM_RESULT_ATTRIBUTE]: outcome });
    if (!params.addHeader) return withAttr;
    const detail = best ? ` header.d=${best.signingDomain}${best.selector ? ` header.s=${best.selector}` : ''}` : '';
    return context.editHeaders(withAttr, (h) => h.add('Authentication-Results', `${context.hostname}; dkim=${outcome}${detail}`, 'top'));
  },
});

/** Asks spamd (SpamAssassin) about the message; sets James' spam status attributes per recipient. */
const spamAssassin = defineMailet<{ spamdHost?: string; spamdPort?: number }>({
  name: 'SpamAssassin',
  params: z.object({ spamdHost: z.string().optional(), spamdPort: z.coerce.number().int().min(1).max(65535).optional() }).strict(),
  async service(mail, context, params) {
    const host = params.spamdHost ?? context.services.spamd?.host ?? '127.0.0.1';
    const port = params.spamdPort ?? context.services.spamd?.port ?? 783;
    const { spam, score, threshold } = await spamdCheck(host, port, await context.message(mail));
    const status = `${spam ? 'Yes' : 'No'}, hits=${score} required=${threshold}`;
    const statuses: Record<string, string> = {};
    const flags: Record<string, string> = {};
    for (const r of mail.recipients) {
      statuses[r] = status;
      flags[r] = spam ? 'YES' : 'NO';
    }
    return withAttributes(mail, { [SPAM_STATUS_ATTRIBUTE]: statuses, [SPAM_FLAG_ATTRIBUTE]: flags });
  },
});

/** The spamd protocol's CHECK command (SPAMC/1.5): `Spam: True ; 15.0 / 5.0`. */
export async function spamdCheck(host: string, port: number, message: Buffer): Promise<{ spam: boolean; score: number; threshold: number }> {
  const response = await new Promise<string>((resolve, reject) => {
    const socket = net.connect({ host, port });
    const chunks: Buffer[] = [];
    socket.setTimeout(SPAMD_TIMEOUT_MS, () => socket.destroy(new Error(`spamd at ${host}:${port} did not answer within ${SPAMD_TIMEOUT_MS} ms`)));
    socket.once('connect', () => {
      socket.write(`CHECK SPAMC/1.5\r\nContent-length: ${message.length}\r\n\r\n`);
      socket.end(message);
    });
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.once('error', (err) => reject(new TemporaryError(`spamd at ${host}:${port}: ${err.message}`)));
    socket.once('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
  });
  const m = /^Spam:\s*(True|False|Yes|No)\s*;\s*(-?[\d.]+)\s*\/\s*(-?[\d.]+)/im.exec(response);
  if (!/^SPAMD\/\d\.\d+ 0 /.test(response) || !m) throw new TemporaryError(`spamd answered: ${response.split('\r\n')[0] || '(nothing)'}`);
  return { spam: /^(true|yes)$/i.test(m[1]), score: Number(m[2]), threshold: Number(m[3]) };
}

export const SECURITY_MAILETS: AnyMailet[] = [dkimSignMailet, dkimVerifyMailet, spamAssassin];
