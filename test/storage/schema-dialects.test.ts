/**
 * The two dialects describe one database: every store's tables exist in both with the same
 * columns, so the same store code paths above the port read the same data, and `giftguard db
 * migrate-to` carries every column over (its copy goes by table and column name).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES_SCHEMA, SQLITE_SCHEMA, openDatabase } from '../../src/storage/index.js';
import type { PgDatabase, SqliteDatabase } from '../../src/storage/index.js';
import { freshPostgres } from '../support/postgres.js';

/**
 * Tables only PostgreSQL needs: facts the instances sharing it agree on (one SQLite file has one
 * data directory), and the account's own token pair (on one machine it stays in sendoso-tokens.json).
 */
const POSTGRES_ONLY = new Set(['shared_settings', 'sendoso_account_tokens']);
/** The modules of those tables. */
const POSTGRES_ONLY_MODULES = new Set(['instances', 'account-tokens']);
/**
 * SQLite columns PostgreSQL does not keep, and why: a process id says nothing across machines
 * (runs are owned by leases on both; SQLite keeps the old column because SQLite cannot drop it cheaply).
 */
const SQLITE_ONLY_COLUMNS = new Set(['runs.owner_pid']);

let sqlite: SqliteDatabase;
let postgres: { db: PgDatabase; close(): Promise<void> };
beforeAll(async () => {
  sqlite = openDatabase(':memory:');
  postgres = await freshPostgres('dialects');
});
afterAll(async () => {
  sqlite.close();
  await postgres.close();
});

async function postgresColumns(): Promise<Map<string, string[]>> {
  const { rows } = await postgres.db.query<{ table_name: string; column_name: string }>(
    "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name <> 'schema_migrations' ORDER BY table_name, column_name",
  );
  const tables = new Map<string, string[]>();
  for (const r of rows) tables.set(r.table_name, [...(tables.get(r.table_name) ?? []), r.column_name]);
  return tables;
}

function sqliteColumns(): Map<string, string[]> {
  const tables = new Map<string, string[]>();
  const names = sqlite.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'").all();
  for (const { name } of names) {
    tables.set(name, sqlite.prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('${name}')`).all().map((c) => c.name).sort());
  }
  return tables;
}

describe('SQLite and PostgreSQL schemas', () => {
  it('list the same store modules', () => {
    expect(POSTGRES_SCHEMA.map((s) => s.module).filter((m) => !POSTGRES_ONLY_MODULES.has(m)).sort()).toEqual(SQLITE_SCHEMA.map((s) => s.module).sort());
  });

  it('have the same tables with the same columns', async () => {
    const pg = await postgresColumns();
    const lite = sqliteColumns();
    expect([...pg.keys()].filter((t) => !POSTGRES_ONLY.has(t)).sort()).toEqual([...lite.keys()].sort());
    for (const [table, columns] of lite) {
      expect({ table, columns: pg.get(table) }).toEqual({ table, columns: columns.filter((c) => !SQLITE_ONLY_COLUMNS.has(`${table}.${c}`)) });
    }
  });
});
