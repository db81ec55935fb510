import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { TemporaryError, errorMessage } from '../core/errors';
import { tryNormalizeAddress } from '../domains/domain-name';
import type { DelegationStore } from '../users/api/delegation-store';
import type { UserDirectory } from '../users/api/user-directory';
import type { LoginFailureStore } from './api/login-failure-store';
import { LoginThrottle, type ThrottleSettings } from './login-throttle';
import { SharedLoginThrottle } from './shared-login-throttle';

export type PlainTextAuthPolicy = 'always' | 'loopback' | 'never';

export interface AuthSettings extends ThrottleSettings {
  /** Where credentials may travel without TLS: everywhere, only from loopback clients, or nowhere. */
  plainTextAuth: PlainTextAuthPolicy;
  /**
   * Every failed attempt is answered after this delay (slows guessing over one connection and
   * hides the cost difference of the checks). 0 in tests.
   */
  failureDelayMs: number;
}

export interface AuthRequest {
  /** Authentication identity (SASL authcid / LOGIN user name). */
  username: string;
  password: string;
  /** SASL authorization identity: the account to act as (delegation); empty or absent for the same. */
  authorizationId?: string;
  remoteAddress: string;
  protocol: 'smtp' | 'imap' | 'pop3' | 'jmap' | 'webadmin';
}

export type AuthResult =
  | { ok: true; /** The account the session acts as. */ user: string; /** Whose credentials were checked. */ authenticatedAs: string }
  | { ok: false; reason: 'invalid' | 'throttled' | 'not-authorized' | 'unavailable' };

/**
 * The one authentication service of SMTP AUTH, IMAP LOGIN/AUTHENTICATE and later POP3/JMAP:
 * checks the credentials against the users directory (constant-time comparisons, same work for
 * unknown accounts), throttles repeated failures per account and per remote address, logs every
 * failure (never the password), and applies delegation for SASL authorization identities.
 */
export class AuthService {
  private readonly throttle: LoginThrottle | SharedLoginThrottle;

  constructor(
    private readonly directory: UserDirectory,
    private readonly delegations: DelegationStore,
    private readonly settings: AuthSettings,
    private readonly logger: Logger,
    now?: () => number,
    /** Failures shared by the nodes of a cluster; in this process only when absent. */
    sharedFailures?: LoginFailureStore,
  ) {
    this.throttle = sharedFailures ? new SharedLoginThrottle(settings, sharedFailures, now) : new LoginThrottle(settings, now);
  }

  /** True when plain-text credentials (LOGIN, PLAIN) may be sent over this connection. */
  plainTextAllowed(remoteAddress: string, secure: boolean): boolean {
    if (secure) return true;
    switch (this.settings.plainTextAuth) {
      case 'always':
        return true;
      case 'never':
        return false;
      default:
        return isLoopback(remoteAddress);
    }
  }

  async authenticate(request: AuthRequest): Promise<AuthResult> {
    const account = tryNormalizeAddress(request.username) ?? request.username.toLowerCase().slice(0, 320);
    const log = this.logger.child({ protocol: request.protocol, username: account, remoteAddress: request.remoteAddress });
    const blocked = await this.throttle.blocked(account, request.remoteAddress);
    if (blocked) {
      log.warn({ throttledBy: blocked }, 'login refused: too many failed attempts');
      await this.delay();
      return { ok: false, reason: 'throttled' };
    }
    let verdict: 'ok' | 'invalid' | 'disabled';
    try {
      // An invalid user name is still checked (against nobody), so it costs the same time.
      verdict = await this.directory.verify(tryNormalizeAddress(request.username) ?? '', request.password);
    } catch (err) {
      if (!(err instanceof TemporaryError)) throw err;
      log.error({ err: errorMessage(err) }, 'login failed: users directory unavailable');
      return { ok: false, reason: 'unavailable' };
    }
    if (verdict !== 'ok') {
      await this.throttle.recordFailure(account, request.remoteAddress);
      log.info({ disabled: verdict === 'disabled' || undefined }, 'login failed');
      await this.delay();
      return { ok: false, reason: 'invalid' };
    }
    await this.throttle.recordSuccess(account);
    const authzid = request.authorizationId ? tryNormalizeAddress(request.authorizationId) : null;
    if (request.authorizationId && authzid !== account) {
      if (authzid === null || !(await this.delegations.authorizedUsers(authzid)).includes(account)) {
        log.warn({ authorizationId: request.authorizationId }, 'login refused: not allowed to act as this account');
        return { ok: false, reason: 'not-authorized' };
      }
      log.info({ actingAs: authzid }, 'login as a delegated account');
      return { ok: true, user: authzid, authenticatedAs: account };
    }
    log.debug('login');
    return { ok: true, user: account, authenticatedAs: account };
  }

  private async delay(): Promise<void> {
    if (this.settings.failureDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.settings.failureDelayMs));
  }
}

function isLoopback(address: string): boolean {
  const bare = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1';
}
