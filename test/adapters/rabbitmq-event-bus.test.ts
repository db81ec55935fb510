import amqp from 'amqplib';
import pino from 'pino';
import { RabbitMqEventBus } from '../../src/events/rabbitmq/rabbitmq-event-bus';
import { describeEventBusContract } from '../contracts/event-bus.contract';
import { distributedTestConfig, requireEngines } from '../helpers/engines';

// One exchange per run (its prefix carries the run id), deleted at the end.
const config = distributedTestConfig();
const logger = pino({ level: 'silent' });

beforeAll(async () => {
  await requireEngines(config, 'rabbitmq');
});

afterAll(async () => {
  const connection = await amqp.connect(config.rabbitmq.uri);
  try {
    const channel = await connection.createChannel();
    await channel.deleteExchange(`${config.rabbitmq.prefix}-mailbox-events`);
  } finally {
    await connection.close();
  }
});

describeEventBusContract(
  'RabbitMQ',
  async () => {
    const bus = await RabbitMqEventBus.connect(config.rabbitmq, logger);
    const otherNode = await RabbitMqEventBus.connect(config.rabbitmq, logger);
    return {
      bus,
      otherNode,
      async cleanup() {
        await Promise.all([bus.close(), otherNode.close()]);
      },
    };
  },
  { spansNodes: true },
);
