import { describeDeadLettersContract } from '../contracts/dead-letters.contract';
import { sqliteDeadLetters } from '../events/sqlite-dead-letters-fixture';

describeDeadLettersContract('SQLite', async () => {
  const { deadLetters, cleanup } = sqliteDeadLetters();
  return { deadLetters, cleanup: async () => cleanup() };
});
