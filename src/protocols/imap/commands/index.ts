import type { ImapCommand } from '../types';
import { authenticate } from './authenticate';
import { capability } from './capability';
import { check } from './check';
import { compress } from './compress';
import { enable } from './enable';
import { id } from './id';
import { idle } from './idle';
import { namespace } from './namespace';
import { search } from './search';
import { status } from './status';
import { examine } from './examine';
import { fetch } from './fetch';
import { deleteacl, getacl, listrights, myrights, setacl } from './acl';
import { append } from './append';
import { copy, move } from './copy';
import { create } from './create';
import { deleteCommand } from './delete';
import { close, expunge } from './expunge';
import { list, lsub } from './list';
import { rename } from './rename';
import { sort } from './sort';
import { thread } from './thread';
import { getmetadata, setmetadata } from './metadata';
import { store } from './store';
import { subscribe, unsubscribe } from './subscribe';
import { login } from './login';
import { logout } from './logout';
import { noop } from './noop';
import { select } from './select';
import { starttls } from './starttls';
import { uid } from './uid';
import { unselect } from './unselect';
import { getquota, getquotaroot, setquota } from './quota';

/** The commands the server implements, by upper-case name. */
export const COMMANDS: ReadonlyMap<string, ImapCommand> = new Map(
  [capability, noop, logout, login, authenticate, list, select, examine, fetch, uid, unselect, enable, id, namespace, check, idle, status, search, compress, starttls, create, deleteCommand, rename, subscribe, unsubscribe, lsub, append, store, expunge, close, copy, move, setacl, deleteacl, getacl, listrights, myrights, sort, thread, getmetadata, setmetadata, getquota, getquotaroot, setquota].map((command) => [command.name, command]),
);
