import { INBOX, MAILBOX_DELIMITER } from '../../../mailbox/api/mailbox-store';
import { ImapBadError } from '../errors';
import { compileListPattern, decodeMailboxName, encodeMailboxName, normalizeMailboxName } from '../mailbox-name';
import { formatString, ok } from '../response';
import type { ImapCommand } from '../types';
import { expectArgs, listMailboxArg } from './args';

/**
 * RFC 3501 §6.3.8, basic form: reference and pattern with the `*` and `%` wildcards. Levels of
 * the hierarchy that are not mailboxes themselves (`a` of `a.b`) are listed with `\Noselect`, so
 * clients can build the tree; `\HasChildren`/`\HasNoChildren` follow RFC 3348.
 */
export const list: ImapCommand = {
  name: 'LIST',
  states: ['authenticated', 'selected'],
  async handler({ args, session }) {
    expectArgs(args, 2, 2, 'LIST <reference> <mailbox pattern>');
    const reference = listMailboxArg(args[0], 'reference');
    const pattern = listMailboxArg(args[1], 'mailbox pattern');
    const delimiter = formatString(MAILBOX_DELIMITER);
    if (pattern === '') {
      // RFC 3501: an empty pattern asks for the hierarchy delimiter and the root of the reference.
      const root = reference.includes(MAILBOX_DELIMITER) ? reference.slice(0, reference.indexOf(MAILBOX_DELIMITER) + 1) : '';
      await session.untagged(`LIST (\\Noselect) ${delimiter} ${formatString(root)}`);
      return ok('LIST completed');
    }
    const decoded = decodeMailboxName(reference + pattern);
    if (decoded === null) throw new ImapBadError('Invalid mailbox name encoding');
    const matcher = compileListPattern(decoded, MAILBOX_DELIMITER);

    const mailboxes = await session.deps.mailboxes.listMailboxes(session.user as string);
    const names = new Map<string, boolean>();
    for (const mailbox of mailboxes) names.set(normalizeMailboxName(mailbox.name, MAILBOX_DELIMITER), true);
    for (const name of [...names.keys()]) {
      const levels = name.split(MAILBOX_DELIMITER);
      for (let depth = 1; depth < levels.length; depth++) {
        const ancestor = levels.slice(0, depth).join(MAILBOX_DELIMITER);
        if (!names.has(ancestor)) names.set(ancestor, false);
      }
    }
    const parents = new Set<string>();
    for (const name of names.keys()) {
      const last = name.lastIndexOf(MAILBOX_DELIMITER);
      if (last > 0) parents.add(name.slice(0, last));
    }
    const sorted = [...names.keys()].sort((a, b) => (a === INBOX ? -1 : b === INBOX ? 1 : a < b ? -1 : a > b ? 1 : 0));
    for (const name of sorted) {
      if (!matcher.test(name)) continue;
      const attributes = [names.get(name) ? null : '\\Noselect', parents.has(name) ? '\\HasChildren' : '\\HasNoChildren'];
      await session.untagged(`LIST (${attributes.filter((a) => a !== null).join(' ')}) ${delimiter} ${formatString(encodeMailboxName(name))}`);
    }
    return ok('LIST completed');
  },
};
