import { execFile, spawn } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A node boots in ~6–10 s here; beyond this it is reported as not starting. */
const START_TIMEOUT_MS = 60_000;

/**
 * A RabbitMQ node of one test file, on its own ports and data folder, so a test can really stop
 * and restart a broker without touching the shared node the other suites use. Needs the Debian
 * `rabbitmq-server` package (scripts/engines.sh installs it) and root (the package's wrapper
 * switches to the `rabbitmq` user).
 */
export class PrivateRabbitMqNode {
  private constructor(
    readonly nodeName: string,
    readonly port: number,
    private readonly distPort: number,
    private readonly dir: string,
  ) {}

  static async create(name: string): Promise<PrivateRabbitMqNode> {
    if (process.getuid?.() !== 0) throw new Error('a private RabbitMQ node needs root (rabbitmq-server switches to the rabbitmq user)');
    const dir = mkdtempSync(path.join(tmpdir(), 'postflow-rabbit-'));
    mkdirSync(path.join(dir, 'mnesia'));
    mkdirSync(path.join(dir, 'log'));
    writeFileSync(path.join(dir, 'enabled_plugins'), '[].');
    const { stdout } = await run('id', ['-u', 'rabbitmq']).catch(() => {
      throw new Error('the rabbitmq user does not exist: run bash scripts/engines.sh install rabbitmq');
    });
    const { stdout: gid } = await run('id', ['-g', 'rabbitmq']);
    for (const p of [dir, path.join(dir, 'mnesia'), path.join(dir, 'log'), path.join(dir, 'enabled_plugins')]) chownSync(p, Number(stdout), Number(gid));
    chmodSync(dir, 0o755);
    return new PrivateRabbitMqNode(`${name}@localhost`, await freePort(), await freePort(), dir);
  }

  get uri(): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}`;
  }

  /** Starts the node and resolves once it accepts AMQP connections. */
  async start(): Promise<void> {
    const child = spawn('rabbitmq-server', [], {
      cwd: this.dir,
      detached: true,
      stdio: 'ignore',
      env: {
        ...process.env,
        RABBITMQ_NODENAME: this.nodeName,
        RABBITMQ_NODE_PORT: String(this.port),
        RABBITMQ_DIST_PORT: String(this.distPort),
        RABBITMQ_MNESIA_BASE: path.join(this.dir, 'mnesia'),
        RABBITMQ_LOG_BASE: path.join(this.dir, 'log'),
        RABBITMQ_PID_FILE: path.join(this.dir, 'rabbit.pid'),
        RABBITMQ_ENABLED_PLUGINS_FILE: path.join(this.dir, 'enabled_plugins'),
      },
    });
    child.unref();
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await accepts(this.port))) {
      if (Date.now() > deadline) throw new Error(`RabbitMQ node ${this.nodeName} did not start within ${START_TIMEOUT_MS / 1000} s (logs in ${this.dir}/log)`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await run('rabbitmqctl', ['-q', '-n', this.nodeName, 'await_startup', '--timeout', '30']);
  }

  /** Stops the node (as `rabbitmqctl stop`: an orderly broker shutdown). */
  async stop(): Promise<void> {
    await run('rabbitmqctl', ['-q', '-n', this.nodeName, 'stop']).catch(() => undefined);
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(500, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
