import pino from 'pino';
import { InProcessEventBus } from '../../src/events/in-process/in-process-event-bus';
import { CONTRACT_RETRY_POLICY, describeEventBusContract } from '../contracts/event-bus.contract';
import { sqliteDeadLetters } from '../events/sqlite-dead-letters-fixture';

describeEventBusContract(
  'in-process',
  async () => {
    const store = sqliteDeadLetters();
    const bus = new InProcessEventBus(pino({ level: 'silent' }), { deadLetters: store.deadLetters, retry: CONTRACT_RETRY_POLICY });
    return {
      bus,
      deadLetters: store.deadLetters,
      async cleanup() {
        await bus.close();
        store.cleanup();
      },
    };
  },
  { spansNodes: false },
);
