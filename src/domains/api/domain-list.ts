/** Local domains (James `DomainList`). Domain names are stored lower-case, ASCII (punycode). */
export interface DomainList {
  /** Adds the domain; adding an existing domain is a no-op (James' PUT is idempotent). */
  addDomain(domain: string): Promise<void>;
  removeDomain(domain: string): Promise<void>;
  containsDomain(domain: string): Promise<boolean>;
  listDomains(): Promise<string[]>;
}
