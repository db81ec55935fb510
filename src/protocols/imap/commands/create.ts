import { MailboxRoleTakenError } from '../../../mailbox/api/errors';
import type { MailboxRole } from '../../../mailbox/api/mailbox-store';
import { ImapBadError, ImapNoError } from '../errors';
import { objectId } from '../object-id';
import type { ImapValue } from '../parser';
import { ok } from '../response';
import type { ImapCommand } from '../types';
import { expectArgs } from './args';
import { createNameArg } from './mailbox-args';
import { announceOldName } from './oldname';

/**
 * RFC 6154 special-use attributes a CREATE may assign (CREATE-SPECIAL-USE), with the mailbox role
 * each becomes. `\All` and `\Flagged` name virtual mailboxes this store has no way to fill.
 */
const CREATABLE_USES: ReadonlyMap<string, MailboxRole> = new Map([
  ['\\DRAFTS', 'drafts'],
  ['\\SENT', 'sent'],
  ['\\TRASH', 'trash'],
  ['\\JUNK', 'junk'],
  ['\\ARCHIVE', 'archive'],
]);

/**
 * The special use of the RFC 4466 create parameters `(USE (\Drafts))` (RFC 6154 §3), or null.
 * Syntax errors are BAD; a use the server cannot assign is `NO [USEATTR]`.
 */
function useOf(params: ImapValue): string[] | null {
  if (params.type !== 'list' || params.items.length === 0) throw new ImapBadError('Usage: CREATE <mailbox> [(USE (<special-use>...))]');
  let uses: string[] | null = null;
  for (let i = 0; i < params.items.length; i += 2) {
    const name = params.items[i];
    const value = params.items[i + 1];
    if (name.type !== 'atom' || name.section || name.value.toUpperCase() !== 'USE') {
      throw new ImapBadError(`Unknown CREATE parameter ${name.type === 'atom' ? name.value.slice(0, 30) : ''}`.trimEnd());
    }
    if (uses !== null) throw new ImapBadError('USE given twice');
    if (value?.type !== 'list') throw new ImapBadError('USE needs a list of special-use attributes');
    uses = value.items.map((item) => {
      if (item.type !== 'atom' || item.section || !/^\\[A-Za-z0-9]+$/.test(item.value)) throw new ImapBadError('Invalid special-use attribute');
      return item.value;
    });
  }
  return uses;
}

/**
 * The role of the requested uses; `NO [USEATTR]` when unsupported or several. Whether another
 * mailbox holds it is the store's to decide (atomically, so of concurrent creates one wins).
 */
function roleOf(uses: readonly string[]): MailboxRole | undefined {
  if (uses.length === 0) return undefined;
  // A mailbox has at most one role here (the JMAP model: one role per mailbox, one mailbox per role).
  if (uses.length > 1) throw new ImapNoError('Only one special use per mailbox is supported', 'USEATTR');
  const role = CREATABLE_USES.get(uses[0].toUpperCase());
  if (!role) throw new ImapNoError(`Special use ${uses[0].slice(0, 30)} is not supported`, 'USEATTR');
  return role;
}

/**
 * RFC 3501 §6.3.3: missing parents are created too; `NO [ALREADYEXISTS]` when it exists; `OK
 * [MAILBOXID (id)]` (RFC 8474). CREATE-SPECIAL-USE (RFC 6154 §3): `CREATE name (USE (\Drafts))`
 * assigns the role, refused with `NO [USEATTR]` (and nothing created) when it cannot be. A name
 * sent in UTF-8 not in NFC is answered with a LIST response carrying OLDNAME (RFC 9051 §5.1).
 */
export const create: ImapCommand = {
  name: 'CREATE',
  states: ['authenticated', 'selected'],
  needsManager: true,
  async handler({ args, session }) {
    expectArgs(args, 1, 2, 'CREATE <mailbox> [(USE (<special-use>...))]');
    const name = createNameArg(args[0], session.utf8Names());
    const uses = args.length === 2 ? useOf(args[1]) : null;
    // A special use is the owner's choice: not assignable through the other users' namespace.
    if (uses && uses.length > 0 && typeof name !== 'string') throw new ImapNoError('Special uses apply to your own mailboxes only', 'USEATTR');
    const role = uses ? roleOf(uses) : undefined;
    let mailbox;
    try {
      mailbox = await session.requireManager().createMailbox(session.user as string, name, role ? { role } : undefined);
    } catch (err) {
      // Nothing was created (the store undoes a refused create, its new parents included).
      if (err instanceof MailboxRoleTakenError && uses) throw new ImapNoError(`Special use ${uses[0].slice(0, 30)} is already held by another mailbox`, 'USEATTR');
      throw err;
    }
    await announceOldName(session, args[0], name, true);
    // RFC 8474 §4.1: the new mailbox's id in the tagged OK.
    return ok('CREATE completed', session.capabilities().includes('OBJECTID') ? `MAILBOXID (${objectId(mailbox.id)})` : undefined);
  },
};
