import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import type { EventBus, GroupListener, MailboxEvent } from '../../src/events/api/event-bus';
import type { EventDeadLetters } from '../../src/events/api/event-dead-letters';
import { InProcessEventBus } from '../../src/events/in-process/in-process-event-bus';
import { RabbitMqEventBus } from '../../src/events/rabbitmq/rabbitmq-event-bus';
import { EVENTS_SCHEMA } from '../../src/storage/cassandra/schema/events';
import { CassandraEventDeadLetters } from '../../src/storage/cassandra/cassandra-event-dead-letters';
import { CassandraSession } from '../../src/storage/cassandra/cassandra-session';
import { registerErrorHandling } from '../../src/webadmin/errors';
import { eventRoutes } from '../../src/webadmin/routes/events';
import { distributedTestConfig, newRunId, requireEngines } from '../helpers/engines';
import { RabbitMqAdmin } from './rabbitmq-admin';
import { sqliteDeadLetters } from './sqlite-dead-letters-fixture';

const logger = pino({ level: 'silent' });
const retry = { maxRetries: 3, firstBackoffMs: 20 };

interface Profile {
  bus: EventBus;
  deadLetters: EventDeadLetters;
  close(): Promise<void>;
}

/** A listener that cannot handle events of the mailbox named `poisoned` until it is fixed. */
class IndexingListener implements GroupListener {
  readonly group = 'indexing';
  readonly handled: MailboxEvent[] = [];
  attempts = 0;
  fixed = false;
  constructor(private readonly poisoned: string) {}
  async handle(event: MailboxEvent): Promise<void> {
    if (event.mailboxId === this.poisoned) {
      this.attempts++;
      if (!this.fixed) throw new Error('cannot index this message');
    }
    this.handled.push(event);
  }
}

async function eventually(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function describePoisonEvent(name: string, setup: { before?: () => Promise<void>; after?: () => Promise<void>; profile: () => Promise<Profile> }): void {
  describe(`a poison event on ${name}`, () => {
    let profile: Profile;
    let app: FastifyInstance;

    beforeAll(async () => {
      await setup.before?.();
    }, 120_000);

    afterAll(async () => {
      await setup.after?.();
    }, 60_000);

    beforeEach(async () => {
      profile = await setup.profile();
      app = Fastify();
      registerErrorHandling(app);
      app.register(eventRoutes({ eventBus: profile.bus, deadLetters: profile.deadLetters, logger }));
      await app.ready();
    });

    afterEach(async () => {
      await app.close();
      await profile.close();
    });

    it('ends in the dead letters after the retries, and is redelivered from WebAdmin once the listener is fixed', async () => {
      const poisoned = randomUUID();
      const listener = new IndexingListener(poisoned);
      await profile.bus.registerGroupListener(listener);
      const poison: MailboxEvent = { type: 'Added', eventId: randomUUID(), user: 'alice@example.com', mailboxId: poisoned, uids: [7], modSeq: 7 };
      const healthy: MailboxEvent = { type: 'Added', eventId: randomUUID(), user: 'alice@example.com', mailboxId: randomUUID(), uids: [1], modSeq: 1 };
      await profile.bus.dispatch(poison);
      await profile.bus.dispatch(healthy);

      await eventually(async () => (await app.inject({ url: '/events/deadLetter/groups' })).json<string[]>().includes('indexing'), 'the dead letter');
      expect(listener.attempts).toBe(retry.maxRetries + 1);
      expect(listener.handled).toEqual([healthy]);
      const ids = (await app.inject({ url: '/events/deadLetter/groups/indexing' })).json<string[]>();
      expect(ids).toHaveLength(1);
      const shown = await app.inject({ url: `/events/deadLetter/groups/indexing/${ids[0]}` });
      expect(shown.statusCode).toBe(200);
      expect(shown.json()).toEqual({ version: 1, ...poison });

      listener.fixed = true;
      const response = await app.inject({ method: 'POST', url: '/events/deadLetter/groups/indexing?action=reDeliver' });
      expect(response.statusCode).toBe(201);
      expect(response.json()).toEqual({ taskId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
      expect(response.headers.location).toBe(`/tasks/${response.json<{ taskId: string }>().taskId}`);

      await eventually(() => listener.handled.some((e) => e.eventId === poison.eventId), 'the redelivered event');
      await eventually(async () => (await app.inject({ url: '/events/deadLetter/groups' })).json<string[]>().length === 0, 'empty dead letters');
      expect((await app.inject({ url: '/events/deadLetter/groups/indexing' })).json()).toEqual([]);
    });

    it('redelivers every group with POST /events/deadLetter?action=reDeliver, and one with its insertion id', async () => {
      const listener = new IndexingListener(randomUUID());
      listener.fixed = true;
      await profile.bus.registerGroupListener(listener);
      const one = await profile.deadLetters.store('indexing', JSON.stringify({ version: 1, type: 'Added', eventId: randomUUID(), user: 'a@b.c', mailboxId: randomUUID(), uids: [1], modSeq: 1 }));
      const two = await profile.deadLetters.store('indexing', JSON.stringify({ version: 1, type: 'Added', eventId: randomUUID(), user: 'a@b.c', mailboxId: randomUUID(), uids: [2], modSeq: 2 }));
      expect((await app.inject({ method: 'POST', url: `/events/deadLetter/groups/indexing/${one}?action=reDeliver` })).statusCode).toBe(201);
      await eventually(() => listener.handled.length === 1, 'the one redelivered');
      // The redelivery publishes the event, then removes its dead letter: on RabbitMQ the listener
      // can handle it before the removal, so the removal is waited for too.
      await eventually(async () => !(await profile.deadLetters.listInsertionIds('indexing')).includes(one), 'the one removed');
      expect(await profile.deadLetters.listInsertionIds('indexing')).toEqual([two]);
      expect((await app.inject({ method: 'POST', url: '/events/deadLetter?action=reDeliver' })).statusCode).toBe(201);
      await eventually(() => listener.handled.length === 2, 'all redelivered');
      await eventually(async () => (await profile.deadLetters.listGroups()).length === 0, 'empty dead letters');
    });

    it('deletes a dead letter, and answers James\' errors for bad requests', async () => {
      const id = await profile.deadLetters.store('indexing', '{"version":1,"type":"Added"}');
      expect((await app.inject({ method: 'DELETE', url: `/events/deadLetter/groups/indexing/${id}` })).statusCode).toBe(204);
      expect((await app.inject({ url: `/events/deadLetter/groups/indexing/${id}` })).json()).toMatchObject({ statusCode: 404, type: 'notFound' });
      expect((await app.inject({ url: '/events/deadLetter/groups/indexing/not-a-uuid' })).json()).toEqual({
        statusCode: 400,
        type: 'InvalidArgument',
        message: 'Can not deserialize the supplied insertionId',
        details: '"not-a-uuid" is not a UUID',
      });
      expect((await app.inject({ url: '/events/deadLetter/groups/bad%20group' })).json()).toMatchObject({ statusCode: 400, message: 'Can not deserialize the supplied group' });
      const noAction = await app.inject({ method: 'POST', url: '/events/deadLetter' });
      expect(noAction.statusCode).toBe(400);
      expect(noAction.json()).toMatchObject({ type: 'InvalidArgument', details: expect.stringContaining("'action' query parameter is compulsory") });
      expect((await app.inject({ method: 'POST', url: '/events/deadLetter?action=purge' })).json()).toMatchObject({ statusCode: 400, details: "'purge' is not a valid action query parameter" });
      expect((await app.inject({ method: 'POST', url: `/events/deadLetter/groups/indexing/${id}?action=reDeliver` })).statusCode).toBe(404);
    });

    it('keeps a dead letter whose group no listener takes', async () => {
      const id = await profile.deadLetters.store('nobody-listens', JSON.stringify({ version: 1, type: 'Added', eventId: randomUUID(), user: 'a@b.c', mailboxId: randomUUID(), uids: [1], modSeq: 1 }));
      expect((await app.inject({ method: 'POST', url: '/events/deadLetter/groups/nobody-listens?action=reDeliver' })).statusCode).toBe(201);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await profile.deadLetters.listInsertionIds('nobody-listens')).toEqual([id]);
    });

    it('shows a dead letter that is not JSON as a JSON string, and keeps it when redelivery cannot read it', async () => {
      await profile.bus.registerGroupListener(new IndexingListener(randomUUID()));
      const id = await profile.deadLetters.store('indexing', 'garbage');
      expect((await app.inject({ url: `/events/deadLetter/groups/indexing/${id}` })).json()).toBe('garbage');
      expect((await app.inject({ method: 'POST', url: '/events/deadLetter?action=reDeliver' })).statusCode).toBe(201);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await profile.deadLetters.listInsertionIds('indexing')).toEqual([id]);
    });
  });
}

describePoisonEvent('the embedded profile (in-process bus, SQLite)', {
  profile: async () => {
    const store = sqliteDeadLetters();
    const bus = new InProcessEventBus(logger, { deadLetters: store.deadLetters, retry });
    return {
      bus,
      deadLetters: store.deadLetters,
      async close() {
        await bus.close();
        store.cleanup();
      },
    };
  },
});

const runId = newRunId();
const vhost = `postflow-test-${runId}`;
const config = distributedTestConfig(runId);
const admin = new RabbitMqAdmin(config);
let session: CassandraSession;
let uri: string;

describePoisonEvent('the distributed profile (RabbitMQ, Cassandra)', {
  before: async () => {
    await requireEngines(config, 'rabbitmq', 'cassandra');
    uri = await admin.createVhost(config, vhost);
    session = await CassandraSession.connect(config.cassandra);
  },
  after: async () => {
    await admin.deleteVhost(vhost);
    if (!session) return;
    await session.dropKeyspace();
    await session.close();
  },
  profile: async () => {
    await session.truncate(EVENTS_SCHEMA.tables);
    // A prefix per test: each test starts with an empty `indexing` group queue.
    const deadLetters = new CassandraEventDeadLetters(session);
    const bus = await RabbitMqEventBus.connect({ ...config.rabbitmq, uri, prefix: `t${randomUUID().slice(0, 8)}` }, logger, { deadLetters: () => deadLetters, retry });
    return { bus, deadLetters, close: () => bus.close() };
  },
});
