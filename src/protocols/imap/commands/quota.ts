import type { QuotaLimits, QuotaUsage } from '../../../quota/api/quota';
import { UNLIMITED } from '../../../quota/api/quota';
import { quotaRootOf, userOfQuotaRoot } from '../../../quota/quota-service';
import { ImapBadError, ImapNoError } from '../errors';
import { formatMailboxName } from '../mailbox-name';
import type { ImapValue } from '../parser';
import { formatString, ok } from '../response';
import type { ImapSession } from '../session';
import type { ImapCommand } from '../types';
import { astringArg, expectArgs, mailboxRefArg, refName } from './args';

/** What the QUOTA commands need (RFC 9208), wired by the application when quotas are available. */
export interface ImapQuotaDeps {
  /** Effective limits (user → domain → global) and current usage of a user. */
  details(user: string): Promise<{ computed: QuotaLimits; usage: QuotaUsage }>;
  /** May `user` run SETQUOTA (an administrator)? */
  isAdmin(user: string): boolean;
  /** Sets the user-scope limits (null removes one). */
  setUserLimits(user: string, limits: { count: number | null; size: number | null }): Promise<void>;
}

declare module '../types' {
  interface ImapDeps {
    /** Quotas (RFC 9208 GETQUOTA, GETQUOTAROOT, SETQUOTA); absent: the commands answer NO. */
    quota?: ImapQuotaDeps;
  }
}

/** RFC 9208 §5.1: STORAGE is counted in units of 1024 octets. */
const STORAGE_UNIT = 1024;
/** The largest limit a SETQUOTA may carry (RFC 9208 number64, bounded to what JSON keeps exact). */
const MAX_SETQUOTA_VALUE = Math.floor(Number.MAX_SAFE_INTEGER / STORAGE_UNIT);

function quotaDeps(session: ImapSession): ImapQuotaDeps {
  const deps = session.deps.quota;
  if (!deps) throw new ImapNoError('Quotas are not available on this server', 'CANNOT');
  return deps;
}

/** `(STORAGE used limit MESSAGE used limit)`: only the resources that have a limit. */
async function quotaResponse(deps: ImapQuotaDeps, user: string): Promise<string> {
  const { computed, usage } = await deps.details(user);
  const parts: string[] = [];
  if (computed.size !== undefined && computed.size !== UNLIMITED) parts.push(`STORAGE ${Math.ceil(usage.size / STORAGE_UNIT)} ${Math.floor(computed.size / STORAGE_UNIT)}`);
  if (computed.count !== undefined && computed.count !== UNLIMITED) parts.push(`MESSAGE ${usage.count} ${computed.count}`);
  return `QUOTA ${formatString(quotaRootOf(user))} (${parts.join(' ')})`;
}

/** The user whose root the session may read: its own, or any when it is an administrator. */
function readableRootUser(session: ImapSession, deps: ImapQuotaDeps, root: string): string {
  const owner = userOfQuotaRoot(root);
  const user = session.user as string;
  if (owner === null) throw new ImapNoError(`No such quota root ${root}`, 'NONEXISTENT');
  if (owner !== user && !deps.isAdmin(user)) throw new ImapNoError('You may only read your own quota root', 'NOPERM');
  return owner;
}

/** RFC 9208 §4.2: GETQUOTA <root>. */
export const getquota: ImapCommand = {
  name: 'GETQUOTA',
  states: ['authenticated', 'selected'],
  needsManager: true,
  async handler({ args, session }) {
    expectArgs(args, 1, 1, 'GETQUOTA <quota root>');
    const deps = quotaDeps(session);
    const owner = readableRootUser(session, deps, astringArg(args[0], 'quota root'));
    await session.untagged(await quotaResponse(deps, owner));
    return ok('GETQUOTA completed');
  },
};

/** RFC 9208 §4.3: GETQUOTAROOT <mailbox>: the root of the mailbox's owner, with its quota when readable. */
export const getquotaroot: ImapCommand = {
  name: 'GETQUOTAROOT',
  states: ['authenticated', 'selected'],
  needsManager: true,
  async handler({ args, session }) {
    expectArgs(args, 1, 1, 'GETQUOTAROOT <mailbox>');
    const deps = quotaDeps(session);
    const ref = mailboxRefArg(args[0], session.utf8Names());
    const user = session.user as string;
    const mailbox = await session.requireManager().getMailbox(user, ref);
    if (!mailbox) throw new ImapNoError(`Mailbox ${refName(ref)} does not exist`, 'NONEXISTENT');
    await session.untagged(`QUOTAROOT ${formatMailboxName(refName(ref), session.utf8Names())} ${formatString(quotaRootOf(mailbox.owner))}`);
    if (mailbox.owner === user || deps.isAdmin(user)) await session.untagged(await quotaResponse(deps, mailbox.owner));
    return ok('GETQUOTAROOT completed');
  },
};

/** RFC 9208 §4.1: SETQUOTA <root> (STORAGE n MESSAGE m), administrators only; an empty list removes the limits. */
export const setquota: ImapCommand = {
  name: 'SETQUOTA',
  states: ['authenticated', 'selected'],
  needsManager: true,
  async handler({ args, session }) {
    expectArgs(args, 2, 2, 'SETQUOTA <quota root> (<resource> <limit> ...)');
    const deps = quotaDeps(session);
    const root = astringArg(args[0], 'quota root');
    const list = args[1];
    if (list.type !== 'list') throw new ImapBadError('SETQUOTA needs a parenthesized list of resource limits');
    const limits = parseSetQuotaList(list.items);
    if (!deps.isAdmin(session.user as string)) throw new ImapNoError('Only an administrator may set quotas', 'NOPERM');
    const owner = userOfQuotaRoot(root);
    if (owner === null) throw new ImapNoError(`No such quota root ${root}`, 'NONEXISTENT');
    await deps.setUserLimits(owner, limits);
    await session.untagged(await quotaResponse(deps, owner));
    return ok('SETQUOTA completed');
  },
};

/** `STORAGE 512 MESSAGE 1000` → limits in octets and messages; unknown resources are refused (RFC 9208 §4.1). */
export function parseSetQuotaList(items: readonly ImapValue[]): { count: number | null; size: number | null } {
  if (items.length % 2 !== 0) throw new ImapBadError('SETQUOTA resource limits come in pairs: <resource> <limit>');
  const out: { count: number | null; size: number | null } = { count: null, size: null };
  const seen = new Set<string>();
  for (let i = 0; i < items.length; i += 2) {
    const resource = astringArg(items[i], 'quota resource').toUpperCase();
    const raw = astringArg(items[i + 1], 'quota limit');
    if (!/^\d{1,16}$/.test(raw) || Number(raw) > MAX_SETQUOTA_VALUE) throw new ImapBadError(`Invalid quota limit ${raw}`);
    if (seen.has(resource)) throw new ImapBadError(`Resource ${resource} given twice`);
    seen.add(resource);
    if (resource === 'STORAGE') out.size = Number(raw) * STORAGE_UNIT;
    else if (resource === 'MESSAGE') out.count = Number(raw);
    else throw new ImapNoError(`Unsupported quota resource ${resource}`, 'CANNOT');
  }
  return out;
}
