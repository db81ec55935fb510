import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import type { Logger } from 'pino';
import { ConnectionRegistry, type ConnectionLimits } from './connection-registry';
import { COMMAND_COMPLETION_TIMEOUT_MS, IDLE_TIMEOUT_MS, SHUTDOWN_GRACE_MS } from './limits';
import { ImapSession, type SessionTimeouts } from './session';
import type { ImapDeps } from './types';

export interface ImapServerOptions {
  host: string;
  /** 0 picks a free port (see `listen()`'s result). */
  port: number;
  /** Parent of the per-connection loggers; defaults to `deps.logger`. */
  logger?: Logger;
  /** Connection limits; defaults to MAX_CONNECTIONS_PER_IP / MAX_CONNECTIONS_PER_USER. */
  connectionLimits?: ConnectionLimits;
  /** Session timeouts; default IDLE_TIMEOUT_MS and COMMAND_COMPLETION_TIMEOUT_MS (tests shorten them). */
  timeouts?: Partial<SessionTimeouts>;
  /** RFC 8314 implicit TLS (993-like): TLS from the first byte with this certificate. */
  implicitTls?: Pick<TlsOptions, 'key' | 'cert' | 'minVersion'>;
}

export interface ImapServer {
  listen(): Promise<{ port: number }>;
  /** Stops accepting, ends every open connection with `* BYE` and resolves once all are closed. */
  close(): Promise<void>;
}

/** An IMAP4rev1 server (plain TCP) over the mailbox and blob ports. */
export function createImapServer(deps: ImapDeps, options: ImapServerOptions): ImapServer {
  const log = (options.logger ?? deps.logger).child({ component: 'imap' });
  const sessions = new Set<ImapSession>();
  const registry = new ConnectionRegistry(options.connectionLimits);
  const timeouts: SessionTimeouts = { idleMs: IDLE_TIMEOUT_MS, commandCompletionMs: COMMAND_COMPLETION_TIMEOUT_MS, ...options.timeouts };
  // Half-open: a client may send LOGOUT and shut its side at once; its responses are still written.
  const onConnection = (socket: Socket) => {
    // A response is several writes (FETCH line, literal, tagged line): without this, Nagle's
    // algorithm and the peer's delayed ACK hold each command ~40 ms.
    socket.setNoDelay(true);
    const remoteAddress = socket.remoteAddress ?? 'unknown';
    const connectionLog = log.child({ cid: randomBytes(6).toString('base64url') });
    if (!registry.openFrom(remoteAddress)) {
      connectionLog.warn({ remoteAddress }, 'IMAP connection refused: too many connections from this address');
      socket.on('error', () => undefined);
      socket.end('* BYE [LIMIT] Too many connections from your address\r\n');
      setTimeout(() => socket.destroy(), SHUTDOWN_GRACE_MS).unref();
      return;
    }
    socket.once('close', () => registry.closeFrom(remoteAddress));
    connectionLog.info({ remoteAddress, remotePort: socket.remotePort }, 'IMAP connection opened');
    const session = new ImapSession(socket, deps, connectionLog, remoteAddress, registry, timeouts);
    sessions.add(session);
    void session.closed.then(() => {
      sessions.delete(session);
      connectionLog.info('IMAP connection closed');
    });
    void session.run();
  };
  const server = options.implicitTls
    ? createTlsServer({ allowHalfOpen: true, ...options.implicitTls }, onConnection)
    : createServer({ allowHalfOpen: true }, onConnection);
  server.on('error', (err) => log.error({ err }, 'IMAP server error'));

  return {
    listen() {
      return new Promise((resolve, reject) => {
        const onError = (err: Error): void => reject(err);
        server.once('error', onError);
        server.listen(options.port, options.host, () => {
          server.off('error', onError);
          const port = (server.address() as AddressInfo).port;
          log.info({ host: options.host, port }, 'IMAP server listening');
          resolve({ port });
        });
      });
    },
    async close() {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      const open = [...sessions];
      for (const session of open) session.shutdown('Server shutting down');
      await Promise.all([stopped, ...open.map((session) => session.closed)]);
    },
  };
}
