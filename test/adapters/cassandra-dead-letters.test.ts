import { EVENTS_SCHEMA } from '../../src/storage/cassandra/schema/events';
import { CassandraEventDeadLetters } from '../../src/storage/cassandra/cassandra-event-dead-letters';
import { describeDeadLettersContract } from '../contracts/dead-letters.contract';
import { noCleanup, useCassandraKeyspace } from '../helpers/store-fixtures';

// One keyspace for the whole file (DDL is slow); each test starts from truncated tables.
const keyspace = useCassandraKeyspace();

describeDeadLettersContract('Cassandra', async () => {
  await keyspace.session.truncate(EVENTS_SCHEMA.tables);
  return { deadLetters: new CassandraEventDeadLetters(keyspace.session), cleanup: noCleanup };
});
