import net from 'node:net';

/**
 * Ports the tests give the servers they start: below Linux's ephemeral range (32768–60999 here),
 * from which both `listen(0)` and every outgoing connection take their ports. A port found free
 * with `listen(0)` could become the local port of another test's connection before the server
 * binds it (the likely cause of a Temporal dev server exiting at start in CI); one from this range
 * cannot.
 */
const TEST_PORTS = { first: 20_000, last: 32_767 } as const;

/** A port nothing listens on now on 127.0.0.1, outside the ephemeral range. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = TEST_PORTS.first + Math.floor(Math.random() * (TEST_PORTS.last - TEST_PORTS.first + 1));
    if (await canListen(port)) return port;
  }
  throw new Error(`No free port between ${TEST_PORTS.first} and ${TEST_PORTS.last}`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
