/**
 * @module Received Sendoso webhook messages on PostgreSQL (the WebhookMessages port,
 * webhook-messages.ts), shared by every instance. A message is recorded once by INSERT … ON
 * CONFLICT DO NOTHING on its svix-id. Taking messages to apply is one statement that picks free
 * rows with FOR UPDATE SKIP LOCKED and sets their hold: rows another drainer is taking right now
 * are skipped rather than waited for, and a row whose hold another drainer committed meanwhile is
 * re-checked against the hold (READ COMMITTED re-evaluates a locked row's WHERE) and left out — so
 * two drainers never hold one message at once.
 */
import type { PgQueryable } from '../../storage/index.js';
import type { MessageRow, WebhookMessage, WebhookMessages } from './webhook-messages.js';
import { HOLD_MS, toMessages } from './webhook-messages.js';

export class PgWebhookMessages implements WebhookMessages {
  constructor(private readonly db: PgQueryable) {}

  async receive(svixId: string, svixTimestamp: string, sendGid: string, statusChangedAt: string | null, now: number): Promise<'new' | 'retry' | 'replay'> {
    const inserted = await this.db.query(
      'INSERT INTO sendoso_webhook_messages (svix_id, svix_timestamp, send_gid, status_changed_at, received_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (svix_id) DO NOTHING',
      [svixId, svixTimestamp, sendGid, statusChangedAt, now],
    );
    if (inserted.rowCount > 0) return 'new';
    const { rows } = await this.db.query<{ svix_timestamp: string }>('SELECT svix_timestamp FROM sendoso_webhook_messages WHERE svix_id = $1', [svixId]);
    return rows[0]?.svix_timestamp === svixTimestamp ? 'replay' : 'retry';
  }

  async take(now: number, limit = 100): Promise<WebhookMessage[]> {
    const { rows } = await this.db.query<MessageRow>(
      `WITH free AS (
         SELECT svix_id FROM sendoso_webhook_messages
         WHERE applied_at IS NULL AND (claimed_until IS NULL OR claimed_until <= $2)
         ORDER BY received_at LIMIT $3
         FOR UPDATE SKIP LOCKED
       )
       UPDATE sendoso_webhook_messages m SET claimed_until = $1 FROM free WHERE m.svix_id = free.svix_id
       RETURNING m.svix_id, m.send_gid, m.received_at, m.attempts`,
      [now + HOLD_MS, now, limit],
    );
    return toMessages(rows);
  }

  async markApplied(svixId: string, now: number): Promise<void> {
    await this.db.query('UPDATE sendoso_webhook_messages SET applied_at = $1, attempts = attempts + 1, claimed_until = NULL WHERE svix_id = $2', [now, svixId]);
  }

  async markTried(svixId: string, retryAt: number): Promise<void> {
    await this.db.query('UPDATE sendoso_webhook_messages SET attempts = attempts + 1, claimed_until = $1 WHERE svix_id = $2', [retryAt, svixId]);
  }
}
