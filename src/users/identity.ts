import type { Logger } from 'pino';
import type { LoginFailureStore } from '../auth/api/login-failure-store';
import { AuthService, type AuthSettings } from '../auth/auth-service';
import type { DomainList } from '../domains/api/domain-list';
import { DomainService, type DomainSettings } from '../domains/domain-service';
import { tryNormalizeAddress } from '../domains/domain-name';
import type { RecipientRewriteTableStore } from '../rrt/api/recipient-rewrite-table-store';
import { SenderAuthorization } from '../rrt/can-send-from';
import { TooManyMappingsError } from '../rrt/errors';
import { RecipientRewriteTable } from '../rrt/recipient-rewrite-table';
import type { DelegationStore } from './api/delegation-store';
import type { UserDirectory } from './api/user-directory';
import type { UsersRepository } from './api/users-repository';
import { LocalUserDirectory } from './local-user-directory';
import { UserService } from './user-service';

/** Users, domains, rewriting and authentication of one node, built once from the ports. */
export interface IdentityServices {
  directory: UserDirectory;
  users: UserService;
  domains: DomainService;
  rrt: RecipientRewriteTable;
  senders: SenderAuthorization;
  auth: AuthService;
  /** True when the address is an existing account. */
  userExists(address: string): Promise<boolean>;
  /** True when resolving the address through the RRT loops (IsSenderInRRTLoop). */
  isInRrtLoop(address: string): Promise<boolean>;
}

export const DEFAULT_DOMAIN_SETTINGS: DomainSettings = { defaultDomain: 'localhost', autoDetect: false };

/** James-like defaults; WebAdmin tests and the embedded profile use them unless configured. */
export const DEFAULT_AUTH_SETTINGS: AuthSettings = {
  plainTextAuth: 'loopback',
  maxFailuresPerAccount: 10,
  maxFailuresPerAddress: 30,
  windowSeconds: 15 * 60,
  failureDelayMs: 500,
};

export function createIdentityServices(options: {
  users: UsersRepository;
  domains: DomainList;
  rrt: RecipientRewriteTableStore;
  delegations: DelegationStore;
  /** Defaults to the local directory over `users`; the LDAP directory when configured. */
  directory?: UserDirectory;
  domainSettings?: DomainSettings;
  authSettings?: AuthSettings;
  /** Login failures shared by the nodes (distributed profile); per process when absent. */
  loginFailures?: LoginFailureStore;
  logger: Logger;
}): IdentityServices {
  const { logger } = options;
  const directory = options.directory ?? new LocalUserDirectory(options.users);
  const userExists = async (address: string): Promise<boolean> => {
    const username = tryNormalizeAddress(address);
    return username !== null && (await directory.contains(username));
  };
  const rrt = new RecipientRewriteTable({ store: options.rrt, domains: options.domains, userExists, logger: logger.child({ component: 'rrt' }) });
  return {
    directory,
    rrt,
    userExists,
    users: new UserService(directory, options.domains, rrt, options.delegations, logger.child({ component: 'users' })),
    domains: new DomainService(options.domains, rrt, directory, options.domainSettings ?? DEFAULT_DOMAIN_SETTINGS, logger.child({ component: 'domains' })),
    senders: new SenderAuthorization(rrt, options.delegations),
    auth: new AuthService(directory, options.delegations, options.authSettings ?? DEFAULT_AUTH_SETTINGS, logger.child({ component: 'auth' }), undefined, options.loginFailures),
    async isInRrtLoop(address: string): Promise<boolean> {
      try {
        await rrt.resolve(address);
        return false;
      } catch (err) {
        return err instanceof TooManyMappingsError;
      }
    },
  };
}
