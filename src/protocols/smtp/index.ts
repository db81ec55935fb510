import type { TlsMaterial } from '../../tls/tls-config';
import { SmtpServer, type SmtpDeps } from './smtp-server';

export { SmtpServer, type SmtpDeps, type SmtpOptions } from './smtp-server';

export interface SmtpListenersConfig {
  host: string;
  hostname: string;
  maxMessageSize: number;
  /** MX listener (25-like). */
  port: number;
  /** Submission listener (587-like, AUTH required); null: none. */
  submissionPort: number | null;
  /** Implicit-TLS submission listener (465-like); started only when TLS is configured; null: none. */
  tlsPort: number | null;
  tls: TlsMaterial | null;
}

export interface SmtpListeners {
  ports: { smtp: number; submission?: number; smtps?: number };
  close(): Promise<void>;
}

/** Starts the MX, submission and implicit-TLS submission listeners; on failure, closes those already started. */
export async function startSmtpListeners(deps: SmtpDeps, config: SmtpListenersConfig): Promise<SmtpListeners> {
  const started: SmtpServer[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(started.map((server) => server.close()));
  };
  const base = { host: config.host, hostname: config.hostname, maxMessageSize: config.maxMessageSize, tls: config.tls };
  try {
    const mx = new SmtpServer(deps, { ...base, port: config.port, mode: 'mx' });
    const ports: SmtpListeners['ports'] = { smtp: await mx.listen() };
    started.push(mx);
    if (config.submissionPort !== null) {
      const submission = new SmtpServer(deps, { ...base, port: config.submissionPort, mode: 'submission' });
      ports.submission = await submission.listen();
      started.push(submission);
    }
    if (config.tlsPort !== null && config.tls) {
      const smtps = new SmtpServer(deps, { ...base, port: config.tlsPort, mode: 'submission', implicitTls: true });
      ports.smtps = await smtps.listen();
      started.push(smtps);
    }
    return { ports, close };
  } catch (err) {
    await close();
    throw err;
  }
}
