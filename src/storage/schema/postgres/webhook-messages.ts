/**
 * @module The Sendoso webhook messages received, by svix-id, and which drainer has one in hand
 * (triggers/webhooks/webhook-messages.ts), on PostgreSQL: SQLite's 'webhooks' v1 translated (a
 * plain primary key for WITHOUT ROWID, the partial index kept), then v2 as in SQLite.
 */
import type { StoreSchema } from '../migration.js';

export const webhookMessagesSchema: StoreSchema = {
  module: 'webhooks',
  migrations: [
    {
      version: 1,
      description: 'Sendoso webhook messages received, by svix-id',
      sql: `
          CREATE TABLE sendoso_webhook_messages (
            svix_id TEXT PRIMARY KEY,
            svix_timestamp TEXT NOT NULL,
            send_gid TEXT NOT NULL,
            status_changed_at TEXT,
            received_at BIGINT NOT NULL,
            applied_at BIGINT,
            attempts INTEGER NOT NULL DEFAULT 0
          );
          CREATE INDEX sendoso_webhook_pending ON sendoso_webhook_messages (received_at) WHERE applied_at IS NULL;
        `,
    },
    {
      version: 2,
      description: 'a drainer holds a webhook message until it is applied or its hold lapses',
      sql: 'ALTER TABLE sendoso_webhook_messages ADD COLUMN claimed_until BIGINT',
    },
  ],
};
