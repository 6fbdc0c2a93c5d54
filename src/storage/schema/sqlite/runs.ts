/**
 * @module Runs (orchestrator/sqlite-run-store.ts): one row per run with its snapshot and the lease
 * of the process driving it, the run's event log and its items, and per-status item counts kept
 * by triggers.
 */
import type { StoreSchema } from '../migration.js';

export const runsSchema: StoreSchema = {
  module: 'orchestrator',
  migrations: [
    {
      version: 1,
      description: 'runs, run events, run items',
      sql: `
      CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        workflow TEXT NOT NULL,
        machine_version INTEGER NOT NULL,
        status TEXT NOT NULL,
        state TEXT,
        input TEXT NOT NULL,
        snapshot TEXT,
        output TEXT,
        summary TEXT,
        owner_pid INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX runs_status ON runs (status, updated_at);
      CREATE TABLE run_events (
        run_id TEXT NOT NULL REFERENCES runs (id),
        seq INTEGER NOT NULL,
        at INTEGER NOT NULL,
        type TEXT NOT NULL,
        data TEXT,
        PRIMARY KEY (run_id, seq)
      ) WITHOUT ROWID;
      CREATE TABLE run_items (
        run_id TEXT NOT NULL REFERENCES runs (id),
        idx INTEGER NOT NULL,
        line INTEGER NOT NULL,
        email TEXT NOT NULL,
        name TEXT,
        company TEXT,
        status TEXT NOT NULL,
        detail TEXT,
        PRIMARY KEY (run_id, idx)
      ) WITHOUT ROWID;
      CREATE INDEX run_items_status ON run_items (run_id, status);
    `,
    },
    {
      version: 2,
      description: 'run items remember the intent or approval that carries their send',
      sql: `
      ALTER TABLE run_items ADD COLUMN ref TEXT;
      CREATE INDEX run_items_ref ON run_items (ref) WHERE ref IS NOT NULL;
    `,
    },
    {
      version: 3,
      description: 'run item counts per status, kept by triggers, so progress never scans the items',
      sql: `
      CREATE TABLE run_item_counts (
        run_id TEXT NOT NULL,
        status TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (run_id, status)
      ) WITHOUT ROWID;
      INSERT INTO run_item_counts (run_id, status, n) SELECT run_id, status, COUNT(*) FROM run_items GROUP BY run_id, status;
      CREATE TRIGGER run_items_counted_insert AFTER INSERT ON run_items BEGIN
        INSERT INTO run_item_counts (run_id, status, n) VALUES (new.run_id, new.status, 1)
          ON CONFLICT (run_id, status) DO UPDATE SET n = n + 1;
      END;
      CREATE TRIGGER run_items_counted_update AFTER UPDATE OF status ON run_items WHEN old.status IS NOT new.status BEGIN
        UPDATE run_item_counts SET n = n - 1 WHERE run_id = old.run_id AND status = old.status;
        INSERT INTO run_item_counts (run_id, status, n) VALUES (new.run_id, new.status, 1)
          ON CONFLICT (run_id, status) DO UPDATE SET n = n + 1;
      END;
      CREATE TRIGGER run_items_counted_delete AFTER DELETE ON run_items BEGIN
        UPDATE run_item_counts SET n = n - 1 WHERE run_id = old.run_id AND status = old.status;
      END;
    `,
    },
    {
      version: 4,
      description: 'runs listed newest first, all or by status, from an index (the console pages through them)',
      sql: `
      CREATE INDEX runs_created ON runs (created_at, id);
      CREATE INDEX runs_status_created ON runs (status, created_at, id);
    `,
    },
    {
      version: 5,
      description: 'runs are held by leases (an owner id and an expiry), not by a process id',
      // owner_pid stays (a released column is never dropped) but nothing reads it any more: a run
      // it named is free, and the next instance that looks takes it over.
      sql: `
      ALTER TABLE runs ADD COLUMN owner TEXT;
      ALTER TABLE runs ADD COLUMN lease_until INTEGER;
    `,
    },
  ],
};
