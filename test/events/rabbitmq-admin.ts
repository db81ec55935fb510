import type { PostflowConfig } from '../../src/config/schema';

/**
 * RabbitMQ's management HTTP API, for tests: a vhost per test run (deleting it deletes every
 * queue and exchange of the run), and closing this run's connections by name — what a broker
 * restart looks like to a client, without restarting the broker other suites share.
 */
export class RabbitMqAdmin {
  private readonly base: string;
  private readonly auth: string;

  constructor(config: PostflowConfig, managementPort = 15672) {
    const url = new URL(config.rabbitmq.uri);
    this.base = `http://${url.hostname}:${managementPort}/api`;
    this.auth = 'Basic ' + Buffer.from(`${decodeURIComponent(url.username || 'guest')}:${decodeURIComponent(url.password || 'guest')}`).toString('base64');
  }

  /** Creates a vhost, grants the test user every permission on it, and returns the AMQP URI to use. */
  async createVhost(config: PostflowConfig, vhost: string): Promise<string> {
    const user = decodeURIComponent(new URL(config.rabbitmq.uri).username || 'guest');
    await this.request('PUT', `/vhosts/${encodeURIComponent(vhost)}`);
    await this.request('PUT', `/permissions/${encodeURIComponent(vhost)}/${encodeURIComponent(user)}`, { configure: '.*', write: '.*', read: '.*' });
    const url = new URL(config.rabbitmq.uri);
    url.pathname = `/${encodeURIComponent(vhost)}`;
    return url.toString();
  }

  async deleteVhost(vhost: string): Promise<void> {
    await this.request('DELETE', `/vhosts/${encodeURIComponent(vhost)}`, undefined, [404]);
  }

  /** Force-closes every connection whose client-provided name starts with `namePrefix`; returns how many. */
  async closeConnections(namePrefix: string): Promise<number> {
    const connections = (await (await this.request('GET', '/connections')).json()) as { name: string; client_properties?: { connection_name?: string } }[];
    const mine = connections.filter((c) => c.client_properties?.connection_name?.startsWith(namePrefix));
    await Promise.all(mine.map((c) => this.request('DELETE', `/connections/${encodeURIComponent(c.name)}`, undefined, [404], { 'X-Reason': 'test: broker restart' })));
    return mine.length;
  }

  /**
   * Deletes the exchanges and queues of a test run (names `<prefix>-…`) from a vhost: a run on the
   * shared broker must not leave them behind. Returns how many it deleted.
   */
  async deleteByPrefix(prefix: string, vhost = '/'): Promise<number> {
    if (!/^[A-Za-z0-9._-]{4,}$/.test(prefix)) throw new Error(`Refusing to delete by the prefix ${JSON.stringify(prefix)}`);
    const v = encodeURIComponent(vhost);
    const mine = (items: { name: string }[]) => items.map((i) => i.name).filter((name) => name.startsWith(`${prefix}-`));
    const queues = mine((await (await this.request('GET', `/queues/${v}?columns=name`)).json()) as { name: string }[]);
    const exchanges = mine((await (await this.request('GET', `/exchanges/${v}?columns=name`)).json()) as { name: string }[]);
    for (const queue of queues) await this.request('DELETE', `/queues/${v}/${encodeURIComponent(queue)}`, undefined, [404]);
    for (const exchange of exchanges) await this.request('DELETE', `/exchanges/${v}/${encodeURIComponent(exchange)}`, undefined, [404]);
    return queues.length + exchanges.length;
  }

  async deleteQueue(vhost: string, queue: string): Promise<void> {
    await this.request('DELETE', `/queues/${encodeURIComponent(vhost)}/${encodeURIComponent(queue)}`);
  }

  /** Number of ready + unacknowledged messages of a queue. */
  async queueDepth(vhost: string, queue: string): Promise<number> {
    const info = (await (await this.request('GET', `/queues/${encodeURIComponent(vhost)}/${encodeURIComponent(queue)}`)).json()) as { messages?: number };
    return info.messages ?? 0;
  }

  private async request(method: string, path: string, body?: unknown, accepted: number[] = [], headers: Record<string, string> = {}): Promise<Response> {
    const response = await fetch(this.base + path, {
      method,
      headers: { authorization: this.auth, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok && !accepted.includes(response.status)) throw new Error(`RabbitMQ management ${method} ${path}: ${response.status} ${await response.text()}`);
    return response;
  }
}
