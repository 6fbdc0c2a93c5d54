/**
 * @module PostgreSQL for giftguard's own data when several instances share it
 * (GIFTGUARD_DATABASE_URL=postgres://…): a node-postgres pool, brought to the current schema of
 * every store (./schema/postgres) before its first query, and transactions that say their
 * isolation and retry what PostgreSQL asks to be retried.
 *
 * Migrations: the same small runner as SQLite's (`migrateAll` in ./sqlite.ts), not a library —
 * giftguard's migrations are plain SQL per store, versioned and pinned by test/storage/schema.test.ts,
 * and the two dialects keep one bookkeeping table (`schema_migrations`) with one meaning. A library
 * (node-pg-migrate, umzug) would add a second format and a second table for no gain. Concurrent
 * instances starting at once take turns on a transaction-level advisory lock, so a version is
 * applied once.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import type { StoreSchema } from './schema/index.js';
import { POSTGRES_SCHEMA } from './schema/index.js';

/** The one statement runner a store sees: the pool, or a transaction's client. */
export interface PgQueryable {
  query<R extends QueryResultRow = QueryResultRow>(sql: string, params?: readonly unknown[], options?: PgQueryOptions): Promise<{ rows: R[]; rowCount: number }>;
}

export interface PgQueryOptions {
  /**
   * Keep the statement prepared on each connection that runs it (named by its text's hash), so
   * it is parsed and planned once per connection instead of every time, with a generic plan: for
   * the few statements of a hot path whose planning costs more than running them, and whose plan
   * does not depend on the values. Only for a bounded set of texts.
   */
  readonly prepare?: boolean;
}

/** Prepared statements' names by text (hashed once each). */
const statementNames = new Map<string, string>();
const statementName = (sql: string): string => {
  let name = statementNames.get(sql);
  if (name === undefined) {
    name = `gg_${createHash('sha1').update(sql).digest('hex').slice(0, 24)}`;
    statementNames.set(sql, name);
  }
  return name;
};

/** A query for node-postgres: named (prepared once per connection) when asked to be. */
const queryConfig = (sql: string, params: readonly unknown[], options: PgQueryOptions | undefined) => ({
  text: sql,
  values: params as unknown[],
  ...(options?.prepare === true && { name: statementName(sql) }),
});

export interface PgTransactionOptions {
  /**
   * SERIALIZABLE for a transaction whose correctness depends on what it read not changing; READ
   * COMMITTED (the default) when it takes row locks on what it depends on instead.
   */
  readonly isolation?: 'read committed' | 'repeatable read' | 'serializable';
  /** How often a serialization failure or deadlock is retried before it is thrown (default 20). */
  readonly retries?: number;
}

/** SQLSTATEs PostgreSQL uses to say "run the transaction again": serialization failure, deadlock. */
const RETRYABLE = new Set(['40001', '40P01']);
/** Arbitrary, fixed: the advisory lock migrations take turns on. */
const MIGRATION_LOCK = 0x6766_6d67;

/**
 * The URL parameters node-postgres reads (pg-connection-string and pg's connection parameters).
 * Any other is ignored by it without a word — so a misspelt `?schmea=` would put giftguard's tables
 * in the default schema, beside another deployment's; giftguard refuses the URL instead.
 */
const DRIVER_PARAMETERS = new Set([
  'host', 'port', 'user', 'password', 'database', 'db', 'encoding', 'client_encoding', 'options', 'replication',
  'ssl', 'sslmode', 'sslcert', 'sslkey', 'sslrootcert', 'sslnegotiation', 'uselibpqcompat',
  'application_name', 'fallback_application_name', 'statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout', 'query_timeout',
  'connect_timeout', 'keepalives', 'keepalives_idle',
]);

/** Splits giftguard's own `schema` parameter off a connection URL (every other parameter is node-postgres's). */
export function parseDatabaseUrl(url: string): { connectionString: string; schema: string | undefined } {
  const parsed = new URL(url);
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') throw new Error(`not a PostgreSQL URL (postgres://…): ${parsed.protocol}`);
  const unknown = [...new Set(parsed.searchParams.keys())].filter((name) => name !== 'schema' && !DRIVER_PARAMETERS.has(name));
  if (unknown.length > 0) {
    throw new Error(
      `the PostgreSQL URL has a parameter nothing reads: ${unknown.map((name) => `?${name}=`).join(', ')} — giftguard reads ?schema=name; ` +
        `node-postgres reads ${[...DRIVER_PARAMETERS].filter((name) => name.startsWith('ssl') || name === 'application_name' || name.endsWith('_timeout')).join(', ')} and the like`,
    );
  }
  const schema = parsed.searchParams.get('schema') ?? undefined;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`schema must be a lower-case SQL name (letters, digits, _): ${schema}`);
  parsed.searchParams.delete('schema');
  return { connectionString: parsed.toString(), schema };
}

/** A URL (PostgreSQL's, Redis') with its password hidden, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(a URL that does not parse)';
  }
}

export interface PgDatabaseOptions {
  /** postgres://user:pass@host:5432/db[?schema=name] — `schema` puts every table in that schema (created if missing). */
  readonly url: string;
  /** Connections this process keeps at most (default 10). */
  readonly maxConnections?: number;
  /** The schema to migrate to (every store's, by default). */
  readonly schema?: readonly StoreSchema[];
  /**
   * Runs once after migrating, before any store's first query: a check that this process may use
   * the database at all (its signing key is the one the others use). A throw fails every query.
   */
  readonly onReady?: (db: PgQueryable) => Promise<void>;
}

/**
 * One process's connection to the shared database. Construction connects nothing; the first
 * query connects, creates the schema if named and applies missing migrations, once.
 */
export class PgDatabase implements PgQueryable {
  readonly pool: Pool;
  readonly schema: string | undefined;
  private migrated: Promise<void> | undefined;
  private readonly storeSchema: readonly StoreSchema[];
  private readonly onReady: ((db: PgQueryable) => Promise<void>) | undefined;

  private readonly url: string;

  constructor(options: PgDatabaseOptions) {
    const { connectionString, schema } = parseDatabaseUrl(options.url);
    this.url = options.url;
    this.schema = schema;
    this.storeSchema = options.schema ?? POSTGRES_SCHEMA;
    this.onReady = options.onReady;
    const pg = postgresDriver();
    this.pool = new pg.Pool({
      connectionString,
      max: options.maxConnections ?? 10,
      // A dead server fails a query in seconds rather than hanging the caller (readiness depends on it).
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
      // Statements are prepared (PgQueryOptions.prepare) only to skip planning: keep their generic
      // plan. Left to choose, PostgreSQL re-plans a statement over unnest($1) arrays every time.
      options: [...(schema ? [`-c search_path=${schema}`] : []), '-c plan_cache_mode=force_generic_plan'].join(' '),
      types: { getTypeParser: numbersAsNumbers },
    });
    // An idle client whose server went away emits here; without a listener the process would exit.
    this.pool.on('error', () => undefined);
  }

  /** Connects and migrates (once); every query waits for it. */
  ready(): Promise<void> {
    this.migrated ??= this.migrate().catch((error: unknown) => {
      // A failed start (server down) is tried again by the next query rather than remembered.
      this.migrated = undefined;
      throw unusable(this.url, error);
    });
    return this.migrated;
  }

  async query<R extends QueryResultRow = QueryResultRow>(sql: string, params: readonly unknown[] = [], options?: PgQueryOptions): Promise<{ rows: R[]; rowCount: number }> {
    await this.ready();
    const result = await this.pool.query<R>(queryConfig(sql, params, options));
    return { rows: result.rows, rowCount: result.rowCount ?? 0 };
  }

  /**
   * Runs `work` in one transaction on one connection and commits; rolls back on a throw. A
   * serialization failure or deadlock runs it again from the start (so `work` must not have
   * effects outside the transaction), up to `retries` times.
   */
  async transaction<T>(work: (tx: PgQueryable) => Promise<T>, options: PgTransactionOptions = {}): Promise<T> {
    await this.ready();
    const retries = options.retries ?? 20;
    for (let attempt = 0; ; attempt += 1) {
      const client = await this.checkout();
      let broken = false;
      try {
        await client.query(`BEGIN ISOLATION LEVEL ${(options.isolation ?? 'read committed').toUpperCase()}`);
        const result = await work(clientQueryable(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        const code = (error as { code?: string }).code;
        if (code === undefined || !RETRYABLE.has(code) || attempt >= retries) throw error;
        // Contention: step back a little, more each time, so the retries do not collide again.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)));
      } finally {
        checkIn(client, broken);
      }
    }
  }

  /**
   * A connection for several statements. While it is checked out the pool no longer listens for
   * its errors, so a connection dropped between two statements (the server restarted, the network
   * went) would be thrown from its socket and end the process: the error is kept here instead, and
   * the next statement on it fails as a query error, which the caller sees.
   */
  private async checkout(): Promise<PoolClient> {
    const client = await this.pool.connect();
    client.on('error', droppedWhileCheckedOut);
    return client;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async migrate(): Promise<void> {
    const client = await this.checkout();
    let broken = false;
    try {
      await migratePostgres(clientQueryable(client), this.storeSchema, this.schema);
      await this.onReady?.(clientQueryable(client));
    } catch (error) {
      broken = true;
      throw error;
    } finally {
      checkIn(client, broken);
    }
  }
}

/**
 * The database could not be connected to or brought to the current schema: said with the server
 * it is about (password hidden), since at start-up that is the whole message a person sees. An
 * error of giftguard's own (instances disagreeing on a key or an account) already says it all.
 */
function unusable(url: string, error: unknown): Error {
  if (!(error instanceof Error) || (error as { code?: unknown }).code === undefined) return error as Error;
  const wrapped = new Error(`PostgreSQL at ${redactUrl(url)} could not be used: ${error.message}`, { cause: error });
  (wrapped as Error & { code?: unknown }).code = (error as { code?: unknown }).code;
  return wrapped;
}

/**
 * BIGINT (int8, also COUNT) and NUMERIC (SUM of BIGINT) come back as JavaScript numbers: they hold
 * epoch milliseconds, cents and counts, all well inside 2^53. Every other type as node-postgres reads it.
 */
const numbersAsNumbers = ((oid: number, format?: 'text' | 'binary') =>
  oid === 20 || oid === 1700 ? (value: string) => Number(value) : postgresDriver().types.getTypeParser(oid, format)) as PgDriver['types']['getTypeParser'];

type PgDriver = typeof import('pg');
let driver: PgDriver | undefined;
/**
 * node-postgres, loaded when the first PostgreSQL database is opened: every command's CLI loads
 * this module, and most of them (and every SQLite setup) never talk to PostgreSQL.
 */
function postgresDriver(): PgDriver {
  return (driver ??= createRequire(import.meta.url)('pg') as PgDriver);
}

/** Kept off the process: the dropped connection's next statement fails, and it is released broken. */
function droppedWhileCheckedOut(): void {}

/** Back to the pool (which listens for its errors again), or destroyed when it is broken. */
function checkIn(client: PoolClient, broken: boolean): void {
  client.removeListener('error', droppedWhileCheckedOut);
  client.release(broken);
}

function clientQueryable(client: PoolClient): PgQueryable {
  return {
    async query<R extends QueryResultRow = QueryResultRow>(sql: string, params: readonly unknown[] = [], options?: PgQueryOptions) {
      const result = await client.query<R>(queryConfig(sql, params, options));
      return { rows: result.rows, rowCount: result.rowCount ?? 0 };
    },
  };
}

/**
 * Brings the database `client` is connected to up to `schema`: each migration not yet recorded in
 * `schema_migrations` is applied and recorded in one transaction. All of it happens under one
 * advisory lock, so instances starting together take turns and each version is applied once.
 * `createSchema` is made first, under the same lock, when the URL named one.
 */
export async function migratePostgres(client: PgQueryable, schema: readonly StoreSchema[] = POSTGRES_SCHEMA, createSchema?: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    // Under the lock: two CREATE SCHEMA IF NOT EXISTS at once can both find it missing, and one fails.
    if (createSchema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${createSchema}`);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      module TEXT NOT NULL,
      version INTEGER NOT NULL,
      description TEXT NOT NULL,
      applied_at BIGINT NOT NULL,
      PRIMARY KEY (module, version)
    )`);
    const { rows } = await client.query<{ module: string; version: number }>('SELECT module, version FROM schema_migrations');
    const recorded = new Set(rows.map((r) => `${r.module}@${r.version}`));
    for (const { module, migrations } of schema) {
      for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
        if (recorded.has(`${module}@${migration.version}`)) continue;
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (module, version, description, applied_at) VALUES ($1, $2, $3, $4)', [module, migration.version, migration.description, Date.now()]);
      }
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
