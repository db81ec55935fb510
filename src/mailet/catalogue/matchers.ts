import { BlockList, isIP } from 'node:net';
import { domainOf } from '../../core/address';
import type { MailReference } from '../../core/mail';
import { defineMatcher, type AnyMatcher, type MailetContext } from '../api';
import { allParts, isAttachment, parseMimeTree } from '../message/mime-tree';
import { conditionList, parseSize, positiveInt } from './params';

/** Attribute set on mails sent by a mailet (James `Mail.SENT_BY_MAILET`). */
export const SENT_BY_MAILET_ATTRIBUTE = 'org.apache.james.SentByMailet';
/** Attribute the SMTP server sets when the client's address is an authorized network. */
export const SMTP_AUTH_NETWORK_ATTRIBUTE = 'org.apache.james.SMTPIsAuthNetwork';
/** James' RelayLimit default: more Received headers than this is a loop. */
export const DEFAULT_RELAY_LIMIT = 30;

const none = (): string[] => [];
const allOf = (mail: MailReference): string[] => mail.recipients;
const when = (mail: MailReference, condition: boolean): string[] => (condition ? mail.recipients : none());

async function filterRecipients(mail: MailReference, predicate: (recipient: string) => Promise<boolean> | boolean): Promise<string[]> {
  const matched: string[] = [];
  for (const recipient of mail.recipients) if (await predicate(recipient)) matched.push(recipient);
  return matched;
}

const addressCondition = (raw: string | undefined) => new Set(conditionList(raw, 'a comma-separated list of addresses').map((a) => a.toLowerCase()));
const domainCondition = (raw: string | undefined) => new Set(conditionList(raw, 'a comma-separated list of domains').map((a) => a.toLowerCase()));

function regexCondition(raw: string | undefined): RegExp {
  if (!raw) throw new Error('needs a regular expression');
  try {
    return new RegExp(raw, 'i');
  } catch (err) {
    throw new Error(`invalid regular expression: ${(err as Error).message}`);
  }
}

function networkCondition(raw: string | undefined): BlockList {
  const list = new BlockList();
  for (const entry of conditionList(raw, 'a list of networks (127.0.0.0/8, ::1, 192.168.1.10)')) {
    const [address, prefix] = entry.split('/');
    const family = isIP(address);
    if (family === 0) throw new Error(`${JSON.stringify(entry)} is not an IP address or network`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(address, type);
    else {
      const bits = Number(prefix);
      if (!Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128)) throw new Error(`${JSON.stringify(entry)} has an invalid prefix length`);
      list.addSubnet(address, bits, type);
    }
  }
  return list;
}

function inNetwork(list: BlockList, address: string): boolean {
  const bare = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  const family = isIP(bare);
  return family !== 0 && list.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}

async function subject(mail: MailReference, context: MailetContext): Promise<string | null> {
  return (await context.headers(mail)).decoded('subject');
}

export const MATCHERS: AnyMatcher[] = [
  defineMatcher({ name: 'All', match: async (mail) => allOf(mail) }),

  defineMatcher({
    name: 'RecipientIs',
    condition: addressCondition,
    match: async (mail, _c, addresses) => mail.recipients.filter((r) => addresses.has(r.toLowerCase())),
  }),
  defineMatcher({ name: 'RecipientIsLocal', match: (mail, context) => filterRecipients(mail, (r) => context.isLocalUser(r)) }),
  defineMatcher({
    name: 'RecipientIsRegex',
    condition: regexCondition,
    match: async (mail, _c, regex) => mail.recipients.filter((r) => regex.test(r)),
  }),
  defineMatcher({
    name: 'HostIs',
    condition: domainCondition,
    match: async (mail, _c, hosts) => mail.recipients.filter((r) => hosts.has(domainOf(r) ?? '')),
  }),
  defineMatcher({
    name: 'HostIsLocal',
    match: (mail, context) =>
      filterRecipients(mail, async (r) => {
        const domain = domainOf(r);
        return domain !== null && context.isLocalDomain(domain);
      }),
  }),

  defineMatcher({
    name: 'SenderIs',
    condition: addressCondition,
    match: async (mail, _c, senders) => when(mail, mail.sender !== null && senders.has(mail.sender.toLowerCase())),
  }),
  defineMatcher({ name: 'SenderIsLocal', match: async (mail, context) => when(mail, mail.sender !== null && (await context.isLocalUser(mail.sender))) }),
  defineMatcher({ name: 'SenderIsNull', match: async (mail) => when(mail, mail.sender === null) }),

  defineMatcher({ name: 'SMTPAuthSuccessful', match: async (mail) => when(mail, Boolean(mail.authUser)) }),
  defineMatcher({
    name: 'SMTPAuthUserIs',
    condition: addressCondition,
    match: async (mail, _c, users) => when(mail, mail.authUser !== null && users.has(mail.authUser.toLowerCase())),
  }),
  defineMatcher<BlockList | null>({
    name: 'SMTPIsAuthNetwork',
    // James reads an attribute set by the SMTP server; an optional condition lists the networks here too.
    condition: (raw) => (raw ? networkCondition(raw) : null),
    match: async (mail, _c, networks) => when(mail, mail.attributes[SMTP_AUTH_NETWORK_ATTRIBUTE] === true || (networks !== null && inNetwork(networks, mail.remoteAddr))),
  }),
  defineMatcher({
    name: 'RemoteAddrInNetwork',
    condition: networkCondition,
    match: async (mail, _c, networks) => when(mail, inNetwork(networks, mail.remoteAddr)),
  }),
  defineMatcher({
    name: 'RemoteAddrNotInNetwork',
    condition: networkCondition,
    match: async (mail, _c, networks) => when(mail, !inNetwork(networks, mail.remoteAddr)),
  }),
  defineMatcher({ name: 'SentByMailet', match: async (mail) => when(mail, mail.attributes[SENT_BY_MAILET_ATTRIBUTE] !== undefined) }),

  defineMatcher<number>({
    name: 'RelayLimit',
    condition: (raw) => (raw === undefined ? DEFAULT_RELAY_LIMIT : positiveInt.parse(raw)),
    match: async (mail, context, limit) => when(mail, (await context.headers(mail)).count('received') >= limit),
  }),

  defineMatcher<Array<{ name: string; value: string | null }>>({
    name: 'HasHeader',
    // James syntax: `HasHeader=name`, `HasHeader=name=value`, several joined with `+` (all must hold).
    condition: (raw) =>
      conditionList(raw?.replace(/\+/g, ','), 'a header name, optionally =value').map((item) => {
        const eq = item.indexOf('=');
        return eq < 0 ? { name: item, value: null } : { name: item.slice(0, eq), value: item.slice(eq + 1) };
      }),
    match: async (mail, context, tests) => {
      const headers = await context.headers(mail);
      return when(
        mail,
        tests.every(({ name, value }) => (value === null ? headers.has(name) : headers.getAll(name).some((v) => v === value || decodedEquals(v, value)))),
      );
    },
  }),
  defineMatcher({
    name: 'HasAttachment',
    match: async (mail, context) => when(mail, allParts(parseMimeTree(await context.message(mail))).some(isAttachment)),
  }),
  defineMatcher({
    name: 'HasMailAttribute',
    condition: (raw) => conditionList(raw, 'an attribute name')[0],
    match: async (mail, _c, name) => when(mail, mail.attributes[name] !== undefined),
  }),
  defineMatcher({
    name: 'HasMailAttributeWithValue',
    condition: (raw) => {
      const comma = (raw ?? '').indexOf(',');
      if (comma <= 0) throw new Error('needs "attributeName, value"');
      return { name: raw!.slice(0, comma).trim(), value: raw!.slice(comma + 1).trim() };
    },
    match: async (mail, _c, { name, value }) => when(mail, mail.attributes[name] !== undefined && String(mail.attributes[name]) === value),
  }),
  defineMatcher<number>({
    name: 'SizeGreaterThan',
    condition: (raw) => parseSize(conditionList(raw, 'a size such as 1m or 10k')[0]),
    match: async (mail, _c, size) => when(mail, mail.size > size),
  }),
  defineMatcher({
    name: 'SubjectIs',
    condition: (raw) => raw ?? '',
    match: async (mail, context, expected) => when(mail, (await subject(mail, context)) === expected),
  }),
  defineMatcher({
    name: 'SubjectStartsWith',
    condition: (raw) => raw ?? '',
    match: async (mail, context, prefix) => when(mail, ((await subject(mail, context)) ?? '').startsWith(prefix)),
  }),

  defineMatcher({
    name: 'IsMarkedAsSpam',
    // James: the per-recipient spam status SpamAssassin wrote, "Yes, score=…" for spam.
    condition: (raw) => raw?.trim() || 'org.apache.james.spamassassin.status',
    match: async (mail, _c, attribute) => {
      const status = mail.attributes[attribute];
      if (typeof status === 'string') return when(mail, /^yes/i.test(status));
      if (status && typeof status === 'object' && !Array.isArray(status)) {
        const perRecipient = status as Record<string, unknown>;
        return mail.recipients.filter((r) => typeof perRecipient[r] === 'string' && /^yes/i.test(perRecipient[r] as string));
      }
      return none();
    },
  }),
  defineMatcher({
    name: 'IsOverQuota',
    match: async (mail, context) => {
      const check = context.services.isOverQuota;
      if (!check) return none();
      return filterRecipients(mail, async (r) => (await context.isLocalUser(r)) && (await check(r.toLowerCase(), mail.size)));
    },
  }),
  defineMatcher<{ attribute: string; max: number }>({
    name: 'AtMost',
    // `AtMost=3` or `AtMost=name:3`: matches the first N times this mail reaches the matcher.
    condition: (raw) => {
      const [name, count] = (raw ?? '').includes(':') ? (raw as string).split(':') : ['AT_MOST_EXECUTIONS', raw ?? ''];
      return { attribute: `AT_MOST_EXECUTIONS_${name.trim()}`, max: positiveInt.parse(count) };
    },
    match: async (mail, _c, { attribute, max }) => {
      const seen = typeof mail.attributes[attribute] === 'number' ? (mail.attributes[attribute] as number) : 0;
      if (seen >= max) return none();
      return { recipients: mail.recipients, attributes: { [attribute]: seen + 1 } };
    },
  }),
  defineMatcher({
    name: 'IsSenderInRRTLoop',
    match: async (mail, context) => {
      const check = context.services.isInRrtLoop;
      return when(mail, mail.sender !== null && check !== undefined && (await check(mail.sender)));
    },
  }),
];

function decodedEquals(raw: string, expected: string): boolean {
  return raw.trim().toLowerCase() === expected.trim().toLowerCase();
}
