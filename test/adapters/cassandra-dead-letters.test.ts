import { EVENTS_SCHEMA } from '../../src/storage/cassandra/schema/events';
import { CassandraEventDeadLetters } from '../../src/storage/cassandra/cassandra-event-dead-letters';
import { CassandraSession } from '../../src/storage/cassandra/cassandra-session';
import { describeDeadLettersContract } from '../contracts/dead-letters.contract';
import { distributedTestConfig, requireEngines } from '../helpers/engines';

// One keyspace for the whole file (DDL is slow); each test starts from truncated tables.
const config = distributedTestConfig();
let session: CassandraSession;

beforeAll(async () => {
  await requireEngines(config, 'cassandra');
  session = await CassandraSession.connect(config.cassandra);
}, 120_000);

afterAll(async () => {
  if (!session) return;
  await session.dropKeyspace();
  await session.close();
}, 60_000);

describeDeadLettersContract('Cassandra', async () => {
  await session.truncate(EVENTS_SCHEMA.tables);
  return { deadLetters: new CassandraEventDeadLetters(session), cleanup: async () => undefined };
});
