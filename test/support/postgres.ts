/**
 * The PostgreSQL server tests run against (127.0.0.1:5432, database `test`, trust auth; another
 * with GIFTGUARD_TEST_DATABASE_URL). Each caller gets its own schema, dropped when it is done, so
 * test files running side by side — and two CI runs — never see each other's rows. A server that
 * does not answer fails the test: it is never skipped.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PgDatabase } from '../../src/storage/index.js';
import type { SqliteDatabase } from '../../src/storage/index.js';
import { openDatabase } from '../../src/storage/index.js';

export const TEST_DATABASE_URL = process.env['GIFTGUARD_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A schema name no other test run uses. */
export function uniqueSchemaName(label = 't'): string {
  return `gg_${label.replace(/[^a-z0-9_]/g, '_').slice(0, 20)}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** The test server's URL with `?schema=` set to a new schema (created by the first connection). */
export function schemaUrl(schema: string): string {
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set('schema', schema);
  return url.toString();
}

/** Drops a schema made by a test, with everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

/** A migrated PostgreSQL database in a schema of its own; `close` drops the schema. */
export async function freshPostgres(label?: string): Promise<{ db: PgDatabase; url: string; schema: string; close(): Promise<void> }> {
  const schema = uniqueSchemaName(label);
  const url = schemaUrl(schema);
  const db = new PgDatabase({ url, maxConnections: 12 });
  await db.ready();
  return {
    db,
    url,
    schema,
    async close() {
      await db.close();
      await dropSchema(schema);
    },
  };
}

/**
 * The two stores every store contract runs against. `open` gives a fresh, migrated, empty
 * database of that kind; `close` removes it.
 */
export type StoreKind = 'sqlite' | 'postgres';
export type OpenedStore = { kind: 'sqlite'; db: SqliteDatabase; close(): Promise<void> } | { kind: 'postgres'; db: PgDatabase; url: string; close(): Promise<void> };

export const STORE_KINDS: readonly StoreKind[] = ['sqlite', 'postgres'];

export async function openStore(kind: StoreKind, label?: string): Promise<OpenedStore> {
  if (kind === 'sqlite') {
    const db = openDatabase(':memory:');
    return { kind, db, close: async () => void db.close() };
  }
  const opened = await freshPostgres(label);
  return { kind, db: opened.db, url: opened.url, close: opened.close };
}
