/**
 * @module SQLite for giftguard's own data (the ledger, runs, MCP servers and tokens, audits…):
 * one file, WAL mode so readers never block the writer, a busy timeout so several processes can
 * share it, and brought to the current schema (./schema) whenever it is opened.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { PRIVATE_DIRECTORY_MODE, restrictToOwner } from './private-files.js';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { SQLITE_SCHEMA } from './schema/index.js';
import type { StoreSchema } from './schema/index.js';

export type { Database as SqliteDatabase } from 'better-sqlite3';

/** The size a restarted WAL file is truncated to (8 MiB). */
export const WAL_SIZE_LIMIT_BYTES = 8 * 1024 * 1024;

/**
 * Opens (creating if needed) a database file, or ':memory:' for tests that need no file, migrated
 * to the current schema of every store: a store is handed a database that already has its tables.
 */
export function openDatabase(path: string): SqliteDatabase {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
  const db = new Database(path);
  if (path !== ':memory:') {
    // Owner-only whatever the umask; SQLite gives the -wal and -shm files it creates the same mode.
    for (const file of [path, `${path}-wal`, `${path}-shm`]) restrictToOwner(file);
  }
  db.pragma('journal_mode = WAL');
  // A checkpointed WAL is cut back to this size when it restarts, so a burst (or weeks of steady
  // traffic) does not leave a file of hundreds of megabytes behind.
  db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
  // NORMAL is durable across application crashes in WAL mode; only an OS crash can lose the last commit.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrateAll(db);
  return db;
}

/**
 * Brings `db` to `schema` (every store's, by default): applies each migration not yet recorded in
 * `schema_migrations`, each in its own transaction, and records it by module and version.
 * BEGIN IMMEDIATE makes concurrent processes take turns instead of both applying version N.
 */
export function migrateAll(db: SqliteDatabase, schema: readonly StoreSchema[] = SQLITE_SCHEMA): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    module TEXT NOT NULL,
    version INTEGER NOT NULL,
    description TEXT NOT NULL,
    applied_at INTEGER NOT NULL,
    PRIMARY KEY (module, version)
  )`);
  const key = (module: string, version: number) => `${module}@${version}`;
  // One read finds what may be missing; only those take a write transaction.
  const recorded = new Set(db.prepare<[], { module: string; version: number }>('SELECT module, version FROM schema_migrations').all().map((r) => key(r.module, r.version)));
  const applied = db.prepare('SELECT 1 FROM schema_migrations WHERE module = ? AND version = ?');
  const record = db.prepare('INSERT INTO schema_migrations (module, version, description, applied_at) VALUES (?, ?, ?, ?)');
  for (const { module, migrations } of schema) {
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (recorded.has(key(module, migration.version))) continue;
      const apply = db.transaction(() => {
        // Another process may have applied it since the read above.
        if (applied.get(module, migration.version)) return;
        db.exec(migration.sql);
        record.run(module, migration.version, migration.description, Date.now());
      });
      apply.immediate();
    }
  }
}
