/**
 * Event bus throughput and end-to-end lag, both adapters side by side: N `Added` events
 * dispatched with C in flight, handled by one group listener (on a second node for RabbitMQ,
 * i.e. a second connection) and by one key listener. Prints events/s (first dispatch → last
 * group handling), dispatch latency p50/p99 (until the bus acknowledged: broker confirm for
 * RabbitMQ) and end-to-end lag p50/p99 (dispatch start → group listener, and → key listener).
 * Usage: npm run bench:events [-- --events 20000 --inflight 64]
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import amqp from 'amqplib';
import Database from 'better-sqlite3';
import pino from 'pino';
import { loadConfig } from '../src/config/load-config';
import type { EventBus, MailboxEvent } from '../src/events/api/event-bus';
import { InProcessEventBus } from '../src/events/in-process/in-process-event-bus';
import { RabbitMqEventBus } from '../src/events/rabbitmq/rabbitmq-event-bus';
import { DEFAULT_RETRY_POLICY } from '../src/events/retry-policy';
import { migrate } from '../src/storage/sqlite/schema';
import { SqliteEventDeadLetters } from '../src/storage/sqlite/sqlite-event-dead-letters';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const EVENTS = arg('events', 20_000);
const IN_FLIGHT = arg('inflight', 64);
/** Events dispatched (and discarded from the figures) before measuring: JIT, connections, queues. */
const WARM_UP = 500;
const logger = pino({ level: 'warn' });

interface Figures {
  adapter: string;
  eventsPerSecond: number;
  dispatchP50: number;
  dispatchP99: number;
  groupLagP50: number;
  groupLagP99: number;
  keyLagP50: number;
  keyLagP99: number;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function measure(adapter: string, sender: EventBus, receiver: EventBus): Promise<Figures> {
  const mailboxId = randomUUID();
  const started = new Map<string, number>();
  const groupLag: number[] = [];
  const keyLag: number[] = [];
  const dispatchLatency: number[] = [];
  let groupHandled = 0;
  let measuring = false;
  let lastHandledAt = 0;
  let resolveAll: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (resolveAll = resolve));
  await receiver.registerGroupListener({
    group: `bench-${randomUUID()}`,
    handle: async (event) => {
      if (!measuring) return;
      lastHandledAt = performance.now();
      groupLag.push(lastHandledAt - (started.get(event.eventId) ?? lastHandledAt));
      if (++groupHandled === EVENTS) resolveAll();
    },
  });
  await receiver.registerMailboxListener(mailboxId, {
    handle: async (event) => {
      if (measuring) keyLag.push(performance.now() - (started.get(event.eventId) ?? performance.now()));
    },
  });

  const run = async (count: number, record: boolean): Promise<void> => {
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const uid = ++next;
        const event: MailboxEvent = { type: 'Added', eventId: randomUUID(), user: 'bench@example.test', mailboxId, uids: [uid], modSeq: uid };
        const t0 = performance.now();
        started.set(event.eventId, t0);
        await sender.dispatch(event);
        if (record) dispatchLatency.push(performance.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  };

  await run(WARM_UP, false);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  measuring = true;
  const t0 = performance.now();
  await run(EVENTS, true);
  await all;
  const seconds = (lastHandledAt - t0) / 1000;
  await new Promise((resolve) => setTimeout(resolve, 200));
  return {
    adapter,
    eventsPerSecond: Math.round(EVENTS / seconds),
    dispatchP50: percentile(dispatchLatency, 50),
    dispatchP99: percentile(dispatchLatency, 99),
    groupLagP50: percentile(groupLag, 50),
    groupLagP99: percentile(groupLag, 99),
    keyLagP50: percentile(keyLag, 50),
    keyLagP99: percentile(keyLag, 99),
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'postflow-bench-events-'));
  const db = new Database(path.join(dir, 'postflow.db'));
  migrate(db);
  const deadLetters = new SqliteEventDeadLetters(db);
  const results: Figures[] = [];
  try {
    const inProcess = new InProcessEventBus(logger, { deadLetters });
    results.push(await measure('in-process', inProcess, inProcess));
    await inProcess.close();

    const config = loadConfig({ env: process.env, overrides: { rabbitmq: { prefix: `postflow-bench-${randomUUID().slice(0, 8)}` } } });
    const options = { deadLetters: () => deadLetters, retry: DEFAULT_RETRY_POLICY };
    const sender = await RabbitMqEventBus.connect(config.rabbitmq, logger, { ...options, connectionName: 'postflow-bench-sender' });
    const receiver = await RabbitMqEventBus.connect(config.rabbitmq, logger, { ...options, connectionName: 'postflow-bench-receiver' });
    try {
      results.push(await measure('RabbitMQ (2 connections)', sender, receiver));
    } finally {
      await Promise.all([sender.close(), receiver.close()]);
      await deleteTopology(config.rabbitmq.uri, config.rabbitmq.prefix);
    }
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const ms = (v: number) => `${v.toFixed(2)} ms`;
  console.log(`\nevent bus: ${EVENTS} events, ${IN_FLIGHT} dispatches in flight, 1 group listener + 1 key listener\n`);
  const rows: [string, (f: Figures) => string][] = [
    ['events/s', (f) => String(f.eventsPerSecond)],
    ['dispatch p50', (f) => ms(f.dispatchP50)],
    ['dispatch p99', (f) => ms(f.dispatchP99)],
    ['group lag p50', (f) => ms(f.groupLagP50)],
    ['group lag p99', (f) => ms(f.groupLagP99)],
    ['key lag p50', (f) => ms(f.keyLagP50)],
    ['key lag p99', (f) => ms(f.keyLagP99)],
  ];
  console.log(['', ...results.map((r) => r.adapter)].map((c) => c.padEnd(26)).join(''));
  for (const [label, value] of rows) console.log([label, ...results.map(value)].map((c) => c.padEnd(26)).join(''));
}

/** Removes the benchmark's queues and exchanges (their names carry the run's prefix). */
async function deleteTopology(uri: string, prefix: string): Promise<void> {
  const connection = await amqp.connect(uri);
  try {
    const channel = await connection.createChannel();
    const response = await fetch('http://127.0.0.1:15672/api/queues/%2F?columns=name', { headers: { authorization: 'Basic ' + Buffer.from('guest:guest').toString('base64') } }).catch(() => null);
    const queues = response?.ok ? ((await response.json()) as { name: string }[]).map((q) => q.name).filter((name) => name.startsWith(prefix)) : [];
    for (const queue of queues) await channel.deleteQueue(queue);
    await channel.deleteExchange(`${prefix}-mailbox-events`);
    await channel.deleteExchange(`${prefix}-mailbox-events-all`);
  } finally {
    await connection.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
