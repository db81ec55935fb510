import type Database from 'better-sqlite3';

/**
 * Prepares each SQL text once per connection, on first use. `Database.prepare` compiles the SQL
 * every time it is called (≈0.1 ms each); adapters on the per-mail path (users, domains, RRT) call
 * the same few statements for every recipient. Lazy, so an adapter can be built before its schema.
 */
export class StatementCache {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  get(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}
