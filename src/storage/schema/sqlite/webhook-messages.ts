/**
 * @module The Sendoso webhook messages received, by svix-id, so a retried message is applied once
 * (triggers/webhooks/webhook-messages.ts). v2: the time until which a drainer holds a message it
 * took, so two drainers (processes or instances) never apply one message both.
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
            received_at INTEGER NOT NULL,
            applied_at INTEGER,
            attempts INTEGER NOT NULL DEFAULT 0
          ) WITHOUT ROWID;
          CREATE INDEX sendoso_webhook_pending ON sendoso_webhook_messages (received_at) WHERE applied_at IS NULL;
        `,
    },
    {
      version: 2,
      description: 'a drainer holds a webhook message until it is applied or its hold lapses',
      sql: 'ALTER TABLE sendoso_webhook_messages ADD COLUMN claimed_until INTEGER',
    },
  ],
};
