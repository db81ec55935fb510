import { z } from 'zod';
import { INLINE_BLOB_MAX_BYTES, MAX_INLINE_BLOB_BYTES } from '../blob/sqlite/inline-limits';

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
        /** Submission listener (RFC 6409, 587-like): AUTH required; authenticated mail may relay. */
        submissionEnabled: bool.default(true),
        submissionPort: port.default(2587),
        /** Implicit-TLS submission (RFC 8314, 465-like); listens only when `tls.*` is set. */
        tlsPort: port.default(2465),
        /**
         * When the `250` is given. `journal` (embedded profile): once the mail is a durable row of
         * the local database; its workflow starts right after (retried until Temporal takes it).
         * `start`: once Temporal has started its workflow (always so on the distributed profile).
         */
        handOff: z.enum(['journal', 'start']).default('journal'),
      })
      .strict()
      .default({}),
    imap: z
      .object({
        enabled: bool.default(true),
        host: z.string().default('127.0.0.1'),
        port: port.default(1143),
        /** Implicit-TLS IMAP (RFC 8314, 993-like); listens only when `tls.*` is set. */
        tlsPort: port.default(1993),
      })
      .strict()
      .default({}),
    /** Certificate of SMTP and IMAP (STARTTLS and the implicit-TLS ports); both empty: no TLS. */
    tls: z
      .object({
        certFile: z.string().default(''),
        keyFile: z.string().default(''),
      })
      .strict()
      .default({}),
    /** Authentication of SMTP, IMAP (and later POP3, JMAP). */
    auth: z
      .object({
        /** Plain-text credentials without TLS: `always`, `loopback` (clients on 127.0.0.0/8 and ::1 only) or `never`. */
        plainTextAuth: z.enum(['always', 'loopback', 'never']).default('loopback'),
        /** Failed logins per account, then per remote address, within the window before attempts are refused. */
        maxFailuresPerAccount: z.coerce.number().int().positive().default(10),
        maxFailuresPerAddress: z.coerce.number().int().positive().default(30),
        windowSeconds: z.coerce.number().int().positive().default(15 * 60),
        /** Delay of every failed login's answer. */
        failureDelayMs: z.coerce.number().int().min(0).max(10_000).default(500),
      })
      .strict()
      .default({}),
    /** Local domains (James domainlist.xml). */
    domains: z
      .object({
        /** Always local, cannot be removed. */
        defaultDomain: z.string().min(1).default('localhost'),
        /** Add this host's name to the local domains at start-up. */
        autoDetect: bool.default(false),
      })
      .strict()
      .default({}),
    /** Where accounts live: `local` (SQLite/Cassandra) or `ldap` (read-only, see `ldap.*`). */
    users: z
      .object({
        repository: z.enum(['local', 'ldap']).default('local'),
      })
      .strict()
      .default({}),
    /** Read-only LDAP users (James ReadOnlyUsersLDAPRepository), used when `users.repository` is `ldap`. */
    ldap: z
      .object({
        url: z.string().regex(/^ldaps?:\/\//, 'an ldap:// or ldaps:// URL').default('ldap://127.0.0.1:3389'),
        bindDn: z.string().default(''),
        bindPassword: z.string().default(''),
        baseDn: z.string().default('ou=people,dc=postflow,dc=test'),
        userIdAttribute: z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/, 'an attribute name').default('mail'),
        userObjectClass: z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/, 'an object class name').default('inetOrgPerson'),
        filter: z.string().regex(/^(\(.*\))?$/, 'empty or an RFC 4515 filter in parentheses').default(''),
        connectTimeoutMs: z.coerce.number().int().positive().default(5_000),
        timeoutMs: z.coerce.number().int().positive().default(10_000),
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
        /** Start received mails eagerly on this node's worker (saves a poll round trip per mail; docs/performance.md). */
        eagerStart: bool.default(true),
        /**
         * Workflow tasks this node's worker holds at once (the SDK's maxConcurrentWorkflowTaskExecutions,
         * default 40 there). A received mail's workflow task holds a slot while its local batch runs, and
         * an eager start needs a free one: with 40, 8-25 % of the mails of a 10-session load fell back to a
         * start through matching (docs/performance.md, stop 23).
         */
        workflowTaskSlots: z.coerce.number().int().min(2).max(10_000).default(256),
        /** Embedded dev server: `lean` drops the visibility indexes no query needs (less CPU per mail), `all` keeps them (docs/performance.md). */
        visibilityIndexes: z.enum(['lean', 'all']).default('lean'),
        /**
         * Embedded dev server: Go threads running its code at once (GOMAXPROCS). 0: half this
         * machine's cores, at least 1 — it shares them with this process (docs/performance.md).
         */
        devServerMaxProcs: z.coerce.number().int().min(0).max(1024).default(0),
        /** Embedded dev server: Go garbage collector target (GOGC, percent of live heap; Go's default is 100). */
        devServerGoGc: z.coerce.number().int().min(10).max(10_000).default(400),
      })
      .strict()
      .default({}),
    /** The mailet container (James mailetcontainer.xml): processor graph and custom mailets. */
    mailetcontainer: z
      .object({
        /** Processor graph file: YAML/JSON, or James' mailetcontainer.xml. Empty: James' distributed default. */
        file: z.string().default(''),
        /** Directory whose modules export custom matchers and mailets (defineMatcher/defineMailet). */
        customMailetsDirectory: z.string().default(''),
        /** npm packages exporting custom matchers and mailets. */
        customMailetPackages: z.preprocess((v) => (typeof v === 'string' ? v.split(',').filter(Boolean) : v), z.array(z.string())).default([]),
        /** Postmaster address; empty: `postmaster@<domains.defaultDomain>`. */
        postmaster: z.string().default(''),
        /** `batched`: a processor's local steps run in one local activity; `per-step`: one activity per mailet. */
        execution: z.enum(['batched', 'per-step']).default('batched'),
      })
      .strict()
      .default({}),
    /** RemoteDelivery defaults (its mailet parameters win); James' delays when empty. */
    remoteDelivery: z
      .object({
        /** `host[:port]` list used instead of MX records (James `gateway`), e.g. a smarthost. */
        gateway: z.preprocess((v) => (typeof v === 'string' ? v.split(',').filter(Boolean) : v), z.array(z.string())).default([]),
        /** Port of the MX hosts. */
        port: port.default(25),
        /** Retry delays (James `delayTime` syntax: `5000, 100000, 500000` or `2*5 minutes`); empty: James' default. */
        delays: z.string().default(''),
        maxRetries: z.coerce.number().int().min(0).optional(),
        /** EHLO name; empty: `hostname`. */
        heloName: z.string().default(''),
        connectTimeoutMs: z.coerce.number().int().positive().default(60_000),
        /** RFC 5321 §4.5.3.2 allows 5 minutes per reply; lower it for tests. */
        greetingTimeoutMs: z.coerce.number().int().positive().default(300_000),
        socketTimeoutMs: z.coerce.number().int().positive().default(600_000),
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
    /** Blob store of both profiles (files or S3). */
    blobStore: z
      .object({
        /**
         * AES-256-GCM encryption at rest. `key`: base64 of 32 random bytes (`openssl rand -base64 32`);
         * unset or empty: blobs are stored in clear. Environment: `POSTFLOW_BLOB_STORE_ENCRYPTION=<key>`.
         */
        encryption: z
          .preprocess(
            (v) => (typeof v === 'string' ? { key: v } : v),
            z
              .object({
                key: z
                  .string()
                  .refine((v) => v === '' || isBase64Aes256Key(v), 'expected base64 of exactly 32 bytes (an AES-256 key: `openssl rand -base64 32`)')
                  .transform((v) => (v === '' ? undefined : v))
                  .optional(),
              })
              .strict(),
          )
          .default({}),
        /**
         * Embedded profile: blobs of at most this many bytes are rows of the SQLite database, stored
         * with its group commit; larger ones are files. 0: every blob is a file. Environment:
         * `POSTFLOW_BLOB_STORE_INLINE_MAX_BYTES`.
         */
        inlineMaxBytes: z.coerce.number().int().min(0).max(MAX_INLINE_BLOB_BYTES).default(INLINE_BLOB_MAX_BYTES),
      })
      .strict()
      .default({}),
    /** Group listeners of the event bus (both adapters): retries with exponential back-off, then dead letters. */
    events: z
      .object({
        maxRetries: z.coerce.number().int().min(0).max(20).default(3),
        firstBackoffMs: z.coerce.number().int().positive().default(100),
      })
      .strict()
      .default({}),
    /** Search index of the distributed profile (the embedded profile uses SQLite FTS5 in its database). */
    opensearch: z
      .object({
        url: z.string().url().default('http://127.0.0.1:9200'),
        /** Prefix of the index names, so several clusters (or test runs) share one OpenSearch. */
        indexPrefix: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, ".", "_" or "-"').default('postflow-'),
        shards: z.coerce.number().int().min(1).max(64).default(1),
        replicas: z.coerce.number().int().min(0).max(8).default(0),
      })
      .strict()
      .default({}),
    /** Apache Tika server for attachment text in the search index; empty: attachments are indexed by name only. */
    tika: z
      .object({
        url: z.union([z.literal(''), z.string().url()]).default(''),
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
    /** Quotas: warnings sent to a user when the occupation crosses a threshold (limits are set through WebAdmin). */
    quota: z
      .object({
        /** Occupation ratios, comma-separated (`0.8,0.95`), each in (0, 1]; empty: no warning mail. */
        thresholds: z
          .preprocess((v) => (typeof v === 'string' ? v.split(',').map((x) => x.trim()).filter(Boolean).map(Number) : v), z.array(z.number().gt(0).max(1)).max(10))
          .default([0.8, 0.95]),
        /** Users allowed to run IMAP SETQUOTA (and read every quota root), comma-separated. */
        imapAdmins: z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((x) => x.trim().toLowerCase()).filter(Boolean) : v), z.array(z.string())).default([]),
        warningSubject: z.string().max(200).default('Warning: Your email usage just exceeded a configured threshold'),
        /** Placeholders: {{user}} {{countThreshold}} {{sizeThreshold}} {{countUsed}} {{countLimit}} {{sizeUsed}} {{sizeLimit}}. */
        warningBody: z
          .string()
          .max(10_000)
          .default(
            'You receive this email because you recently exceeded a threshold related to the quotas of your email account.\n\n' +
              'Messages: {{countUsed}} of {{countLimit}} (threshold {{countThreshold}}).\nSize: {{sizeUsed}} of {{sizeLimit}} octets (threshold {{sizeThreshold}}).\n\n' +
              'You need to be aware that actions leading to exceeded quotas will be denied. This will result in a degraded service.\n' +
              'To mitigate this issue you might reach your administrator in order to increase your configured quota. You might also delete some non important emails.',
          ),
      })
      .strict()
      .default({}),
    /** SpamAssassin's spamd, for spam learning on moves into or out of Junk (empty host: not configured). */
    spamassassin: z
      .object({
        host: z.string().default(''),
        port: port.default(783),
      })
      .strict()
      .default({}),
  })
  .strict();

export type PostflowConfig = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

/** Canonical base64 of exactly 32 bytes (what `openssl rand -base64 32` prints). */
function isBase64Aes256Key(value: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return false;
  const bytes = Buffer.from(value, 'base64');
  return bytes.length === 32 && bytes.toString('base64') === value;
}
