import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { adminPut, startTestNode, type TestNode } from '../helpers/postflow';

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

/**
 * An embedded node as on a public interface: TLS with `cert`, credentials only inside TLS, the
 * submission and implicit-TLS ports open, no failure delay and 3 failures per account before the
 * throttle; `domain` and `users` (all with `password`) created through WebAdmin.
 */
export async function startTlsAuthNode(cert: { certFile: string; keyFile: string }, domain: string, users: readonly string[], password: string): Promise<TestNode> {
  const node = await startTestNode('embedded', {
    tls: { certFile: cert.certFile, keyFile: cert.keyFile },
    auth: { plainTextAuth: 'never', failureDelayMs: 0, maxFailuresPerAccount: 3 },
    smtp: { submissionPort: 0, tlsPort: 0 },
    imap: { tlsPort: 0 },
  });
  const answers = [await adminPut(node.webadmin, `/domains/${domain}`)];
  for (const user of users) answers.push(await adminPut(node.webadmin, `/users/${user}`, { password }));
  const failed = answers.find((a) => a.status !== 204);
  if (failed) {
    await node.stop();
    throw new Error(`setting up ${domain}: WebAdmin answered ${failed.status}`);
  }
  return node;
}
