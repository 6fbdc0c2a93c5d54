/**
 * @module SQLite for giftguard's own data (MCP server tokens, API tokens, audit log, later the
 * ledger): one file, WAL mode so readers never block the writer, a busy timeout so several
 * processes can share it, and versioned migrations per module.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { PRIVATE_DIRECTORY_MODE, restrictToOwner } from './private-files.js';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase } from 'better-sqlite3';

export type { Database as SqliteDatabase } from 'better-sqlite3';

/** One schema change; versions are 1, 2, 3… per module and are never edited once released. */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

/** The size a restarted WAL file is truncated to (8 MiB). */
export const WAL_SIZE_LIMIT_BYTES = 8 * 1024 * 1024;

/** Opens (creating if needed) a database file; ':memory:' for tests that need no file. */
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
  return db;
}

/**
 * Applies the module's migrations that are not yet recorded, each in its own transaction.
 * BEGIN IMMEDIATE makes concurrent processes take turns instead of both applying version N.
 */
export function migrate(db: SqliteDatabase, module: string, migrations: readonly Migration[]): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    module TEXT NOT NULL,
    version INTEGER NOT NULL,
    description TEXT NOT NULL,
    applied_at INTEGER NOT NULL,
    PRIMARY KEY (module, version)
  )`);
  const applied = db.prepare('SELECT 1 FROM schema_migrations WHERE module = ? AND version = ?');
  const record = db.prepare('INSERT INTO schema_migrations (module, version, description, applied_at) VALUES (?, ?, ?, ?)');
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  for (const migration of sorted) {
    const apply = db.transaction(() => {
      if (applied.get(module, migration.version)) return;
      db.exec(migration.sql);
      record.run(module, migration.version, migration.description, Date.now());
    });
    apply.immediate();
  }
}
