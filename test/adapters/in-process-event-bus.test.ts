import pino from 'pino';
import { InProcessEventBus } from '../../src/events/in-process/in-process-event-bus';
import { describeEventBusContract } from '../contracts/event-bus.contract';

describeEventBusContract(
  'in-process',
  async () => ({ bus: new InProcessEventBus(pino({ level: 'silent' })), async cleanup() {} }),
  { spansNodes: false },
);
