import { specialUseAttribute } from '../../../mailbox/api/roles';
import { INBOX, MAILBOX_DELIMITER, type Mailbox, type MailboxRole } from '../../../mailbox/api/mailbox-store';
import { ImapBadError } from '../errors';
import { compileListPattern, decodeMailboxName, formatMailboxName, normalizeMailboxName } from '../mailbox-name';
import type { ImapValue } from '../parser';
import { formatString, ok, type TaggedResult } from '../response';
import type { ImapSession } from '../session';
import type { CommandContext, ImapCommand } from '../types';
import { listMailboxArg } from './args';
import { visibleName } from './lookup';
import { parseStatusItems, statusLine } from './status';

interface ListOptions {
  /** Selection (RFC 5258): only subscribed names. */
  subscribed: boolean;
  /** Selection: only mailboxes with a special use (RFC 6154). */
  specialUseOnly: boolean;
  recursiveMatch: boolean;
  /** Return options. */
  returnSubscribed: boolean;
  returnSpecialUse: boolean;
  status: string[] | null;
  /** Extended syntax used: `\Subscribed`/CHILDINFO etc. follow RFC 5258. */
  extended: boolean;
}

function atomsOf(value: ImapValue, what: string): Array<{ name: string; next?: ImapValue }> {
  if (value.type !== 'list') throw new ImapBadError(`Invalid LIST ${what}`);
  const out: Array<{ name: string; next?: ImapValue }> = [];
  for (let i = 0; i < value.items.length; i++) {
    const item = value.items[i];
    if (item.type !== 'atom' || item.section) throw new ImapBadError(`Invalid LIST ${what}`);
    const name = item.value.toUpperCase();
    if (name === 'STATUS') {
      out.push({ name, next: value.items[++i] });
      continue;
    }
    out.push({ name });
  }
  return out;
}

/**
 * Parses `LIST [(selection)] reference (patterns|pattern) [RETURN (options)]` (RFC 3501 §6.3.8,
 * RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS, RFC 6154 SPECIAL-USE).
 */
function parseList(session: ImapSession, args: readonly ImapValue[]): { reference: string; patterns: string[]; options: ListOptions } {
  const options: ListOptions = { subscribed: false, specialUseOnly: false, recursiveMatch: false, returnSubscribed: false, returnSpecialUse: false, status: null, extended: false };
  let index = 0;
  const extendedAllowed = session.manager !== null;
  if (args[0]?.type === 'list') {
    if (!extendedAllowed) throw new ImapBadError('Usage: LIST <reference> <mailbox pattern>');
    options.extended = true;
    for (const { name } of atomsOf(args[0], 'selection option')) {
      if (name === 'SUBSCRIBED') options.subscribed = true;
      else if (name === 'SPECIAL-USE') options.specialUseOnly = true;
      else if (name === 'RECURSIVEMATCH') options.recursiveMatch = true;
      else if (name !== 'REMOTE') throw new ImapBadError(`Unknown LIST selection option ${name.slice(0, 30)}`);
    }
    if (options.recursiveMatch && !options.subscribed && !options.specialUseOnly) throw new ImapBadError('RECURSIVEMATCH needs another selection option');
    index = 1;
  }
  if (args.length < index + 2) throw new ImapBadError('Usage: LIST <reference> <mailbox pattern>');
  const reference = listMailboxArg(args[index], 'reference');
  const patternArg = args[index + 1];
  let patterns: string[];
  if (patternArg.type === 'list') {
    if (!extendedAllowed || patternArg.items.length === 0) throw new ImapBadError('Invalid LIST pattern list');
    options.extended = true;
    patterns = patternArg.items.map((item) => listMailboxArg(item, 'mailbox pattern'));
  } else {
    patterns = [listMailboxArg(patternArg, 'mailbox pattern')];
  }
  const rest = args.slice(index + 2);
  if (rest.length > 0) {
    const keyword = rest[0];
    if (!extendedAllowed || rest.length !== 2 || keyword.type !== 'atom' || keyword.value.toUpperCase() !== 'RETURN') throw new ImapBadError('Usage: LIST ... RETURN (<options>)');
    options.extended = true;
    for (const { name, next } of atomsOf(rest[1], 'return option')) {
      if (name === 'SUBSCRIBED') options.returnSubscribed = true;
      else if (name === 'SPECIAL-USE') options.returnSpecialUse = true;
      else if (name === 'STATUS') options.status = parseStatusItems(session, next ?? { type: 'nil' });
      else if (name !== 'CHILDREN') throw new ImapBadError(`Unknown LIST return option ${name.slice(0, 30)}`);
    }
  }
  return { reference, patterns, options };
}

interface Entry {
  name: string;
  mailbox: Mailbox | null;
  role: MailboxRole | null;
  /** RFC 4314 rights on another user's mailbox; null for the user's own. */
  rights?: string | null;
}

export async function runList({ args, session }: CommandContext, lsub: boolean): Promise<TaggedResult> {
  const command = lsub ? 'LSUB' : 'LIST';
  const { reference, patterns, options } = parseList(session, args);
  const opts: ListOptions = lsub ? { ...options, subscribed: true } : options;
  const delimiter = formatString(MAILBOX_DELIMITER);
  if (patterns.length === 1 && patterns[0] === '' && !opts.extended) {
    // RFC 3501: an empty pattern asks for the hierarchy delimiter and the root of the reference.
    const root = reference.includes(MAILBOX_DELIMITER) ? reference.slice(0, reference.indexOf(MAILBOX_DELIMITER) + 1) : '';
    await session.untagged(`${command} (\\Noselect) ${delimiter} ${formatString(root)}`);
    return ok(`${command} completed`);
  }
  // RFC 9051 §6.3.9: a syntactically valid pattern the server does not accept (invalid modified
  // UTF-7) MUST be silently ignored: it matches nothing, and LIST still answers OK.
  const matchers = patterns.flatMap((pattern) => {
    const decoded = session.utf8Names() ? (reference + pattern).normalize('NFC') : decodeMailboxName(reference + pattern);
    return decoded === null ? [] : [compileListPattern(decoded, MAILBOX_DELIMITER)];
  });

  const user = session.user as string;
  const manager = session.manager;
  // With the manager: the user's mailboxes and, in the other users' namespace, those shared with them (`l` right).
  const mailboxes = manager ? await manager.listAccessibleMailboxes(user) : (await session.deps.mailboxes.listMailboxes(user)).map((mailbox) => ({ mailbox, rights: null }));
  const entries = new Map<string, Entry>();
  for (const { mailbox, rights } of mailboxes) {
    const own = mailbox.owner === user;
    const name = own ? normalizeMailboxName(mailbox.name, MAILBOX_DELIMITER) : visibleName(user, mailbox);
    entries.set(name, { name, mailbox, role: own ? ((mailbox as { role?: MailboxRole | null }).role ?? null) : null, rights: own ? null : rights });
  }
  for (const name of [...entries.keys()]) {
    const levels = name.split(MAILBOX_DELIMITER);
    for (let depth = 1; depth < levels.length; depth++) {
      const ancestor = levels.slice(0, depth).join(MAILBOX_DELIMITER);
      if (!entries.has(ancestor)) entries.set(ancestor, { name: ancestor, mailbox: null, role: null });
    }
  }
  const subscriptions = manager && (opts.subscribed || opts.returnSubscribed) ? new Set(await manager.listSubscriptions(user)) : new Set<string>();
  if (opts.subscribed) {
    // Subscribed names that are no mailbox are listed too (\NonExistent in LIST-EXTENDED).
    for (const name of subscriptions) if (!entries.has(name)) entries.set(name, { name, mailbox: null, role: null });
  }
  const parents = new Set<string>();
  for (const name of entries.keys()) {
    const last = name.lastIndexOf(MAILBOX_DELIMITER);
    if (last > 0) parents.add(name.slice(0, last));
  }
  const sorted = [...entries.keys()].sort((a, b) => (a === INBOX ? -1 : b === INBOX ? 1 : a < b ? -1 : a > b ? 1 : 0));
  const matches = (name: string): boolean => matchers.some((matcher) => matcher.test(name));
  const selects = (name: string): boolean =>
    (!opts.subscribed || subscriptions.has(name)) && (!opts.specialUseOnly || specialUseAttribute((entries.get(name) as Entry).role) !== null);
  // RFC 5258 §3 RECURSIVEMATCH: a name matching the pattern is also listed, with CHILDINFO, when a
  // descendant meets the selection criteria but is not listed because it does not match the pattern.
  const childInfoCriteria = [...(opts.subscribed ? ['"SUBSCRIBED"'] : []), ...(opts.specialUseOnly ? ['"SPECIAL-USE"'] : [])];
  const hasHiddenSelectedDescendant = (name: string): boolean =>
    sorted.some((other) => other.startsWith(name + MAILBOX_DELIMITER) && selects(other) && !matches(other));
  for (const name of sorted) {
    if (!matches(name)) continue;
    const entry = entries.get(name) as Entry;
    const isSubscribed = subscriptions.has(name);
    const childInfo = opts.recursiveMatch && hasHiddenSelectedDescendant(name);
    if (!selects(name) && !childInfo) continue;
    const specialUse = specialUseAttribute(entry.role);
    const attributes: string[] = [];
    // RFC 9051 §6.3.9.2: a mailbox whose STATUS cannot be had (no `r` right, RFC 4314) is listed
    // \Noselect without a STATUS response.
    const statusRefused = opts.status !== null && entry.mailbox !== null && entry.rights != null && !entry.rights.includes('r');
    if (!entry.mailbox) attributes.push(opts.extended && !parents.has(name) ? '\\NonExistent' : '\\Noselect');
    else if (statusRefused) attributes.push('\\Noselect');
    if (!lsub) attributes.push(parents.has(name) ? '\\HasChildren' : '\\HasNoChildren');
    if (!lsub && isSubscribed && (opts.subscribed || opts.returnSubscribed)) attributes.push('\\Subscribed');
    if (specialUse && !lsub && (!opts.extended || opts.returnSpecialUse || opts.specialUseOnly)) attributes.push(specialUse);
    const extendedData = childInfo ? ` ("CHILDINFO" (${childInfoCriteria.join(' ')}))` : '';
    await session.untagged(`${command} (${attributes.join(' ')}) ${delimiter} ${formatMailboxName(name, session.utf8Names())}${extendedData}`);
    if (opts.status && entry.mailbox && !statusRefused) await session.untagged(await statusLine(session, entry.mailbox, opts.status));
  }
  return ok(`${command} completed`);
}

/**
 * RFC 3501 §6.3.8 with LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819) and SPECIAL-USE
 * (RFC 6154) when the mailbox manager is wired. Levels of the hierarchy that are not mailboxes
 * (`a` of `a.b`) are listed with `\Noselect`; `\HasChildren`/`\HasNoChildren` follow RFC 3348.
 */
export const list: ImapCommand = {
  name: 'LIST',
  states: ['authenticated', 'selected'],
  handler: (context) => runList(context, false),
};

/** RFC 3501 §6.3.9 (deprecated by RFC 9051, still used by older clients). */
export const lsub: ImapCommand = {
  name: 'LSUB',
  states: ['authenticated', 'selected'],
  needsManager: true,
  async handler(context) {
    if (context.args.length !== 2 || context.args.some((arg) => arg.type === 'list')) throw new ImapBadError('Usage: LSUB <reference> <mailbox pattern>');
    return runList(context, true);
  },
};
