import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Client } from 'ldapts';
import type { LdapConfig } from '../../src/users/ldap/ldap-user-directory';

/** The slapd `scripts/engines.sh up ldap` runs (test-only credentials, as in scripts/engines/slapd.conf). */
export const LDAP_URL = process.env.POSTFLOW_TEST_LDAP_URL ?? 'ldap://127.0.0.1:3389';
export const LDAP_ADMIN_DN = 'cn=admin,dc=postflow,dc=test';
export const LDAP_ADMIN_PASSWORD = 'postflow-ldap';
const PEOPLE = 'ou=people,dc=postflow,dc=test';

/**
 * One organizational unit per test run under `ou=people`, so runs never see each other's users;
 * `cleanup` deletes it with its entries.
 */
export class LdapFixture {
  readonly baseDn: string;
  private readonly dns: string[] = [];

  private constructor(private readonly admin: Client) {
    this.baseDn = `ou=run-${randomBytes(4).toString('hex')},${PEOPLE}`;
  }

  static async create(): Promise<LdapFixture> {
    await requireSlapd();
    const admin = new Client({ url: LDAP_URL, connectTimeout: 5_000, timeout: 10_000 });
    await admin.bind(LDAP_ADMIN_DN, LDAP_ADMIN_PASSWORD);
    const fixture = new LdapFixture(admin);
    await admin.add(fixture.baseDn, { objectClass: 'organizationalUnit', ou: fixture.baseDn.slice(3, fixture.baseDn.indexOf(',')) });
    return fixture;
  }

  config(overrides: Partial<LdapConfig> = {}): LdapConfig {
    return {
      url: LDAP_URL,
      bindDn: LDAP_ADMIN_DN,
      bindPassword: LDAP_ADMIN_PASSWORD,
      baseDn: this.baseDn,
      userIdAttribute: 'mail',
      userObjectClass: 'inetOrgPerson',
      filter: '',
      connectTimeoutMs: 5_000,
      timeoutMs: 10_000,
      ...overrides,
    };
  }

  /** Adds an inetOrgPerson with this mail address and password. */
  async addUser(mail: string, password: string, extra: Record<string, string> = {}): Promise<void> {
    const uid = `u${this.dns.length}-${randomBytes(3).toString('hex')}`;
    const dn = `uid=${uid},${this.baseDn}`;
    await this.admin.add(dn, { objectClass: ['inetOrgPerson'], uid, cn: mail, sn: 'Test', mail, userPassword: password, ...extra });
    this.dns.push(dn);
  }

  async cleanup(): Promise<void> {
    for (const dn of this.dns.splice(0)) await this.admin.del(dn).catch(() => undefined);
    await this.admin.del(this.baseDn).catch(() => undefined);
    await this.admin.unbind();
  }
}

async function requireSlapd(): Promise<void> {
  const { hostname, port } = new URL(LDAP_URL);
  const problem = await new Promise<string | null>((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || 389) });
    socket.setTimeout(3_000, () => (socket.destroy(), resolve('no answer within 3 s')));
    socket.once('connect', () => (socket.destroy(), resolve(null)));
    socket.once('error', (err) => resolve(err.message));
  });
  if (problem) throw new Error(`slapd not running: run bash scripts/engines.sh up ldap (${LDAP_URL}: ${problem})`);
}
