/**
 * @module The Sendoso webhook messages giftguard received, by svix-id: Svix retries a message
 * until it gets a 2xx, so the same message may arrive several times — it is applied once. A
 * message received but not yet applied (Sendoso was slow to list the send) stays here to be
 * applied on the next pass.
 */
import type { SqliteDatabase } from '../../storage/index.js';

export interface WebhookMessage {
  readonly svixId: string;
  readonly sendGid: string;
  readonly receivedAt: number;
  readonly attempts: number;
}

export class WebhookMessages {
  private readonly s;

  constructor(db: SqliteDatabase) {
    this.s = {
      insert: db.prepare('INSERT OR IGNORE INTO sendoso_webhook_messages (svix_id, svix_timestamp, send_gid, status_changed_at, received_at) VALUES (?, ?, ?, ?, ?)'),
      seen: db.prepare<[string], { svix_timestamp: string }>('SELECT svix_timestamp FROM sendoso_webhook_messages WHERE svix_id = ?'),
      pending: db.prepare<[number], { svix_id: string; send_gid: string; received_at: number; attempts: number }>(
        'SELECT svix_id, send_gid, received_at, attempts FROM sendoso_webhook_messages WHERE applied_at IS NULL ORDER BY received_at LIMIT ?',
      ),
      applied: db.prepare('UPDATE sendoso_webhook_messages SET applied_at = ?, attempts = attempts + 1 WHERE svix_id = ?'),
      tried: db.prepare('UPDATE sendoso_webhook_messages SET attempts = attempts + 1 WHERE svix_id = ?'),
    };
  }

  /**
   * Records a message. `new` the first time; `retry` when Svix sends the same message again
   * (same svix-id, a later attempt with its own timestamp: our answer was lost); `replay` when the
   * very same delivery — same id, same timestamp — comes again, which Svix never does.
   */
  receive(svixId: string, svixTimestamp: string, sendGid: string, statusChangedAt: string | null, now: number): 'new' | 'retry' | 'replay' {
    if (this.s.insert.run(svixId, svixTimestamp, sendGid, statusChangedAt, now).changes > 0) return 'new';
    return this.s.seen.get(svixId)?.svix_timestamp === svixTimestamp ? 'replay' : 'retry';
  }

  pending(limit = 100): WebhookMessage[] {
    return this.s.pending.all(limit).map((r) => ({ svixId: r.svix_id, sendGid: r.send_gid, receivedAt: r.received_at, attempts: r.attempts }));
  }

  markApplied(svixId: string, now: number): void {
    this.s.applied.run(now, svixId);
  }

  markTried(svixId: string): void {
    this.s.tried.run(svixId);
  }
}
