import { domainPart, localPartOf, tryNormalizeAddress } from '../domains/domain-name';
import type { DelegationStore } from '../users/api/delegation-store';
import { MAPPING_LIMIT, type RecipientRewriteTable } from './recipient-rewrite-table';

/**
 * Which addresses a user may send from (James' CanSendFrom + AliasReverseResolver, plus
 * delegation): their own address, their aliases, those addresses in every domain aliased to their
 * domain, and the same for each account that delegated to them. Used by SMTP submission (MAIL
 * FROM) and later JMAP `Identity`.
 */
export class SenderAuthorization {
  constructor(
    private readonly rrt: RecipientRewriteTable,
    private readonly delegations: DelegationStore,
  ) {}

  async canSendFrom(user: string, from: string): Promise<boolean> {
    const address = tryNormalizeAddress(from);
    if (address === null) return false;
    const connected = user.toLowerCase();
    if (address === connected) return true;
    const owners = [connected, ...(await this.delegations.delegatedUsers(connected))];
    if (owners.includes(address)) return true;
    try {
      const resolved = await this.rrt.resolve(address, ['Alias', 'DomainAlias']);
      return resolved.some((m) => owners.includes(m.address));
    } catch {
      // An error mapping or a loop on the address: it cannot be anybody's sending address.
      return false;
    }
  }

  /** Every address the user may send from, sorted. */
  async allowedFromAddresses(user: string): Promise<string[]> {
    const connected = user.toLowerCase();
    const owners = [connected, ...(await this.delegations.delegatedUsers(connected))];
    const addresses = new Set<string>();
    for (const owner of owners) for (const address of await this.addressesOf(owner)) addresses.add(address);
    return [...addresses].sort();
  }

  private async addressesOf(user: string): Promise<string[]> {
    const aliases = await this.iterate(user, (target) => this.rrt.listSources('Alias', target));
    const result = new Set<string>();
    const domainsOf = new Map<string, string[]>();
    for (const alias of aliases) {
      if (!alias.includes('@')) continue;
      const domain = domainPart(alias);
      if (!domainsOf.has(domain)) domainsOf.set(domain, await this.iterate(domain, (target) => this.rrt.listSources('DomainAlias', target)));
      for (const aliasDomain of domainsOf.get(domain) as string[]) result.add(`${localPartOf(alias)}@${aliasDomain}`);
    }
    return [...result];
  }

  /** The start and everything reachable backwards through `next`, at most MAPPING_LIMIT levels deep. */
  private async iterate(start: string, next: (value: string) => Promise<string[]>): Promise<string[]> {
    const seen = new Set<string>([start]);
    let frontier = [start];
    for (let level = 0; level < MAPPING_LIMIT && frontier.length > 0; level++) {
      const following: string[] = [];
      for (const value of frontier) {
        for (const source of await next(value)) {
          if (!seen.has(source)) {
            seen.add(source);
            following.push(source);
          }
        }
      }
      frontier = following;
    }
    return [...seen];
  }
}
