import { z } from 'zod';
import { defineMailet, withAttributes, type AnyMailet } from '../api';
import { allParts, isAttachment, parseMimeTree, type MimePart } from '../message/mime-tree';
import { PER_RECIPIENT_HEADERS_ATTRIBUTE } from './core-mailets';
import { listParam } from './params';

const headerName = z.string().regex(/^[!-9;-~]+$/, 'must be a header field name');

const removeMimeHeader = defineMailet<{ name: string[] }>({
  name: 'RemoveMimeHeader',
  params: z.object({ name: listParam.refine((l) => l.length > 0, 'needs at least one header name') }).strict(),
  async service(mail, context, params) {
    return context.editHeaders(mail, (headers) => {
      for (const name of params.name) headers.remove(name);
    });
  },
});

const addHeader = defineMailet<{ name: string; value: string }>({
  name: 'AddHeader',
  params: z.object({ name: headerName, value: z.coerce.string() }).strict(),
  async service(mail, context, params) {
    return context.editHeaders(mail, (headers) => headers.add(params.name, params.value));
  },
});

const setMimeHeader = defineMailet<{ name: string; value: string }>({
  name: 'SetMimeHeader',
  params: z.object({ name: headerName, value: z.coerce.string() }).strict(),
  async service(mail, context, params) {
    return context.editHeaders(mail, (headers) => headers.set(params.name, params.value));
  },
});

/** `Delivered-To: <recipient>` for each recipient, added by LocalDelivery to that recipient's copy. */
const addDeliveredToHeader = defineMailet({
  name: 'AddDeliveredToHeader',
  params: z.object({}).strict(),
  async service(mail) {
    const current = (mail.attributes[PER_RECIPIENT_HEADERS_ATTRIBUTE] ?? {}) as Record<string, Array<[string, string]>>;
    const next: Record<string, Array<[string, string]>> = { ...current };
    for (const recipient of mail.recipients) next[recipient] = [...(current[recipient] ?? []).filter(([n]) => n.toLowerCase() !== 'delivered-to'), ['Delivered-To', recipient]];
    return withAttributes(mail, { [PER_RECIPIENT_HEADERS_ATTRIBUTE]: next });
  },
});

const addSubjectPrefix = defineMailet<{ subjectPrefix: string }>({
  name: 'AddSubjectPrefix',
  params: z.object({ subjectPrefix: z.string().min(1, 'is required') }).strict(),
  async service(mail, context, params) {
    const headers = await context.headers(mail);
    const subject = headers.decoded('subject');
    return context.editHeaders(mail, (h) => h.set('Subject', subject ? `${params.subjectPrefix} ${subject}` : params.subjectPrefix));
  },
});

/**
 * Appends a footer to the first text/plain and text/html parts that are not attachments
 * (James `AddFooter`), decoding and re-encoding base64 and quoted-printable bodies.
 */
const addFooter = defineMailet<{ text: string; html?: string }>({
  name: 'AddFooter',
  params: z.object({ text: z.string().min(1, 'is required'), html: z.string().optional() }).strict(),
  async service(mail, context, params) {
    const message = await context.message(mail);
    const parts = allParts(parseMimeTree(message)).filter((p) => p.children.length === 0 && !isAttachment(p) && p.contentType.type === 'text');
    const targets: Array<{ part: MimePart; footer: string }> = [];
    const plain = parts.find((p) => p.contentType.subtype === 'plain');
    const html = parts.find((p) => p.contentType.subtype === 'html');
    if (plain) targets.push({ part: plain, footer: `\r\n${params.text}\r\n` });
    if (html) targets.push({ part: html, footer: `<br />${params.html ?? escapeHtml(params.text)}` });
    if (targets.length === 0) return mail;
    targets.sort((a, b) => b.part.bodyStart - a.part.bodyStart);
    let out = message;
    for (const { part, footer } of targets) {
      const body = out.subarray(part.bodyStart, part.bodyEnd);
      const replaced = appendToBody(body, part.transferEncoding, footer);
      out = Buffer.concat([out.subarray(0, part.bodyStart), replaced, out.subarray(part.bodyEnd)]);
    }
    return context.withMessage(mail, out);
  },
});

function appendToBody(body: Buffer, encoding: string, footer: string): Buffer {
  if (encoding === 'base64') {
    const decoded = Buffer.concat([Buffer.from(body.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64'), Buffer.from(footer, 'utf8')]);
    return Buffer.from((decoded.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n') + '\r\n');
  }
  if (encoding === 'quoted-printable') {
    const encoded = quotedPrintable(footer);
    const sep = body.length > 0 && !body.subarray(-1).equals(Buffer.from('\n')) ? '\r\n' : '';
    return Buffer.concat([body, Buffer.from(sep + encoded)]);
  }
  const sep = body.length > 0 && !body.subarray(-1).equals(Buffer.from('\n')) ? '\r\n' : '';
  return Buffer.concat([body, Buffer.from(sep + footer, 'utf8')]);
}

/** RFC 2045 §6.7 quoted-printable of UTF-8 text, keeping its line breaks as hard breaks. */
function quotedPrintable(text: string): string {
  return text
    .split(/\r?\n/)
    .map((line) =>
      [...Buffer.from(line, 'utf8')]
        .map((b) => (b === 0x3d || b > 0x7e || (b < 0x20 && b !== 0x09) ? `=${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b)))
        .join(''),
    )
    .join('\r\n');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);
}

export const HEADER_MAILETS: AnyMailet[] = [removeMimeHeader, addHeader, setMimeHeader, addDeliveredToHeader, addSubjectPrefix, addFooter];
