import pino from 'pino';
import { ConfigError, loadConfig } from '../config/load-config';
import { EngineUnavailableError, startPostflow } from '../app';
import { TemporalCliNotFoundError } from '../../temporal/dev-server';

const USAGE = 'Usage: postflow start [--config <file.yaml>]';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'start') {
    console.error(USAGE);
    return 2;
  }
  let file: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--config' && rest[i + 1]) file = rest[++i];
    else {
      console.error(`Unknown argument ${rest[i]}\n${USAGE}`);
      return 2;
    }
  }
  let config;
  try {
    config = loadConfig({ file, env: process.env });
  } catch (err) {
    console.error((err as Error).message);
    return 78; // EX_CONFIG
  }
  const logger = pino({ level: config.logLevel, base: { node: config.hostname } });
  let running;
  try {
    running = await startPostflow({ config, logger });
  } catch (err) {
    if (err instanceof ConfigError || err instanceof EngineUnavailableError || err instanceof TemporalCliNotFoundError) {
      logger.fatal(err.message);
      console.error(err.message);
    } else {
      logger.fatal({ err }, 'start-up failed');
    }
    return 1;
  }
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'stopping');
      resolve();
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });
  await running.stop();
  logger.info('stopped');
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
