import { z } from 'zod';
import { defineMailet, defineMatcher, withAttributes } from '../../src/mailet/api';

/**
 * Example matcher: `RecipientDomainIs=example.com,example.org` matches the recipients of those
 * domains. The condition is parsed once at start-up; a missing condition stops start-up.
 */
export const recipientDomainIs = defineMatcher<Set<string>>({
  name: 'RecipientDomainIs',
  condition(raw) {
    const domains = (raw ?? '').split(',').map((d) => d.trim().toLowerCase()).filter(Boolean);
    if (domains.length === 0) throw new Error('needs a comma-separated list of domains');
    return new Set(domains);
  },
  async match(mail, _context, domains) {
    return mail.recipients.filter((r) => domains.has(r.slice(r.lastIndexOf('@') + 1).toLowerCase()));
  },
});

/**
 * Example mailet: prefixes the subject with `[tag]` (once), records it in an attribute and counts it.
 * Parameters are typed and checked at start-up: `tag` is required, `maxTags` defaults to 1.
 */
export const subjectTagger = defineMailet<{ tag: string; maxTags: number }>({
  name: 'SubjectTagger',
  params: z
    .object({
      tag: z.string().regex(/^[\w-]{1,32}$/, 'must be 1 to 32 letters, digits, - or _'),
      maxTags: z.coerce.number().int().positive().default(1),
    })
    .strict(),
  async service(mail, context, params) {
    const marker = `[${params.tag}]`;
    const subject = (await context.headers(mail)).decoded('subject') ?? '';
    const already = subject.split(marker).length - 1;
    if (already >= params.maxTags) return mail;
    // editHeaders writes a new blob and returns the mail pointing at it: bytes never travel in Temporal.
    const tagged = await context.editHeaders(mail, (headers) => headers.set('Subject', `${marker} ${subject}`.trim()));
    context.metrics.increment('subjectTagged');
    context.logger.debug({ tag: params.tag }, 'subject tagged');
    return withAttributes(tagged, { 'org.example.tagged': params.tag });
  },
});
