import { domainOf } from '../../core/address';
import { defineMatcher, type MatcherDefinition } from '../api';

const all = defineMatcher({ name: 'All', match: async (mail) => mail.recipients });

const recipientIsLocal = defineMatcher({
  name: 'RecipientIsLocal',
  async match(mail, context) {
    const matched: string[] = [];
    for (const recipient of mail.recipients) if (await context.isLocalUser(recipient)) matched.push(recipient);
    return matched;
  },
});

const hostIsLocal = defineMatcher({
  name: 'HostIsLocal',
  async match(mail, context) {
    const matched: string[] = [];
    for (const recipient of mail.recipients) {
      const domain = domainOf(recipient);
      if (domain && (await context.isLocalDomain(domain))) matched.push(recipient);
    }
    return matched;
  },
});

const hostIs = defineMatcher({
  name: 'HostIs',
  async match(mail, _context, condition) {
    const hosts = splitList(condition);
    return mail.recipients.filter((r) => hosts.includes(domainOf(r) ?? ''));
  },
});

const recipientIs = defineMatcher({
  name: 'RecipientIs',
  async match(mail, _context, condition) {
    const addresses = splitList(condition);
    return mail.recipients.filter((r) => addresses.includes(r.toLowerCase()));
  },
});

const senderIsNull = defineMatcher({ name: 'SenderIsNull', match: async (mail) => (mail.sender === null ? mail.recipients : []) });

const smtpAuthSuccessful = defineMatcher({ name: 'SMTPAuthSuccessful', match: async (mail) => (mail.authUser ? mail.recipients : []) });

function splitList(condition: string | undefined): string[] {
  return (condition ?? '')
    .split(/[\s,]+/)
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
}

export const MATCHERS: MatcherDefinition[] = [all, recipientIsLocal, hostIsLocal, hostIs, recipientIs, senderIsNull, smtpAuthSuccessful];
