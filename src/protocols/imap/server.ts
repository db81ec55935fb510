import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { ImapSession } from './session';
import type { ImapDeps } from './types';

export interface ImapServerOptions {
  host: string;
  /** 0 picks a free port (see `listen()`'s result). */
  port: number;
  /** Parent of the per-connection loggers; defaults to `deps.logger`. */
  logger?: Logger;
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
  // Half-open: a client may send LOGOUT and shut its side at once; its responses are still written.
  const server = createServer({ allowHalfOpen: true }, (socket: Socket) => {
    const remoteAddress = socket.remoteAddress ?? 'unknown';
    const connectionLog = log.child({ cid: randomBytes(6).toString('base64url') });
    connectionLog.info({ remoteAddress, remotePort: socket.remotePort }, 'IMAP connection opened');
    const session = new ImapSession(socket, deps, connectionLog, remoteAddress);
    sessions.add(session);
    void session.closed.then(() => {
      sessions.delete(session);
      connectionLog.info('IMAP connection closed');
    });
    void session.run();
  });
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
