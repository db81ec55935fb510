import type { ImapCommand } from '../types';
import { authenticate } from './authenticate';
import { capability } from './capability';
import { examine } from './examine';
import { fetch } from './fetch';
import { list } from './list';
import { login } from './login';
import { logout } from './logout';
import { noop } from './noop';
import { select } from './select';
import { uid } from './uid';
import { unselect } from './unselect';

/** The commands the server implements, by upper-case name. */
export const COMMANDS: ReadonlyMap<string, ImapCommand> = new Map(
  [capability, noop, logout, login, authenticate, list, select, examine, fetch, uid, unselect].map((command) => [command.name, command]),
);
