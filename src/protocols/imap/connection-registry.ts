import { ImapNoError } from './errors';
import { MAX_CONNECTIONS_PER_IP, MAX_CONNECTIONS_PER_USER } from './limits';

export interface ConnectionLimits {
  perIp: number;
  perUser: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = { perIp: MAX_CONNECTIONS_PER_IP, perUser: MAX_CONNECTIONS_PER_USER };

/** Counts the open connections of one server per remote address and per authenticated user. */
export class ConnectionRegistry {
  private readonly byIp = new Map<string, number>();
  private readonly byUser = new Map<string, number>();

  constructor(readonly limits: ConnectionLimits = DEFAULT_CONNECTION_LIMITS) {}

  /** False when the address holds its maximum already (the connection is refused). */
  openFrom(address: string): boolean {
    const count = this.byIp.get(address) ?? 0;
    if (count >= this.limits.perIp) return false;
    this.byIp.set(address, count + 1);
    return true;
  }

  closeFrom(address: string): void {
    decrement(this.byIp, address);
  }

  /** Claims one connection of the user; `NO [LIMIT]` when the user has the maximum already. */
  claimUser(user: string): void {
    const count = this.byUser.get(user) ?? 0;
    if (count >= this.limits.perUser) throw new ImapNoError('Too many connections for this user', 'LIMIT');
    this.byUser.set(user, count + 1);
  }

  releaseUser(user: string): void {
    decrement(this.byUser, user);
  }

  userConnections(user: string): number {
    return this.byUser.get(user) ?? 0;
  }
}

function decrement(map: Map<string, number>, key: string): void {
  const count = (map.get(key) ?? 0) - 1;
  if (count <= 0) map.delete(key);
  else map.set(key, count);
}
