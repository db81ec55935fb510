import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { InvalidInputError, NotFoundError } from '../core/errors';
import type { RecipientRewriteTable } from '../rrt/recipient-rewrite-table';
import type { UserDirectory } from '../users/api/user-directory';
import type { DomainList } from './api/domain-list';
import { domainPart, normalizeDomain } from './domain-name';

export interface DomainSettings {
  /** James `defaultDomain`: always a local domain, cannot be removed. */
  defaultDomain: string;
  /** James `autodetect`: add this host's name to the local domains at start-up. */
  autoDetect: boolean;
}

/** Local domains and domain aliases (James DomainList + DomainAliasService). */
export class DomainService {
  constructor(
    private readonly domains: DomainList,
    private readonly rrt: RecipientRewriteTable,
    private readonly directory: UserDirectory,
    private readonly settings: DomainSettings,
    private readonly logger: Logger,
  ) {}

  /** Adds the default domain (and the detected host name) to the list; run once at start-up. */
  async ensureDefaults(): Promise<void> {
    await this.domains.addDomain(normalizeDomain(this.settings.defaultDomain));
    if (this.settings.autoDetect) {
      try {
        await this.domains.addDomain(normalizeDomain(hostname()));
      } catch (err) {
        this.logger.warn({ err, hostname: hostname() }, 'domain auto-detection: the host name is not a valid domain');
      }
    }
  }

  get defaultDomain(): string {
    return normalizeDomain(this.settings.defaultDomain);
  }

  list(): Promise<string[]> {
    return this.domains.listDomains();
  }

  async contains(domain: string): Promise<boolean> {
    try {
      return await this.domains.containsDomain(normalizeDomain(domain));
    } catch (err) {
      if (err instanceof InvalidInputError) return false;
      throw err;
    }
  }

  async add(rawDomain: string): Promise<string> {
    const domain = normalizeDomain(rawDomain);
    await this.domains.addDomain(domain);
    this.logger.info({ domain }, 'domain added');
    return domain;
  }

  /** Refused for the default domain and for a domain that still has users. */
  async remove(rawDomain: string): Promise<void> {
    const domain = normalizeDomain(rawDomain);
    if (domain === this.defaultDomain) throw new InvalidInputError(`${domain} is the default domain and cannot be removed`);
    const users = (await this.directory.list()).filter((user) => domainPart(user) === domain);
    if (users.length > 0) throw new InvalidInputError(`Domain ${domain} still has ${users.length} user(s); remove them first`);
    await this.domains.removeDomain(domain);
    this.logger.info({ domain }, 'domain removed');
  }

  /** Domains aliased to `destination` (James `GET /domains/{d}/aliases`). */
  async aliases(rawDestination: string): Promise<string[]> {
    const destination = normalizeDomain(rawDestination);
    const sources = await this.rrt.listSources('DomainAlias', destination);
    if (!(await this.domains.containsDomain(destination)) && sources.length === 0) {
      throw new NotFoundError(`The following domain is not in the domain list and has no registered local aliases: ${destination}`);
    }
    return sources;
  }

  /** `source` becomes an alias of `destination`: mail to user@source goes to user@destination. */
  async addAlias(rawDestination: string, rawSource: string): Promise<void> {
    const destination = normalizeDomain(rawDestination);
    const source = normalizeDomain(rawSource);
    if (source === destination) throw new InvalidInputError(`Source domain and destination domain can not have same value(${source})`);
    if (!(await this.domains.containsDomain(source))) throw new NotFoundError(`The domain list does not contain: ${source}`);
    await this.rrt.addDomainAliasMapping(source, destination);
  }

  async removeAlias(rawDestination: string, rawSource: string): Promise<void> {
    const destination = normalizeDomain(rawDestination);
    const source = normalizeDomain(rawSource);
    if (source === destination) throw new InvalidInputError(`Source domain and destination domain can not have same value(${source})`);
    if (!(await this.domains.containsDomain(source))) throw new NotFoundError(`The domain list does not contain: ${source}`);
    await this.rrt.removeMapping(source, 'DomainAlias', destination);
  }
}
