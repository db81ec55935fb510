import type { Logger } from 'pino';
import { InvalidInputError } from '../core/errors';
import type { DomainList } from '../domains/api/domain-list';
import { domainPart, localPartOf, normalizeAddress, normalizeDomain, tryNormalizeAddress } from '../domains/domain-name';
import {
  ADDRESS_MAPPING_TYPES,
  compareMappings,
  isDomainSource,
  mappingAsString,
  sameMapping,
  type Mapping,
  type MappingType,
} from './api/mapping';
import type { RecipientRewriteTableStore } from './api/recipient-rewrite-table-store';
import { ErrorMappingError, MappingConflictError, SourceDomainNotManagedError, TooManyMappingsError } from './errors';
import { applyRegexMapping, parseRegexMapping, RegexTimeoutError, validateRegexMapping } from './regex';

/** James' default `mappingLimit`: recursion deeper than this is a loop (554 Too many mappings). */
export const MAPPING_LIMIT = 10;
/**
 * Most addresses one recipient may expand to (groups of groups multiply). The expanded list travels
 * in the mail's workflow payload, which Temporal bounds (2 MB); 1,000 addresses stay far below.
 */
export const MAX_RESOLVED_ADDRESSES = 1_000;
/** Longest error mapping text: it ends up in an SMTP reply line (RFC 5321 §4.5.3.1.5: 512 octets). */
export const MAX_ERROR_MAPPING_LENGTH = 400;
/** James' text when the recursion limit is hit. */
export const TOO_MANY_MAPPINGS = '554 Too many mappings to process';

/** A mapping as resolved for one recipient: its address and the type that produced it. */
export interface ResolvedMapping {
  type: MappingType;
  address: string;
}

export interface RecipientRewriteTableDeps {
  store: RecipientRewriteTableStore;
  domains: DomainList;
  /** True when the address is an existing account (aliases and groups must not shadow one). */
  userExists(address: string): Promise<boolean>;
  logger: Logger;
}

/** Mapping processing must stop and the recipient stays unchanged (James' SkipMappingProcessingException). */
class SkipMapping extends Error {}

/**
 * James' RecipientRewriteTable on top of the storage port: typed writes with James' validations
 * (managed source domain, valid targets, same source and destination, loops refused when written)
 * and recursive resolution (exact address, then `*@domain`; at most MAPPING_LIMIT levels).
 */
export class RecipientRewriteTable {
  constructor(private readonly deps: RecipientRewriteTableDeps) {}

  // ---------------------------------------------------------------------------------------------
  // resolution

  /**
   * The addresses the recipient is rewritten to, or an empty list when no mapping applies (the
   * recipient stays as it is). Throws ErrorMappingError for an error mapping and
   * TooManyMappingsError past the recursion limit (a loop).
   */
  async resolve(address: string, types?: readonly MappingType[]): Promise<ResolvedMapping[]> {
    const resolved = await this.resolveLevel(address.toLowerCase(), MAPPING_LIMIT, types);
    const seen = new Set<string>();
    return resolved.filter((m) => (seen.has(m.address) ? false : (seen.add(m.address), true)));
  }

  /** The final recipients of `address`: itself when unmapped. Same errors as `resolve`. */
  async rewriteRecipient(address: string): Promise<string[]> {
    const resolved = await this.resolve(address);
    return resolved.length === 0 ? [address.toLowerCase()] : resolved.map((m) => m.address);
  }

  /** Stored mappings of the address, else of its domain (James' `mapAddress`). */
  async mapAddress(address: string): Promise<Mapping[]> {
    const exact = await this.deps.store.getMappings(address);
    if (exact.length > 0) return exact;
    return this.deps.store.getMappings(domainPart(address));
  }

  private async resolveLevel(address: string, remaining: number, types: readonly MappingType[] | undefined): Promise<ResolvedMapping[]> {
    if (remaining === 0) throw new TooManyMappingsError(TOO_MANY_MAPPINGS);
    const stored = (await this.mapAddress(address)).filter((m) => !types || types.includes(m.type));
    const result: ResolvedMapping[] = [];
    try {
      for (const mapping of stored) {
        const rewritten = this.rewrite(mapping, address);
        if (rewritten === null) continue;
        const kept: ResolvedMapping = { type: ADDRESS_MAPPING_TYPES.includes(mapping.type) && mapping.type !== 'Address' ? mapping.type : 'Address', address: rewritten };
        if (rewritten === address) {
          // Identity: a forward, group or alias listing its own source keeps a local copy; other types stop here.
          if (mapping.type === 'Forward' || mapping.type === 'Group' || mapping.type === 'Alias') result.push(kept);
          else throw new SkipMapping();
        } else {
          const children = await this.resolveLevel(rewritten, remaining - 1, types);
          result.push(...(children.length === 0 ? [kept] : children));
        }
        if (result.length > MAX_RESOLVED_ADDRESSES) throw new TooManyMappingsError(`${TOO_MANY_MAPPINGS}: more than ${MAX_RESOLVED_ADDRESSES} addresses`);
      }
    } catch (err) {
      if (err instanceof SkipMapping) return [];
      throw err;
    }
    return result;
  }

  /** James' `Mapping.rewriteUser` followed by `withDefaultDomainFromUser`; null when the mapping does not apply. */
  private rewrite(mapping: Mapping, address: string): string | null {
    let target: string | null;
    switch (mapping.type) {
      case 'Error':
        throw new ErrorMappingError(mapping.value);
      case 'Regex':
        try {
          target = applyRegexMapping(parseRegexMapping(mapping.value), address);
        } catch (err) {
          if (err instanceof RegexTimeoutError) throw new ErrorMappingError(`451 ${err.message}`);
          throw err;
        }
        break;
      case 'Domain':
      case 'DomainAlias':
        target = `${localPartOf(address)}@${mapping.value}`;
        break;
      default:
        target = mapping.value;
    }
    if (target === null) return null;
    if (!target.includes('@')) target = `${target}@${domainPart(address)}`;
    const normalized = tryNormalizeAddress(target);
    if (normalized === null) {
      this.deps.logger.warn({ address, mapping: mappingAsString(mapping), target }, 'RRT mapping produced an invalid address; ignoring it');
    }
    return normalized;
  }

  // ---------------------------------------------------------------------------------------------
  // writes (James' AbstractRecipientRewriteTable checks)

  async addAddressMapping(source: string, address: string): Promise<void> {
    await this.addAddressLike(source, 'Address', address);
  }

  async addForwardMapping(source: string, address: string): Promise<void> {
    await this.addAddressLike(source, 'Forward', address);
  }

  async addGroupMapping(source: string, address: string): Promise<void> {
    await this.addAddressLike(source, 'Group', address);
  }

  async addAliasMapping(source: string, address: string): Promise<void> {
    await this.addAddressLike(source, 'Alias', address);
  }

  async addRegexMapping(rawSource: string, regex: string): Promise<void> {
    const source = normalizeSource(rawSource);
    validateRegexMapping(regex);
    await this.checkSourceDomainManaged(source);
    await this.store(source, { type: 'Regex', value: regex });
  }

  async addErrorMapping(rawSource: string, error: string): Promise<void> {
    const source = normalizeSource(rawSource);
    if (typeof error !== 'string' || error.trim().length === 0) throw new InvalidInputError('The error mapping text is empty');
    if (error.length > MAX_ERROR_MAPPING_LENGTH) throw new InvalidInputError(`The error mapping text is longer than ${MAX_ERROR_MAPPING_LENGTH} characters`);
    if (/[\r\n\0]/.test(error)) throw new InvalidInputError('The error mapping text contains a line break or NUL');
    await this.checkSourceDomainManaged(source);
    await this.store(source, { type: 'Error', value: error });
  }

  async addDomainMapping(sourceDomain: string, targetDomain: string): Promise<void> {
    await this.addDomainLike('Domain', sourceDomain, targetDomain);
  }

  async addDomainAliasMapping(sourceDomain: string, targetDomain: string): Promise<void> {
    await this.addDomainLike('DomainAlias', sourceDomain, targetDomain);
  }

  /** Removes a mapping given as the user typed it (normalized like when it was added). No-op when missing. */
  async removeMapping(rawSource: string, type: MappingType, value: string): Promise<void> {
    const source = normalizeSource(rawSource);
    await this.deps.store.removeMapping(source, { type, value: normalizeMappingValue(type, value) });
    this.deps.logger.info({ source, mapping: `${type}:${value}` }, 'RRT mapping removed');
  }

  getStoredMappings(rawSource: string): Promise<Mapping[]> {
    return this.deps.store.getMappings(normalizeSource(rawSource));
  }

  listAll(): Promise<Array<{ source: string; mappings: Mapping[] }>> {
    return this.deps.store.listAll();
  }

  /** Sources holding this mapping (e.g. the aliases of a user, the members' groups). */
  listSources(type: MappingType, value: string): Promise<string[]> {
    return this.deps.store.listSources({ type, value: normalizeMappingValue(type, value) });
  }

  /** Sources having at least one mapping of this type (`/address/groups`, `/address/forwards`). */
  async sourcesWithType(type: MappingType): Promise<string[]> {
    return (await this.deps.store.listAll()).filter((entry) => entry.mappings.some((m) => m.type === type)).map((entry) => entry.source);
  }

  private async addAddressLike(rawSource: string, type: MappingType, rawTarget: string): Promise<void> {
    const source = normalizeSource(rawSource);
    const target = normalizeMappingValue(type, rawTarget);
    const mapping: Mapping = { type, value: target };
    if ((await this.deps.store.getMappings(source)).some((m) => sameMapping(m, mapping))) return;
    if ((type === 'Alias' || type === 'Address') && source === target) throw new InvalidInputError("Source and destination can't be the same!");
    if (!isDomainSource(source) && (type === 'Alias' || type === 'Group') && (await this.deps.userExists(source))) {
      throw new MappingConflictError(`'${source}' already exists as a user and cannot be used as ${type === 'Alias' ? 'an alias' : 'a group'}`);
    }
    await this.checkSourceDomainManaged(source);
    if (source !== target) await this.assertNoLoop(source, [target]);
    await this.store(source, mapping);
  }

  private async addDomainLike(type: 'Domain' | 'DomainAlias', rawSource: string, rawTarget: string): Promise<void> {
    const source = normalizeDomain(rawSource);
    const target = normalizeDomain(rawTarget);
    if (source === target) throw new InvalidInputError('Source domain and destination domain can not be the same');
    await this.checkSourceDomainManaged(source);
    // A probe address shows whether the target domain leads back to the source domain.
    const probe = 'postflow-loop-probe';
    await this.assertNoLoop(`${probe}@${source}`, [`${probe}@${target}`]);
    await this.store(source, { type, value: target });
  }

  /** Refuses a mapping whose target resolves back to its source (James' assertNoLoop, plus the recursion limit). */
  private async assertNoLoop(source: string, targets: string[]): Promise<void> {
    for (const target of targets) {
      let reached: string[];
      try {
        reached = (await this.resolve(target)).map((m) => m.address);
      } catch (err) {
        if (err instanceof TooManyMappingsError) throw new MappingConflictError(`The mapping ${source} -> ${target} would lead to a loop (${err.message})`);
        if (err instanceof ErrorMappingError) continue;
        throw err;
      }
      if (reached.includes(source)) throw new MappingConflictError(`The mapping ${source} -> ${target} would lead to a loop and thus cannot be performed`);
    }
  }

  private async checkSourceDomainManaged(source: string): Promise<void> {
    const domain = isDomainSource(source) ? source : domainPart(source);
    if (!(await this.deps.domains.containsDomain(domain))) throw new SourceDomainNotManagedError(`Source domain '${domain}' is not managed by the domainList`);
  }

  private async store(source: string, mapping: Mapping): Promise<void> {
    await this.deps.store.addMapping(source, mapping);
    this.deps.logger.info({ source, mapping: mappingAsString(mapping) }, 'RRT mapping added');
  }
}

/** `user@domain` (an address) or `domain` / `*@domain` (a whole domain), canonical. */
export function normalizeSource(raw: string): string {
  if (typeof raw !== 'string') throw new InvalidInputError('The mapping source must be a string');
  const trimmed = raw.trim();
  if (trimmed.startsWith('*@')) return normalizeDomain(trimmed.slice(2));
  return trimmed.includes('@') ? normalizeAddress(trimmed) : normalizeDomain(trimmed);
}

/** Canonical value of a mapping of this type; throws InvalidInputError when it is not valid. */
export function normalizeMappingValue(type: MappingType, value: string): string {
  if (typeof value !== 'string') throw new InvalidInputError('The mapping value must be a string');
  switch (type) {
    case 'Domain':
    case 'DomainAlias':
      return normalizeDomain(value);
    case 'Regex':
    case 'Error':
      return value;
    default:
      return normalizeAddress(value);
  }
}

export { compareMappings };
