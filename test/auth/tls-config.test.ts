import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, parseConfig } from '../../src/config/load-config';
import { loadTls } from '../../src/tls/tls-config';
import { selfSignedCertificate } from './tls-fixture';

describe('TLS and identity configuration', () => {
  let cert: ReturnType<typeof selfSignedCertificate>;

  beforeAll(() => {
    cert = selfSignedCertificate();
  });

  afterAll(() => cert.cleanup());

  it('has no TLS when neither file is set, and loads a certificate and its key', () => {
    expect(loadTls({ certFile: '', keyFile: '' })).toBeNull();
    const material = loadTls(cert);
    expect(material?.cert.toString()).toContain('BEGIN CERTIFICATE');
  });

  it('stops start-up naming the key when only one file is set, a file is missing, or the key does not match', () => {
    expect(() => loadTls({ certFile: cert.certFile, keyFile: '' })).toThrow(new ConfigError('tls.certFile and tls.keyFile: set both (PEM files) or neither'));
    expect(() => loadTls({ certFile: cert.certFile, keyFile: '/nonexistent/key.pem' })).toThrow(/tls.keyFile: cannot read/);
    const garbage = path.join(path.dirname(cert.keyFile), 'garbage.pem');
    writeFileSync(garbage, 'not a key');
    expect(() => loadTls({ certFile: cert.certFile, keyFile: garbage })).toThrow(/not a valid PEM certificate and matching key/);
  });

  it('validates the identity settings and names the key on a bad value', () => {
    const defaults = parseConfig({});
    expect(defaults.auth.plainTextAuth).toBe('loopback');
    expect(defaults.smtp.submissionPort).toBe(2587);
    expect(defaults.users.repository).toBe('local');
    expect(() => parseConfig({ auth: { plainTextAuth: 'sometimes' } })).toThrow(/auth.plainTextAuth/);
    expect(() => parseConfig({ ldap: { url: 'http://directory' } })).toThrow(/ldap.url: an ldap:\/\/ or ldaps:\/\/ URL/);
    expect(() => parseConfig({ ldap: { filter: 'uid=*' } })).toThrow(/ldap.filter/);
    expect(() => parseConfig({ users: { repository: 'ad' } })).toThrow(/users.repository/);
  });
});
