/**
 * @module The guard's ledger (guard/ledger.ts, stored by guard/sqlite-ledger.ts): intents with their holds and captures, the
 * running totals every decision reads, approvals, the guard's decision audit, sends observed
 * outside giftguard, and what happened to each send after it went out.
 */
import type { StoreSchema } from '../migration.js';

export const ledgerSchema: StoreSchema = {
  module: 'guard',
  migrations: [
    {
      version: 1,
      description: 'intents, holds, captures, running totals, approvals, audit',
      sql: `
      CREATE TABLE intents (
        id TEXT PRIMARY KEY,
        key TEXT NOT NULL,
        batch_id TEXT NOT NULL,
        status TEXT NOT NULL,
        group_name TEXT NOT NULL,
        touch_id INTEGER NOT NULL,
        touch_name TEXT NOT NULL,
        recipient_email TEXT NOT NULL,
        kind TEXT NOT NULL,
        amount_cents INTEGER NOT NULL,
        currency TEXT NOT NULL,
        payload_hash TEXT NOT NULL,
        request TEXT NOT NULL,
        approval_id TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        dispatched_at INTEGER,
        tracking_code TEXT,
        sendoso_send_id INTEGER,
        response TEXT,
        detail TEXT
      ) WITHOUT ROWID;
      -- Intent ids are "<batch id>.<n>", so a batch is a primary-key range and needs no index of its
      -- own. Every index here is a page written on every commit: each one must earn its place.
      -- At most one live (or successful) intent per key: the at-most-once guarantee.
      CREATE UNIQUE INDEX intents_live_key ON intents (key) WHERE status IN ('PENDING', 'DISPATCHING', 'SENT', 'UNKNOWN');
      CREATE UNIQUE INDEX intents_send ON intents (sendoso_send_id) WHERE sendoso_send_id IS NOT NULL;
      CREATE INDEX intents_open ON intents (dispatched_at) WHERE status IN ('DISPATCHING', 'UNKNOWN');
      CREATE INDEX intents_recipient ON intents (recipient_email, created_at);
      CREATE INDEX intents_approval ON intents (approval_id) WHERE approval_id IS NOT NULL;

      CREATE TABLE holds (
        intent_id TEXT PRIMARY KEY REFERENCES intents (id),
        amount_cents INTEGER NOT NULL,
        scopes TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        closed_at INTEGER
      ) WITHOUT ROWID;
      CREATE INDEX holds_expiring ON holds (expires_at) WHERE status = 'active' AND expires_at IS NOT NULL;

      CREATE TABLE captures (
        intent_id TEXT PRIMARY KEY REFERENCES intents (id),
        amount_cents INTEGER NOT NULL,
        captured_at INTEGER NOT NULL,
        adjusted_at INTEGER
      ) WITHOUT ROWID;

      CREATE TABLE spend_totals (
        scope TEXT NOT NULL,
        window_start INTEGER NOT NULL,
        held_cents INTEGER NOT NULL DEFAULT 0,
        captured_cents INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (scope, window_start)
      ) WITHOUT ROWID;

      CREATE TABLE approvals (
        id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        payload_hash TEXT NOT NULL,
        request_key TEXT NOT NULL,
        group_name TEXT NOT NULL,
        touch_id INTEGER NOT NULL,
        touch_name TEXT NOT NULL,
        recipients TEXT NOT NULL,
        kind TEXT NOT NULL,
        amount_cents INTEGER NOT NULL,
        currency TEXT NOT NULL,
        reasons TEXT NOT NULL,
        request TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        decided_at INTEGER,
        decided_by TEXT,
        decision_reason TEXT
      );
      CREATE UNIQUE INDEX approvals_one_pending ON approvals (request_key, payload_hash) WHERE status = 'pending';
      CREATE INDEX approvals_status ON approvals (status, expires_at);

      CREATE TABLE guard_audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        event TEXT NOT NULL,
        group_name TEXT,
        touch_id INTEGER,
        recipients INTEGER,
        amount_cents INTEGER,
        outcome TEXT NOT NULL,
        reasons TEXT,
        caller TEXT,
        intent_ids TEXT,
        approval_id TEXT
      );
    `,
    },
    {
      version: 2,
      description: 'intents keep the recipient address as given beside the identity rules count by',
      sql: `ALTER TABLE intents ADD COLUMN recipient_given TEXT;`,
    },
    {
      version: 3,
      description: 'campaign names in policies, pinned to the touch id they first meant',
      sql: `CREATE TABLE policy_touch_pins (name TEXT PRIMARY KEY, touch_id INTEGER NOT NULL, pinned_at INTEGER NOT NULL) WITHOUT ROWID;`,
    },
    {
      version: 4,
      description: 'sends made outside giftguard (observed spend), what Sendoso charged, send gids, sync marks',
      sql: `
      CREATE TABLE observed_sends (
        send_id INTEGER PRIMARY KEY,
        send_gid TEXT,
        tracking_code TEXT,
        touch_id INTEGER NOT NULL,
        touch_name TEXT NOT NULL,
        recipient_email TEXT NOT NULL,
        recipient_given TEXT NOT NULL,
        sender_id INTEGER,
        group_name TEXT,
        cost_cents INTEGER NOT NULL,
        currency TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        scopes TEXT NOT NULL,
        imported_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX observed_recipient ON observed_sends (recipient_email, created_at);
      CREATE INDEX observed_gid ON observed_sends (send_gid) WHERE send_gid IS NOT NULL;
      ALTER TABLE spend_totals ADD COLUMN observed_cents INTEGER NOT NULL DEFAULT 0;
      -- What captured sends were declared to cost, beside what Sendoso charged (captured_cents).
      ALTER TABLE spend_totals ADD COLUMN declared_cents INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE intents ADD COLUMN sendoso_send_gid TEXT;
      CREATE INDEX intents_gid ON intents (sendoso_send_gid) WHERE sendoso_send_gid IS NOT NULL;
      CREATE INDEX intents_tracking ON intents (tracking_code) WHERE tracking_code IS NOT NULL;
      CREATE TABLE sync_marks (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
    `,
    },
    {
      version: 5,
      description: "what happened to each send after it went out (Sendoso's status updates)",
      sql: `
      CREATE TABLE send_deliveries (
        intent_id TEXT NOT NULL REFERENCES intents (id),
        status TEXT NOT NULL,
        at INTEGER NOT NULL,
        recorded_at INTEGER NOT NULL,
        PRIMARY KEY (intent_id, status, at)
      ) WITHOUT ROWID;
    `,
    },
    {
      version: 6,
      description: 'guard audit entries name the recipients they concern, so the trail is searchable by person',
      sql: `
      -- The identities (as per-recipient rules count them) an entry concerns, for showing it.
      ALTER TABLE guard_audit ADD COLUMN recipient_ids TEXT;
      -- And for finding a person's entries without reading the trail: one row per recipient and entry.
      CREATE TABLE guard_audit_recipients (
        recipient TEXT NOT NULL,
        audit_id INTEGER NOT NULL,
        PRIMARY KEY (recipient, audit_id)
      ) WITHOUT ROWID;
    `,
    },
    {
      version: 7,
      description: 'approval lists read newest first by an index, not a sort of every request',
      sql: `
      CREATE INDEX approvals_created ON approvals (created_at DESC, id);
      CREATE INDEX approvals_status_created ON approvals (status, created_at DESC, id);
    `,
    },
  ],
};
