import { z } from 'zod';

/** Largest message accepted by default: 50 MiB, James' default `maxmessagesize` order of magnitude. */
export const DEFAULT_MAX_MESSAGE_SIZE = 50 * 1024 * 1024;

const port = z.coerce.number().int().min(0).max(65535);
const bool = z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());

/**
 * The whole configuration, with its defaults. Loaded once at start-up: defaults → optional
 * YAML/JSON file → environment (`POSTFLOW_<SECTION>_<KEY>`, e.g. `POSTFLOW_SMTP_PORT`).
 */
export const configSchema = z
  .object({
    profile: z.enum(['embedded', 'distributed']).default('embedded'),
    /** Folder of the embedded profile's SQLite database, blobs and Temporal database. */
    dataDir: z.string().min(1).default('./data'),
    /** Name announced in SMTP/IMAP greetings. */
    hostname: z.string().min(1).default('localhost'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    smtp: z
      .object({
        enabled: bool.default(true),
        host: z.string().default('127.0.0.1'),
        port: port.default(2525),
        maxMessageSize: z.coerce.number().int().positive().default(DEFAULT_MAX_MESSAGE_SIZE),
      })
      .strict()
      .default({}),
    imap: z
      .object({
        enabled: bool.default(true),
        host: z.string().default('127.0.0.1'),
        port: port.default(1143),
      })
      .strict()
      .default({}),
    webadmin: z
      .object({
        enabled: bool.default(true),
        host: z.string().default('127.0.0.1'),
        port: port.default(8000),
      })
      .strict()
      .default({}),
    temporal: z
      .object({
        /** `host:port` of an existing Temporal frontend. Empty: the embedded profile starts a dev server. */
        address: z.string().default(''),
        namespace: z.string().min(1).default('default'),
        taskQueue: z.string().min(1).default('postflow-mail'),
        /** Path of the `temporal` CLI; empty: PATH, then the project's `.tools` folder. */
        cliPath: z.string().default(''),
        devServerPort: port.default(7233),
        uiPort: port.default(8233),
        /** Run a worker in this process (a node may be front-end only). */
        worker: bool.default(true),
      })
      .strict()
      .default({}),
    cassandra: z
      .object({
        contactPoints: z.preprocess((v) => (typeof v === 'string' ? v.split(',') : v), z.array(z.string().min(1)).min(1)).default(['127.0.0.1:9042']),
        localDataCenter: z.string().default('datacenter1'),
        keyspace: z.string().regex(/^[a-z][a-z0-9_]{0,47}$/, 'a Cassandra keyspace name ([a-z][a-z0-9_]*)').default('postflow'),
        replicationFactor: z.coerce.number().int().positive().default(1),
      })
      .strict()
      .default({}),
    s3: z
      .object({
        endpoint: z.string().url().default('http://127.0.0.1:9000'),
        region: z.string().default('us-east-1'),
        accessKeyId: z.string().default('postflow'),
        secretAccessKey: z.string().default('postflow-secret'),
        /** Buckets are named `<bucketPrefix><bucket>`. */
        bucketPrefix: z.string().regex(/^[a-z0-9-]{0,20}$/, 'lower-case letters, digits and dashes').default('postflow-'),
      })
      .strict()
      .default({}),
    rabbitmq: z
      .object({
        uri: z.string().regex(/^amqps?:\/\//, 'an amqp:// or amqps:// URI').default('amqp://guest:guest@127.0.0.1:5672'),
        /** Prefix of exchanges and queues, so several clusters can share one broker. */
        prefix: z.string().default('postflow'),
      })
      .strict()
      .default({}),
  })
  .strict();

export type PostflowConfig = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
