import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * A throw-away self-signed certificate for `localhost`, made with the machine's openssl for one
 * test file; the key never leaves the temporary folder.
 */
export function selfSignedCertificate(): { certFile: string; keyFile: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'postflow-tls-'));
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', keyFile, '-out', certFile], {
    stdio: 'ignore',
  });
  return { certFile, keyFile, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
