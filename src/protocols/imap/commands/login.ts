import { ok, type TaggedResult } from '../response';
import type { ImapSession } from '../session';
import type { ImapCommand } from '../types';
import { astringArg, expectArgs } from './args';

/**
 * Checks the credentials and enters the authenticated state. Unknown user and wrong password get
 * the same answer, so the reply does not reveal which accounts exist.
 */
export async function completeLogin(session: ImapSession, username: string, password: string, command: string, authorizationId?: string): Promise<TaggedResult> {
  // RFC 9051 §7.1: PRIVACYREQUIRED when credentials may not travel in clear here (LOGINDISABLED).
  if (!session.plainTextAllowed) return { status: 'NO', code: 'PRIVACYREQUIRED', text: 'Plain-text authentication requires TLS: use STARTTLS or the implicit-TLS port' };
  const user = await session.deps.authenticate(username, password, session.remoteAddress, authorizationId ? { authorizationId } : undefined);
  if (user === null) {
    session.log.info({ username }, 'IMAP authentication failed');
    session.loginFailed();
    return { status: 'NO', code: 'AUTHENTICATIONFAILED', text: 'Invalid credentials' };
  }
  session.loggedIn(user);
  return ok(`${command} completed`, `CAPABILITY ${session.capabilities().join(' ')}`);
}

/** RFC 3501 §6.2.3. */
export const login: ImapCommand = {
  name: 'LOGIN',
  states: ['not-authenticated'],
  async handler({ args, session }) {
    expectArgs(args, 2, 2, 'LOGIN <user> <password>');
    return completeLogin(session, astringArg(args[0], 'user name'), astringArg(args[1], 'password'), 'LOGIN');
  },
};
