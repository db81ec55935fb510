import { Client, types, type QueryOptions } from 'cassandra-driver';
import type { Logger } from 'pino';
import type { PostflowConfig } from '../../config/schema';
import { InvalidInputError, errorMessage } from '../../core/errors';
import { DATA_TABLES, SCHEMA_AREAS, type DataTable } from './cassandra-schema';

/** A node that cannot open a socket to any contact point within this time is reported unreachable. */
export const CASSANDRA_CONNECT_TIMEOUT_MS = 5_000;
/** Client-side bound of one request; above Cassandra's own 2 s write / 5 s read timeouts. */
export const CASSANDRA_READ_TIMEOUT_MS = 12_000;
/** Schema changes (CREATE/DROP/TRUNCATE) wait for schema agreement: allow a loaded node a minute. */
export const CASSANDRA_DDL_TIMEOUT_MS = 60_000;
/** DDL waits for all nodes to agree on the schema before the next statement. */
const SCHEMA_AGREEMENT_WAIT_SECONDS = 20;

const KEYSPACE = /^[a-z][a-z0-9_]{0,47}$/;

export type CassandraConfig = PostflowConfig['cassandra'];
export type Params = unknown[];

/**
 * The one Cassandra client of a node, bound to its keyspace. Every statement is prepared and runs
 * at LOCAL_QUORUM (LOCAL_SERIAL for the Paxos phase of LWTs), so a 2-node cluster with RF 2 reads
 * its own writes from either node.
 */
export class CassandraSession {
  private constructor(
    readonly client: Client,
    readonly keyspace: string,
    readonly contactPoints: readonly string[],
  ) {}

  /**
   * Connects, then creates the keyspace (SimpleStrategy, `replicationFactor`) and migrates the
   * schema. Rejects with `Cannot reach Cassandra at <contact points>: …` when no node answers.
   *
   * Nodes starting at the same time may both run the `IF NOT EXISTS` DDL; Cassandra 5.0 has no
   * transactional schema changes, so start the first node of a new cluster alone.
   */
  static async connect(
    config: CassandraConfig,
    options: { keyspace?: string; logger?: Logger; connectTimeoutMs?: number } = {},
  ): Promise<CassandraSession> {
    const keyspace = options.keyspace ?? config.keyspace;
    if (!KEYSPACE.test(keyspace)) throw new InvalidInputError(`Invalid Cassandra keyspace name: ${JSON.stringify(keyspace)}`);
    const client = new Client({
      contactPoints: [...config.contactPoints],
      localDataCenter: config.localDataCenter,
      queryOptions: {
        consistency: types.consistencies.localQuorum,
        serialConsistency: types.consistencies.localSerial,
        prepare: true,
      },
      socketOptions: { connectTimeout: CASSANDRA_CONNECT_TIMEOUT_MS, readTimeout: CASSANDRA_READ_TIMEOUT_MS },
      protocolOptions: { maxSchemaAgreementWaitSeconds: SCHEMA_AGREEMENT_WAIT_SECONDS },
      pooling: { warmup: true },
    });
    const logger = options.logger;
    if (logger) {
      client.on('log', (level: string, className: string, message: string) => {
        if (level === 'error') logger.error({ className }, message);
        else if (level === 'warning') logger.warn({ className }, message);
      });
    }
    const address = config.contactPoints.join(', ');
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.connect(),
        new Promise((_, reject) => {
          const ms = options.connectTimeoutMs ?? 3 * CASSANDRA_CONNECT_TIMEOUT_MS;
          timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
        }),
      ]);
    } catch (err) {
      await client.shutdown().catch(() => undefined);
      throw new Error(`Cannot reach Cassandra at ${address}: ${describeConnectError(err)}`);
    } finally {
      clearTimeout(timer);
    }
    const session = new CassandraSession(client, keyspace, config.contactPoints);
    try {
      await session.migrate(config.replicationFactor, logger);
    } catch (err) {
      await client.shutdown().catch(() => undefined);
      throw new Error(`Cannot create the Cassandra schema in keyspace ${keyspace} at ${address}: ${errorMessage(err)}`);
    }
    return session;
  }

  /** Fully qualified name of a table of this keyspace. */
  table(name: DataTable | 'schema_version'): string {
    return `${this.keyspace}.${name}`;
  }

  execute(query: string, params: Params = [], options: QueryOptions = {}): Promise<types.ResultSet> {
    return this.client.execute(query, params, { prepare: true, ...options });
  }

  /** Streams every row of a query, one page of `fetchSize` rows at a time. */
  async *rows(query: string, params: Params, fetchSize: number): AsyncGenerator<types.Row> {
    let pageState: string | undefined;
    do {
      const result = await this.execute(query, params, { fetchSize, pageState });
      yield* result.rows;
      pageState = result.pageState ?? undefined;
    } while (pageState);
  }

  /** Returns the server's `release_version`; rejects when the cluster does not answer. */
  async releaseVersion(): Promise<string> {
    const result = await this.execute('SELECT release_version FROM system.local', [], { readTimeout: 5_000 });
    return String(result.first()?.get('release_version') ?? 'unknown');
  }

  /** Empties tables (all data tables by default). For tests: TRUNCATE needs every node up. */
  async truncate(tables: readonly DataTable[] = DATA_TABLES): Promise<void> {
    await Promise.all(tables.map((name) => this.ddl(`TRUNCATE ${this.table(name)}`)));
  }

  /** Drops this session's keyspace. For tests. */
  async dropKeyspace(): Promise<void> {
    await this.ddl(`DROP KEYSPACE IF EXISTS ${this.keyspace}`);
  }

  async close(): Promise<void> {
    await this.client.shutdown();
  }

  /**
   * Schema statements run once: not prepared (the client prepares everything else). Schema
   * agreement on a busy node takes longer than a query, hence their own, longer timeout.
   */
  private async ddl(statement: string): Promise<void> {
    await this.client.execute(statement, [], { prepare: false, readTimeout: CASSANDRA_DDL_TIMEOUT_MS });
  }

  private async migrate(replicationFactor: number, logger?: Logger): Promise<void> {
    await this.ddl(`CREATE KEYSPACE IF NOT EXISTS ${this.keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': ${replicationFactor}}`);
    await this.ddl(`CREATE TABLE IF NOT EXISTS ${this.table('schema_version')} (name text PRIMARY KEY, version int)`);
    for (const area of SCHEMA_AREAS) {
      const row = (await this.execute(`SELECT version FROM ${this.table('schema_version')} WHERE name = ?`, [area.name])).first();
      const current = row ? Number(row.get('version')) : 0;
      const migrations = area.migrations(this.keyspace);
      for (let version = current; version < migrations.length; version++) {
        for (const step of migrations[version]) {
          if (typeof step === 'string') await this.ddl(step);
          else await step(this, logger);
        }
        await this.execute(`UPDATE ${this.table('schema_version')} SET version = ? WHERE name = ?`, [version + 1, area.name]);
      }
    }
  }
}

function describeConnectError(err: unknown): string {
  const inner = (err as { innerErrors?: Record<string, unknown> }).innerErrors;
  if (inner && Object.keys(inner).length > 0) {
    return Object.entries(inner)
      .map(([host, cause]) => `${host}: ${errorMessage(cause).replace(/^Error: /, '')}`)
      .join('; ');
  }
  return errorMessage(err);
}
