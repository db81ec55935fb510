/**
 * Recipient rewrite table model (James `Mapping` / `MappingSource`). Pure module.
 *
 * A source is either a mail address (`user@domain`) or a whole domain (`domain`, James'
 * `*@domain`); a mapping is a type and a value. Sources and address values are lower-case, domains
 * ASCII (punycode).
 */
export const MAPPING_TYPES = ['Regex', 'DomainAlias', 'Domain', 'Error', 'Forward', 'Group', 'Alias', 'Address'] as const;
export type MappingType = (typeof MAPPING_TYPES)[number];

export interface Mapping {
  type: MappingType;
  /**
   * Regex: `<pattern>:<replacement>` (`${1}` refers to a group); Domain/DomainAlias: the target
   * domain; Error: the error text; Forward/Group/Alias/Address: the target address.
   */
  value: string;
}

/** Mapping types whose value is a mail address. */
export const ADDRESS_MAPPING_TYPES: readonly MappingType[] = ['Forward', 'Group', 'Alias', 'Address'];
/** Mapping types whose value is a domain. */
export const DOMAIN_MAPPING_TYPES: readonly MappingType[] = ['Domain', 'DomainAlias'];

/** James' textual prefixes (`Mapping.Type.asPrefix()`), used when a mapping is shown as one string. */
const PREFIXES: Record<MappingType, string> = {
  Regex: 'regex:',
  DomainAlias: 'domainAlias:',
  Domain: 'domain:',
  Error: 'error:',
  Forward: 'forward:',
  Group: 'group:',
  Alias: 'alias:',
  Address: '',
};

export function isMappingType(value: string): value is MappingType {
  return (MAPPING_TYPES as readonly string[]).includes(value);
}

/** `forward:bob@example.com`, `domain:example.org`, `bob@example.com` (address). */
export function mappingAsString(mapping: Mapping): string {
  return PREFIXES[mapping.type] + mapping.value;
}

export function sameMapping(a: Mapping, b: Mapping): boolean {
  return a.type === b.type && a.value === b.value;
}

/** True when the source is a whole domain rather than one address. */
export function isDomainSource(source: string): boolean {
  return !source.includes('@');
}

/** Deterministic order of mappings: by type (James' declaration order), then value. */
export function compareMappings(a: Mapping, b: Mapping): number {
  const byType = MAPPING_TYPES.indexOf(a.type) - MAPPING_TYPES.indexOf(b.type);
  if (byType !== 0) return byType;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}
