import { ALL_RIGHTS } from '../../../mailbox/api/rights';
import { formatMailboxName } from '../mailbox-name';
import { formatString, ok } from '../response';
import type { ImapCommand } from '../types';
import { astringArg, expectArgs, mailboxRefArg, refName } from './args';

/** RFC 4314 §4: the rights LISTRIGHTS offers one by one (`c`/`d` of RFC 2086 map onto them). */
const RIGHTS_LIST = [...ALL_RIGHTS].join(' ');

/** RFC 4314 §3.1 SETACL: `+rights` adds, `-rights` removes, plain rights replace. */
export const setacl: ImapCommand = {
  name: 'SETACL',
  states: ['authenticated', 'selected'],
  needsManager: true,
  async handler({ args, session }) {
    expectArgs(args, 3, 3, 'SETACL <mailbox> <identifier> <rights>');
    const name = mailboxRefArg(args[0], session.utf8Names());
    const identifier = astringArg(args[1], 'identifier');
    const rights = astringArg(args[2], 'rights');
    const mode = rights.startsWith('+') ? 'add' : rights.startsWith('-') ? 'remove' : 'replace';
    await session.requireManager().setRights(session.user as string, name, identifier, mode === 'replace' ? rights : rights.slice(1), mode);
    return ok('SETACL completed');
  },
};

/** RFC 4314 §3.2. */
export const deleteacl: ImapCommand = {
  name: 'DELETEACL',
  states: ['authenticated', 'selected'],
  needsManager: true,
  async handler({ args, session }) {
    expectArgs(args, 2, 2, 'DELETEACL <mailbox> <identifier>');
    await session.requireManager().setRights(session.user as string, mailboxRefArg(args[0], session.utf8Names()), astringArg(args[1], 'identifier'), '', 'replace');
    return ok('DELETEACL completed');
  },
};

/** RFC 4314 §3.3 (needs `a`); the owner is listed first with every right. */
export const getacl: ImapCommand = {
  name: 'GETACL',
  states: ['authenticated', 'selected'],
  needsManager: true,
  async handler({ args, session }) {
    expectArgs(args, 1, 1, 'GETACL <mailbox>');
    const name = mailboxRefArg(args[0], session.utf8Names());
    const manager = session.requireManager();
    const acl = await manager.getAcl(session.user as string, name);
    const mailbox = await manager.getMailbox(session.user as string, name);
    const entries = [[mailbox?.owner ?? (session.user as string), ALL_RIGHTS], ...Object.entries(acl)];
    await session.untagged(`ACL ${formatMailboxName(refName(name), session.utf8Names())} ${entries.map(([id, rights]) => `${formatString(id)} ${formatString(rights)}`).join(' ')}`);
    return ok('GETACL completed');
  },
};

/** RFC 4314 §3.4: nothing is required, each right can be granted on its own; the owner has all of them. */
export const listrights: ImapCommand = {
  name: 'LISTRIGHTS',
  states: ['authenticated', 'selected'],
  needsManager: true,
  async handler({ args, session }) {
    expectArgs(args, 2, 2, 'LISTRIGHTS <mailbox> <identifier>');
    const name = mailboxRefArg(args[0], session.utf8Names());
    const identifier = astringArg(args[1], 'identifier');
    const manager = session.requireManager();
    // Listing rights needs the `a` right, as GETACL does.
    await manager.getAcl(session.user as string, name);
    const mailbox = await manager.getMailbox(session.user as string, name);
    const owner = mailbox?.owner === identifier;
    await session.untagged(`LISTRIGHTS ${formatMailboxName(refName(name), session.utf8Names())} ${formatString(identifier)} ${owner ? formatString(ALL_RIGHTS) : `"" ${RIGHTS_LIST}`}`);
    return ok('LISTRIGHTS completed');
  },
};

/** RFC 4314 §3.5. */
export const myrights: ImapCommand = {
  name: 'MYRIGHTS',
  states: ['authenticated', 'selected'],
  needsManager: true,
  async handler({ args, session }) {
    expectArgs(args, 1, 1, 'MYRIGHTS <mailbox>');
    const name = mailboxRefArg(args[0], session.utf8Names());
    const rights = await session.requireManager().myRights(session.user as string, name);
    await session.untagged(`MYRIGHTS ${formatMailboxName(refName(name), session.utf8Names())} ${formatString(rights)}`);
    return ok('MYRIGHTS completed');
  },
};
