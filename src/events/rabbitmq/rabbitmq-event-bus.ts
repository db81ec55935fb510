import { randomUUID } from 'node:crypto';
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { PostflowConfig } from '../../config/schema';
import { TemporaryError, errorMessage } from '../../core/errors';
import type { EventBus, EventListener, MailboxEvent, Registration } from '../api/event-bus';

/** A broker that does not complete the AMQP handshake within this time is reported unreachable. */
export const RABBITMQ_CONNECT_TIMEOUT_MS = 5_000;

export type RabbitMqConfig = PostflowConfig['rabbitmq'];

interface ListenerSlot {
  listener: EventListener;
  /** Events are handed to one listener one at a time, in the order the broker delivered them. */
  tail: Promise<void>;
}

/**
 * Mailbox event bus over RabbitMQ (James' key registrations). Events are published on one direct
 * exchange `<prefix>-mailbox-events` with the mailbox id as routing key, through a confirm channel:
 * `dispatch` resolves once the broker has taken the event. Each node owns one exclusive,
 * auto-delete queue for its key listeners, bound once per mailbox that has listeners on this node
 * (and unbound when the last one leaves), so a node only receives events it has listeners for.
 *
 * Key events are ephemeral (IMAP IDLE / JMAP push of live sessions): non-persistent, auto-ack.
 * A lost connection is logged and the bus refuses to dispatch (TemporaryError) until a new one
 * is built; reconnection is left to a later change.
 */
export class RabbitMqEventBus implements EventBus {
  private readonly keys = new Map<string, Set<ListenerSlot>>();
  private readonly bindingOps = new Map<string, Promise<void>>();
  private closing = false;
  private closed = false;

  private constructor(
    private readonly model: ChannelModel,
    private readonly publisher: ConfirmChannel,
    private readonly consumer: Channel,
    readonly exchange: string,
    readonly queue: string,
    private readonly logger: Logger,
  ) {
    model.on('error', (err: unknown) => logger.error({ err }, 'RabbitMQ connection error'));
    model.on('close', () => {
      this.closed = true;
      if (!this.closing) logger.error('RabbitMQ connection closed: mailbox events are not delivered until the node reconnects');
    });
    for (const channel of [publisher, consumer]) {
      channel.on('error', (err: unknown) => logger.error({ err }, 'RabbitMQ channel error'));
      channel.on('close', () => {
        if (!this.closing) this.closed = true;
      });
    }
  }

  /** Connects and declares the exchange and this node's queue. Rejects naming the broker when unreachable. */
  static async connect(config: RabbitMqConfig, logger: Logger): Promise<RabbitMqEventBus> {
    let model: ChannelModel;
    try {
      model = await amqp.connect(config.uri, { timeout: RABBITMQ_CONNECT_TIMEOUT_MS });
    } catch (err) {
      // (Under jest, Node's errors come from another realm and stringify as "Error: …".)
      throw new Error(`Cannot reach RabbitMQ at ${redactUri(config.uri)}: ${errorMessage(err).replace(/^Error: /, '')}`);
    }
    // Until the bus owns the listeners, an 'error' event must not crash the process.
    const early = (err: unknown) => logger.error({ err }, 'RabbitMQ connection error');
    model.on('error', early);
    try {
      const exchange = `${config.prefix}-mailbox-events`;
      const publisher = await model.createConfirmChannel();
      await publisher.assertExchange(exchange, 'direct', { durable: true });
      const consumer = await model.createChannel();
      const { queue } = await consumer.assertQueue(`${config.prefix}-mailbox-key-${randomUUID()}`, { exclusive: true, autoDelete: true, durable: false });
      const bus = new RabbitMqEventBus(model, publisher, consumer, exchange, queue, logger);
      model.off('error', early);
      await consumer.consume(queue, (message) => bus.deliver(message), { noAck: true });
      return bus;
    } catch (err) {
      await model.close().catch(() => undefined);
      throw new Error(`Cannot set up RabbitMQ at ${redactUri(config.uri)}: ${errorMessage(err)}`);
    }
  }

  async dispatch(event: MailboxEvent): Promise<void> {
    if (this.closed) throw new TemporaryError('RabbitMQ connection is closed: cannot dispatch mailbox events');
    const body = Buffer.from(JSON.stringify(event));
    await new Promise<void>((resolve, reject) => {
      try {
        this.publisher.publish(
          this.exchange,
          event.mailboxId,
          body,
          { contentType: 'application/json', messageId: event.eventId, type: event.type, persistent: false },
          (err: unknown) => (err ? reject(new TemporaryError(`RabbitMQ did not confirm event ${event.eventId}: ${errorMessage(err)}`)) : resolve()),
        );
      } catch (err) {
        reject(new TemporaryError(`Cannot publish event ${event.eventId}: ${errorMessage(err)}`));
      }
    });
  }

  async registerMailboxListener(mailboxId: string, listener: EventListener): Promise<Registration> {
    const slot: ListenerSlot = { listener, tail: Promise.resolve() };
    await this.serialize(mailboxId, async () => {
      let slots = this.keys.get(mailboxId);
      if (!slots) {
        await this.consumer.bindQueue(this.queue, this.exchange, mailboxId);
        slots = new Set();
        this.keys.set(mailboxId, slots);
      }
      slots.add(slot);
    });
    return {
      unregister: () =>
        this.serialize(mailboxId, async () => {
          const slots = this.keys.get(mailboxId);
          if (!slots || !slots.delete(slot) || slots.size > 0) return;
          this.keys.delete(mailboxId);
          if (this.closed) return;
          try {
            await this.consumer.unbindQueue(this.queue, this.exchange, mailboxId);
          } catch (err) {
            this.logger.warn({ err, mailboxId }, 'cannot unbind mailbox events');
          }
        }),
    };
  }

  /** Rejects unless the connection is open and the broker answers on a fresh channel. */
  async checkHealth(): Promise<void> {
    if (this.closed) throw new Error('connection closed');
    const channel = await this.model.createChannel();
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
    if (this.closed) return;
    this.closed = true;
    try {
      await this.model.close();
    } catch (err) {
      this.logger.warn({ err }, 'error while closing the RabbitMQ connection');
    }
  }

  private deliver(message: ConsumeMessage | null): void {
    if (message === null) {
      this.logger.error({ queue: this.queue }, 'RabbitMQ cancelled the mailbox events consumer');
      return;
    }
    let event: MailboxEvent;
    try {
      event = JSON.parse(message.content.toString('utf8')) as MailboxEvent;
    } catch (err) {
      this.logger.warn({ err }, 'ignoring a mailbox event that is not JSON');
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
