import { randomUUID } from 'node:crypto';
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage, type Options } from 'amqplib';
import type { Logger } from 'pino';
import type { PostflowConfig } from '../../config/schema';
import { AlreadyExistsError, InvalidInputError, NotFoundError, TemporaryError, errorMessage } from '../../core/errors';
import type { EventBus, EventListener, GroupListener, MailboxEvent, Registration } from '../api/event-bus';
import { GROUP_NAME, type EventDeadLetters } from '../api/event-dead-letters';
import { EventFormatError, deserializeEvent, serializeEvent } from '../event-json';
import { DEFAULT_RETRY_POLICY, backoffMs, type RetryPolicy } from '../retry-policy';

/** A broker that does not complete the AMQP handshake within this time is reported unreachable. */
export const RABBITMQ_CONNECT_TIMEOUT_MS = 5_000;
/** First and largest pause between two reconnection attempts (doubling in between). */
export const RECONNECT_FIRST_DELAY_MS = 100;
export const RECONNECT_MAX_DELAY_MS = 5_000;
/**
 * How long `dispatch` waits for the broker during an outage before failing with a TemporaryError.
 * Below the 60 s start-to-close timeout of the delivery activity, which then retries.
 */
export const DEFAULT_DISPATCH_TIMEOUT_MS = 10_000;
/** Events of one group a node handles at once (unacknowledged deliveries per group channel). */
export const GROUP_PREFETCH = 32;
/** Pause before giving an event back to the broker when neither a retry nor a dead letter could be stored. */
const REQUEUE_DELAY_MS = 1_000;
/** Header carrying how many times a group event was retried. */
const RETRIES_HEADER = 'x-postflow-retries';

export type RabbitMqConfig = PostflowConfig['rabbitmq'];

export interface RabbitMqEventBusOptions {
  /**
   * Where group events go after their last retry. A function: the Cassandra session holding them
   * may connect in parallel with the broker; it is called when a dead letter is first stored.
   */
  deadLetters?: () => EventDeadLetters;
  retry?: RetryPolicy;
  dispatchTimeoutMs?: number;
  /** Name of the AMQP connection shown by the broker (management UI, `rabbitmqctl list_connections`). */
  connectionName?: string;
}

interface KeySlot {
  listener: EventListener;
  /** Events are handed to one listener one at a time, in the order the broker delivered them. */
  tail: Promise<void>;
}

interface GroupSlot {
  listener: GroupListener;
  /** The connection this group consumes on (set up once per connection). */
  live: Live | null;
  channel: Channel | null;
  consumerTag: string | null;
}

/** One AMQP connection and what was declared on it; replaced as a whole after a connection loss. */
interface Live {
  model: ChannelModel;
  publisher: ConfirmChannel;
  keyChannel: Channel;
  keyQueue: string;
}

/**
 * Mailbox event bus over RabbitMQ (James' RabbitMQ event bus).
 *
 * Topology (prefix `P`):
 * - `P-mailbox-events-all` (fanout, durable): every event is published here once, persistent,
 *   through a confirm channel: `dispatch` resolves once the broker has taken it.
 * - `P-mailbox-events` (direct, durable) is bound to it; routing key = mailbox id. Each node owns
 *   one exclusive, auto-delete key queue bound once per mailbox that has key listeners on this
 *   node. Key events are ephemeral (IMAP IDLE / JMAP push of live sessions): auto-ack.
 * - `P-mailbox-group-<group>` (durable queue per group, bound to the fanout): the nodes that
 *   registered the group compete on it, so each event is handled once per group cluster-wide,
 *   acknowledged after the listener succeeded (at least once).
 * - `P-mailbox-group-<group>-retry-<d>ms` (one durable wait queue per retry delay): a failed
 *   event is published there with its retry count; its TTL expires into the group queue (dead
 *   letter exchange ""), giving the exponential back-off. After the last retry the event is
 *   stored in the group's dead letters, then acknowledged.
 *
 * Reconnection: when the connection (or one of its channels) is lost, the bus reconnects with
 * back-off by itself, re-declares the key queue and its bindings and consumes the groups again.
 * Unacknowledged group events are redelivered by the broker. `dispatch` during the outage waits
 * for the new connection up to a bound, then fails with a TemporaryError.
 */
export class RabbitMqEventBus implements EventBus {
  private readonly keys = new Map<string, Set<KeySlot>>();
  private readonly groups = new Map<string, GroupSlot>();
  private readonly bindingOps = new Map<string, Promise<void>>();
  private readonly waiters = new Set<() => void>();
  private readonly retry: RetryPolicy;
  private readonly dispatchTimeoutMs: number;
  private live: Live | null = null;
  private closing = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelay = RECONNECT_FIRST_DELAY_MS;

  readonly exchange: string;
  readonly fanout: string;

  private constructor(
    private readonly config: RabbitMqConfig,
    private readonly logger: Logger,
    private readonly options: RabbitMqEventBusOptions,
  ) {
    this.exchange = `${config.prefix}-mailbox-events`;
    this.fanout = `${config.prefix}-mailbox-events-all`;
    this.retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.dispatchTimeoutMs = options.dispatchTimeoutMs ?? DEFAULT_DISPATCH_TIMEOUT_MS;
  }

  /** Connects and declares the exchanges and this node's key queue. Rejects naming the broker when unreachable. */
  static async connect(config: RabbitMqConfig, logger: Logger, options: RabbitMqEventBusOptions = {}): Promise<RabbitMqEventBus> {
    const bus = new RabbitMqEventBus(config, logger, options);
    await bus.establish();
    return bus;
  }

  /** Name of the key queue of the current connection (it changes after a reconnection). */
  get queue(): string {
    return this.live?.keyQueue ?? '';
  }

  /** Whether the bus currently has a connection to the broker. */
  get connected(): boolean {
    return this.live !== null;
  }

  /** Name of the durable queue of a group. */
  groupQueue(group: string): string {
    return `${this.config.prefix}-mailbox-group-${group}`;
  }

  async dispatch(event: MailboxEvent): Promise<void> {
    await this.publishConfirmed(this.fanout, event.mailboxId, Buffer.from(serializeEvent(event)), event, {});
  }

  async reDeliver(group: string, event: MailboxEvent): Promise<void> {
    if (!GROUP_NAME.test(group)) throw new InvalidInputError(`Invalid group name: ${JSON.stringify(group)}`);
    // The default exchange silently drops what no queue takes: the dead letter must stay then.
    await this.checkGroupQueue(group);
    // Straight into the group's queue (default exchange): only that group sees the event again.
    await this.publishConfirmed('', this.groupQueue(group), Buffer.from(serializeEvent(event)), event, { [RETRIES_HEADER]: 0 });
  }

  async registerMailboxListener(mailboxId: string, listener: EventListener): Promise<Registration> {
    const slot: KeySlot = { listener, tail: Promise.resolve() };
    await this.serialize(mailboxId, async () => {
      let slots = this.keys.get(mailboxId);
      if (!slots) {
        slots = new Set();
        this.keys.set(mailboxId, slots);
        // Without a connection the binding is made by the reconnection (it binds every key).
        const live = this.live;
        if (live) {
          try {
            await live.keyChannel.bindQueue(live.keyQueue, this.exchange, mailboxId);
          } catch (err) {
            if (this.live === live) {
              this.keys.delete(mailboxId);
              throw new TemporaryError(`Cannot bind mailbox events of ${mailboxId}: ${errorMessage(err)}`);
            }
          }
        }
      }
      slots.add(slot);
    });
    return {
      unregister: () =>
        this.serialize(mailboxId, async () => {
          const slots = this.keys.get(mailboxId);
          if (!slots || !slots.delete(slot) || slots.size > 0) return;
          this.keys.delete(mailboxId);
          const live = this.live;
          if (!live) return;
          try {
            await live.keyChannel.unbindQueue(live.keyQueue, this.exchange, mailboxId);
          } catch (err) {
            this.logger.warn({ err, mailboxId }, 'cannot unbind mailbox events');
          }
        }),
    };
  }

  async registerGroupListener(listener: GroupListener): Promise<Registration> {
    const { group } = listener;
    if (!GROUP_NAME.test(group)) throw new InvalidInputError(`Invalid group name: ${JSON.stringify(group)}`);
    if (!this.options.deadLetters) throw new InvalidInputError('This event bus has no dead-letter store: group listeners need one');
    if (this.groups.has(group)) throw new AlreadyExistsError(`Group ${group} is already registered on this node`);
    const slot: GroupSlot = { listener, live: null, channel: null, consumerTag: null };
    this.groups.set(group, slot);
    const live = this.live;
    if (live) {
      try {
        await this.consumeGroup(live, slot);
      } catch (err) {
        // A connection lost meanwhile is not the registration's failure: the reconnection sets it up.
        if (this.live === live) {
          this.groups.delete(group);
          throw new TemporaryError(`Cannot consume the events of group ${group}: ${errorMessage(err)}`);
        }
      }
    }
    return {
      unregister: async () => {
        if (this.groups.get(group) !== slot) return;
        this.groups.delete(group);
        const channel = slot.channel;
        slot.channel = null;
        slot.live = null;
        // The durable queue stays: the group's events wait there for its next registration.
        await channel?.close().catch(() => undefined);
      },
    };
  }

  /** Rejects with a NotFoundError when the group's queue does not exist (no node ever registered the group). */
  private async checkGroupQueue(group: string): Promise<void> {
    const live = this.live;
    if (!live) throw new TemporaryError('RabbitMQ connection lost (reconnecting): cannot redeliver');
    const channel = await live.model.createChannel();
    channel.on('error', () => undefined);
    try {
      await channel.checkQueue(this.groupQueue(group));
    } catch (err) {
      if (/NOT_FOUND/.test(errorMessage(err))) throw new NotFoundError(`No queue for group ${group}: no node registered it, cannot redeliver`);
      throw new TemporaryError(`Cannot check the queue of group ${group}: ${errorMessage(err)}`);
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  /** Rejects unless the connection is open and the broker answers on a fresh channel. */
  async checkHealth(): Promise<void> {
    const live = this.live;
    if (!live) throw new Error(this.closing ? 'event bus closed' : 'connection lost (reconnecting)');
    const channel = await live.model.createChannel();
    channel.on('error', () => undefined);
    try {
      await channel.checkExchange(this.exchange);
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearTimeout(this.reconnectTimer);
    for (const wake of this.waiters) wake();
    const live = this.live;
    this.live = null;
    if (!live) return;
    try {
      await live.model.close();
    } catch (err) {
      this.logger.warn({ err }, 'error while closing the RabbitMQ connection');
    }
  }

  /**
   * Opens a connection and declares everything this node needs on it: exchanges, key queue and
   * bindings, group consumers. Rejects (and releases the connection) when any step fails.
   */
  private async establish(): Promise<void> {
    let model: ChannelModel;
    try {
      model = await amqp.connect(this.config.uri, {
        timeout: RABBITMQ_CONNECT_TIMEOUT_MS,
        clientProperties: { connection_name: this.options.connectionName ?? `postflow-events-${randomUUID()}` },
      });
    } catch (err) {
      // (Under jest, Node's errors come from another realm and stringify as "Error: …".)
      throw new Error(`Cannot reach RabbitMQ at ${redactUri(this.config.uri)}: ${errorMessage(err).replace(/^Error: /, '')}`);
    }
    let lost = false;
    const onLost = (reason: string) => {
      if (lost) return;
      lost = true;
      if (this.live?.model === model) this.live = null;
      if (this.closing) return;
      this.logger.error({ reason }, 'RabbitMQ connection lost: reconnecting');
      void model.close().catch(() => undefined);
      this.scheduleReconnect();
    };
    model.on('error', (err: unknown) => this.logger.error({ err }, 'RabbitMQ connection error'));
    try {
      const publisher = await model.createConfirmChannel();
      const keyChannel = await model.createChannel();
      for (const channel of [publisher, keyChannel]) {
        channel.on('error', (err: unknown) => this.logger.error({ err }, 'RabbitMQ channel error'));
      }
      await publisher.assertExchange(this.fanout, 'fanout', { durable: true });
      await publisher.assertExchange(this.exchange, 'direct', { durable: true });
      await publisher.bindExchange(this.exchange, this.fanout, '');
      const { queue: keyQueue } = await keyChannel.assertQueue(`${this.config.prefix}-mailbox-key-${randomUUID()}`, {
        exclusive: true,
        autoDelete: true,
        durable: false,
      });
      const live: Live = { model, publisher, keyChannel, keyQueue };
      await keyChannel.consume(keyQueue, (message) => (message ? this.deliverKey(message) : this.heal(live, 'the broker cancelled the key consumer')), { noAck: true });
      const bound = new Set(this.keys.keys());
      for (const mailboxId of bound) await keyChannel.bindQueue(keyQueue, this.exchange, mailboxId);
      for (const slot of this.groups.values()) await this.consumeGroup(live, slot);
      if (this.closing) throw new Error('closing');
      model.on('close', () => onLost('connection closed'));
      for (const channel of [publisher, keyChannel]) channel.on('close', () => onLost('channel closed'));
      this.live = live;
      this.reconnectDelay = RECONNECT_FIRST_DELAY_MS;
      for (const wake of this.waiters) wake();
      // Registrations made while the bindings above were being made (from now on they bind themselves).
      for (const mailboxId of this.keys.keys()) {
        if (!bound.has(mailboxId)) await keyChannel.bindQueue(keyQueue, this.exchange, mailboxId).catch(() => undefined);
      }
      for (const slot of this.groups.values()) await this.consumeGroup(live, slot).catch(() => undefined);
    } catch (err) {
      lost = true;
      await model.close().catch(() => undefined);
      throw new Error(`Cannot set up RabbitMQ at ${redactUri(this.config.uri)}: ${errorMessage(err)}`);
    }
  }

  /**
   * Replaces a connection that lost a consumer or a channel by a new one (which declares
   * everything again), rather than leaving a node that silently stopped consuming.
   */
  private heal(live: Live, reason: string): void {
    if (this.live !== live || this.closing) return;
    this.logger.error({ reason }, 'RabbitMQ consumer lost: reconnecting');
    this.live = null;
    void live.model.close().catch(() => undefined);
  }

  private scheduleReconnect(): void {
    if (this.closing || this.reconnectTimer) return;
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(RECONNECT_MAX_DELAY_MS, this.reconnectDelay * 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.closing || this.live) return;
      this.establish().then(
        () => this.logger.info('RabbitMQ connection re-established: consuming again'),
        (err: unknown) => {
          this.logger.warn({ err, retryInMs: this.reconnectDelay }, 'RabbitMQ reconnection failed');
          this.scheduleReconnect();
        },
      );
    }, delay);
  }

  /** Declares the group's queues and starts consuming them on `live` (once per connection). */
  private async consumeGroup(live: Live, slot: GroupSlot): Promise<void> {
    if (slot.live === live) return;
    slot.live = live;
    const group = slot.listener.group;
    const queue = this.groupQueue(group);
    let channel: Channel;
    try {
      channel = await live.model.createChannel();
    } catch (err) {
      slot.live = null;
      throw err;
    }
    let ready = false;
    channel.on('error', (err: unknown) => this.logger.error({ err, group }, 'RabbitMQ group channel error'));
    channel.on('close', () => {
      // A group channel that dies alone (not by unregister) is healed by a whole reconnection.
      if (ready && slot.channel === channel) this.heal(live, `the channel of group ${group} closed`);
    });
    try {
      await channel.assertQueue(queue, { durable: true });
      await channel.bindQueue(queue, this.fanout, '');
      for (let retry = 0; retry < this.retry.maxRetries; retry++) {
        await channel.assertQueue(this.waitQueue(group, retry), {
          durable: true,
          arguments: { 'x-message-ttl': backoffMs(this.retry, retry), 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': queue },
        });
      }
      await channel.prefetch(GROUP_PREFETCH);
      if (this.groups.get(group) !== slot) throw new Error('unregistered meanwhile');
      slot.channel = channel;
      const { consumerTag } = await channel.consume(queue, (message) => {
        // A cancelled consumer (its queue deleted, …) would stop the group for good: reconnect instead.
        if (message) void this.deliverGroup(slot, channel, message);
        else this.heal(live, `the broker cancelled the consumer of group ${group}`);
      });
      slot.consumerTag = consumerTag;
      ready = true;
    } catch (err) {
      if (slot.live === live) slot.live = null;
      if (slot.channel === channel) slot.channel = null;
      await channel.close().catch(() => undefined);
      throw err;
    }
  }

  /** Wait queue of retry number `retry`: its name carries its TTL, so nodes with other settings do not clash. */
  private waitQueue(group: string, retry: number): string {
    return `${this.groupQueue(group)}-retry-${backoffMs(this.retry, retry)}ms`;
  }

  private async deliverGroup(slot: GroupSlot, channel: Channel, message: ConsumeMessage): Promise<void> {
    const group = slot.listener.group;
    const text = message.content.toString('utf8');
    const retries = Number(message.properties.headers?.[RETRIES_HEADER] ?? 0) || 0;
    try {
      let event: MailboxEvent;
      try {
        event = deserializeEvent(text);
      } catch (err) {
        if (!(err instanceof EventFormatError)) throw err;
        // Retrying cannot help an event this node cannot read: straight to the dead letters.
        this.logger.error({ err, group }, 'unreadable group event stored in dead letters');
        await this.storeDeadLetter(group, text);
        safeAck(channel, message);
        return;
      }
      try {
        await slot.listener.handle(event);
        safeAck(channel, message);
        return;
      } catch (err) {
        if (retries < this.retry.maxRetries) {
          this.logger.warn({ err, group, eventId: event.eventId, retries }, 'group listener failed; retrying');
          await this.publishOn(this.live, '', this.waitQueue(group, retries), message.content, { [RETRIES_HEADER]: retries + 1 }, event.type);
        } else {
          this.logger.error({ err, group, eventId: event.eventId, attempts: retries + 1 }, 'group listener failed; event stored in dead letters');
          await this.storeDeadLetter(group, text);
        }
        safeAck(channel, message);
      }
    } catch (err) {
      // Neither handled, nor retried, nor dead-lettered: give it back to the broker, after a pause.
      this.logger.error({ err, group }, 'cannot schedule a retry nor store a dead letter: the event is requeued');
      setTimeout(() => {
        try {
          channel.nack(message, false, true);
        } catch {
          // Channel gone: the broker redelivers the unacknowledged event anyway.
        }
      }, REQUEUE_DELAY_MS).unref();
    }
  }

  private async storeDeadLetter(group: string, text: string): Promise<void> {
    const deadLetters = this.options.deadLetters?.();
    if (!deadLetters) throw new Error('no dead-letter store');
    await deadLetters.store(group, text);
  }

  private deliverKey(message: ConsumeMessage): void {
    let event: MailboxEvent;
    try {
      event = deserializeEvent(message.content.toString('utf8'));
    } catch (err) {
      this.logger.warn({ err }, 'ignoring a mailbox event this node cannot read');
      return;
    }
    const slots = this.keys.get(message.fields.routingKey);
    if (!slots) return;
    for (const slot of slots) {
      slot.tail = slot.tail.then(async () => {
        if (!this.keys.get(message.fields.routingKey)?.has(slot)) return;
        try {
          await slot.listener.handle(event);
        } catch (err) {
          // A failing key listener (e.g. a dead IMAP connection) must not affect the others.
          this.logger.warn({ err, eventType: event.type }, 'mailbox listener failed');
        }
      });
    }
  }

  /**
   * Publishes persistently and waits for the broker's confirm; during an outage waits for the
   * reconnection and publishes again, until `dispatchTimeoutMs`. (A publish whose confirm was lost
   * with the connection is published again: at least once.)
   */
  private async publishConfirmed(exchange: string, routingKey: string, body: Buffer, event: MailboxEvent, headers: Record<string, unknown>): Promise<void> {
    const deadline = Date.now() + this.dispatchTimeoutMs;
    let lastError = 'no connection';
    for (;;) {
      if (this.closing) throw new TemporaryError('the event bus is closed: cannot dispatch mailbox events');
      const live = this.live;
      if (live) {
        try {
          await this.publishOn(live, exchange, routingKey, body, headers, event.type, event.eventId);
          return;
        } catch (err) {
          lastError = errorMessage(err);
          if (this.live === live && !/closed/i.test(lastError)) {
            throw new TemporaryError(`RabbitMQ did not confirm event ${event.eventId}: ${lastError}`);
          }
        }
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new TemporaryError(`RabbitMQ unavailable for ${this.dispatchTimeoutMs / 1000} s: cannot dispatch event ${event.eventId} (${lastError})`);
      }
      await this.waitForConnection(remaining);
    }
  }

  private publishOn(live: Live | null, exchange: string, routingKey: string, body: Buffer, headers: Record<string, unknown>, type: string, messageId?: string): Promise<void> {
    if (!live) return Promise.reject(new Error('connection closed'));
    const properties: Options.Publish = { contentType: 'application/json', type, persistent: true, headers, messageId };
    return new Promise<void>((resolve, reject) => {
      try {
        live.publisher.publish(exchange, routingKey, body, properties, (err: unknown) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()));
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  private waitForConnection(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      this.waiters.add(wake);
    });
  }

  /** Bind/unbind of one mailbox run one after the other, so the binding follows the last change. */
  private async serialize(mailboxId: string, operation: () => Promise<void>): Promise<void> {
    const previous = this.bindingOps.get(mailboxId) ?? Promise.resolve();
    const current = previous.catch(() => undefined).then(operation);
    this.bindingOps.set(mailboxId, current);
    try {
      await current;
    } finally {
      if (this.bindingOps.get(mailboxId) === current) this.bindingOps.delete(mailboxId);
    }
  }
}

function safeAck(channel: Channel, message: ConsumeMessage): void {
  try {
    channel.ack(message);
  } catch {
    // Channel gone: the broker redelivers the event (handled again: at least once).
  }
}

/** The broker's address without its credentials, for messages and logs. */
export function redactUri(uri: string): string {
  try {
    const url = new URL(uri);
    url.username = '';
    url.password = '';
    return url.toString().replace(/\/$/, '');
  } catch {
    return '(invalid URI)';
  }
}
