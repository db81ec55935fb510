import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext } from 'node:tls';
import { ConfigError } from '../config/load-config';

/** TLS material of the SMTP and IMAP listeners (configuration `tls.*`). */
export interface TlsSettings {
  /** PEM certificate chain; empty: no TLS (no STARTTLS, no implicit-TLS ports). */
  certFile: string;
  /** PEM private key of the certificate. */
  keyFile: string;
}

export interface TlsMaterial {
  key: Buffer;
  cert: Buffer;
  context: SecureContext;
}

/**
 * RFC 8996 / RFC 8997: TLS 1.0 and 1.1 are deprecated; mail clients of the last decade speak 1.2+.
 */
export const MIN_TLS_VERSION = 'TLSv1.2';

/**
 * Reads the certificate and key once at start-up. Returns null when TLS is not configured; throws
 * ConfigError naming the key when a file cannot be read or the pair is not valid.
 */
export function loadTls(settings: TlsSettings): TlsMaterial | null {
  if (!settings.certFile && !settings.keyFile) return null;
  if (!settings.certFile || !settings.keyFile) throw new ConfigError('tls.certFile and tls.keyFile: set both (PEM files) or neither');
  const read = (key: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new ConfigError(`${key}: cannot read ${file}: ${(err as Error).message}`);
    }
  };
  const cert = read('tls.certFile', settings.certFile);
  const key = read('tls.keyFile', settings.keyFile);
  try {
    return { key, cert, context: createSecureContext({ key, cert, minVersion: MIN_TLS_VERSION }) };
  } catch (err) {
    throw new ConfigError(`tls.certFile / tls.keyFile: not a valid PEM certificate and matching key: ${(err as Error).message}`);
  }
}
