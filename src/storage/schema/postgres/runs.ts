/**
 * @module Runs on PostgreSQL (orchestrator/pg-run-store.ts): SQLite's runs tables as of its
 * version 5, translated — BIGINT for epoch ms and counts, the item counts kept by a trigger
 * function; no owner_pid, which means nothing across hosts.
 */
import type { StoreSchema } from '../migration.js';

export const runsSchema: StoreSchema = {
  module: 'orchestrator',
  migrations: [
    {
      version: 1,
      description: 'runs held by leases, run events, run items and their counts per status',
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
        owner TEXT,
        lease_until BIGINT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE INDEX runs_status ON runs (status, updated_at);
      CREATE INDEX runs_created ON runs (created_at, id);
      CREATE INDEX runs_status_created ON runs (status, created_at, id);
      CREATE TABLE run_events (
        run_id TEXT NOT NULL REFERENCES runs (id),
        seq BIGINT NOT NULL,
        at BIGINT NOT NULL,
        type TEXT NOT NULL,
        data TEXT,
        PRIMARY KEY (run_id, seq)
      );
      CREATE TABLE run_items (
        run_id TEXT NOT NULL REFERENCES runs (id),
        idx INTEGER NOT NULL,
        line INTEGER NOT NULL,
        email TEXT NOT NULL,
        name TEXT,
        company TEXT,
        status TEXT NOT NULL,
        detail TEXT,
        ref TEXT,
        PRIMARY KEY (run_id, idx)
      );
      CREATE INDEX run_items_status ON run_items (run_id, status, idx);
      CREATE INDEX run_items_ref ON run_items (ref) WHERE ref IS NOT NULL;
      CREATE TABLE run_item_counts (
        run_id TEXT NOT NULL,
        status TEXT NOT NULL,
        n BIGINT NOT NULL,
        PRIMARY KEY (run_id, status)
      );
      -- Counts move in one order (by status name) whichever way a row moves, so two rows of a run
      -- changing in opposite directions at once lock the two count rows in the same order and
      -- never deadlock.
      CREATE FUNCTION run_items_count() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'INSERT' THEN
          INSERT INTO run_item_counts (run_id, status, n) VALUES (NEW.run_id, NEW.status, 1)
            ON CONFLICT (run_id, status) DO UPDATE SET n = run_item_counts.n + 1;
        ELSIF TG_OP = 'DELETE' THEN
          UPDATE run_item_counts SET n = n - 1 WHERE run_id = OLD.run_id AND status = OLD.status;
        ELSIF OLD.status IS DISTINCT FROM NEW.status THEN
          IF OLD.status < NEW.status THEN
            UPDATE run_item_counts SET n = n - 1 WHERE run_id = OLD.run_id AND status = OLD.status;
            INSERT INTO run_item_counts (run_id, status, n) VALUES (NEW.run_id, NEW.status, 1)
              ON CONFLICT (run_id, status) DO UPDATE SET n = run_item_counts.n + 1;
          ELSE
            INSERT INTO run_item_counts (run_id, status, n) VALUES (NEW.run_id, NEW.status, 1)
              ON CONFLICT (run_id, status) DO UPDATE SET n = run_item_counts.n + 1;
            UPDATE run_item_counts SET n = n - 1 WHERE run_id = OLD.run_id AND status = OLD.status;
          END IF;
        END IF;
        RETURN NULL;
      END;
      $$;
      CREATE TRIGGER run_items_counted AFTER INSERT OR DELETE OR UPDATE OF status ON run_items
        FOR EACH ROW EXECUTE FUNCTION run_items_count();
    `,
    },
  ],
};
