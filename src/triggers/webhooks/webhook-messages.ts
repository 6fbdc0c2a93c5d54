/**
 * @module The Sendoso webhook messages giftguard received, by svix-id: Svix retries a message
 * until it gets a 2xx, so the same message may arrive several times — it is applied once. A
 * message received but not yet applied (Sendoso was slow to list the send) stays here to be
 * applied on the next pass. The port (`WebhookMessages`) and its SQLite implementation;
 * PostgreSQL's is pg-webhook-messages.ts.
 *
 * Draining takes messages a few at a time: each taken message is held by its drainer until it is
 * marked applied (never taken again) or tried (held until it is due again), or until HOLD_MS pass
 * (the drainer died), so two drainers — processes or instances behind one load balancer, each
 * draining on its timer — never apply one message both.
 */
import type { SqliteDatabase } from '../../storage/index.js';

export interface WebhookMessage {
  readonly svixId: string;
  readonly sendGid: string;
  readonly receivedAt: number;
  readonly attempts: number;
}

/** Longer than applying one message takes (a read of Sendoso's history, paced, with one pause on a 429). */
export const HOLD_MS = 10 * 60_000;

/** Where received webhook messages are kept (SQLite or PostgreSQL), shared by every receiver and drainer. */
export interface WebhookMessages {
  /**
   * Records a message. `new` the first time; `retry` when Svix sends the same message again
   * (same svix-id, a later attempt with its own timestamp: our answer was lost); `replay` when the
   * very same delivery — same id, same timestamp — comes again, which Svix never does.
   */
  receive(svixId: string, svixTimestamp: string, sendGid: string, statusChangedAt: string | null, now: number): Promise<'new' | 'retry' | 'replay'>;
  /** Takes up to `limit` messages not applied yet and held by nobody, oldest first, holding them until `now + HOLD_MS`. */
  take(now: number, limit?: number): Promise<WebhookMessage[]>;
  /** The message was applied: it is never taken again. */
  markApplied(svixId: string, now: number): Promise<void>;
  /** The message could not be applied yet: counted, and held until `retryAt` (the next pass, on any instance). */
  markTried(svixId: string, retryAt: number): Promise<void>;
}

/** A taken row, in either dialect. */
export interface MessageRow {
  svix_id: string;
  send_gid: string;
  received_at: number;
  attempts: number;
}

/** Taken rows in the order they were received (RETURNING promises no order). */
export const toMessages = (rows: readonly MessageRow[]): WebhookMessage[] =>
  rows
    .map((r) => ({ svixId: r.svix_id, sendGid: r.send_gid, receivedAt: r.received_at, attempts: r.attempts }))
    .sort((a, b) => a.receivedAt - b.receivedAt || (a.svixId < b.svixId ? -1 : a.svixId > b.svixId ? 1 : 0));

export class SqliteWebhookMessages implements WebhookMessages {
  private readonly s;

  constructor(db: SqliteDatabase) {
    this.s = {
      insert: db.prepare('INSERT OR IGNORE INTO sendoso_webhook_messages (svix_id, svix_timestamp, send_gid, status_changed_at, received_at) VALUES (?, ?, ?, ?, ?)'),
      seen: db.prepare<[string], { svix_timestamp: string }>('SELECT svix_timestamp FROM sendoso_webhook_messages WHERE svix_id = ?'),
      // One statement under SQLite's write lock: two processes taking at once get disjoint messages.
      take: db.prepare<[number, number, number], MessageRow>(
        `UPDATE sendoso_webhook_messages SET claimed_until = ?
         WHERE svix_id IN (SELECT svix_id FROM sendoso_webhook_messages WHERE applied_at IS NULL AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY received_at LIMIT ?)
         RETURNING svix_id, send_gid, received_at, attempts`,
      ),
      applied: db.prepare('UPDATE sendoso_webhook_messages SET applied_at = ?, attempts = attempts + 1, claimed_until = NULL WHERE svix_id = ?'),
      tried: db.prepare('UPDATE sendoso_webhook_messages SET attempts = attempts + 1, claimed_until = ? WHERE svix_id = ?'),
    };
  }

  async receive(svixId: string, svixTimestamp: string, sendGid: string, statusChangedAt: string | null, now: number): Promise<'new' | 'retry' | 'replay'> {
    if (this.s.insert.run(svixId, svixTimestamp, sendGid, statusChangedAt, now).changes > 0) return 'new';
    return this.s.seen.get(svixId)?.svix_timestamp === svixTimestamp ? 'replay' : 'retry';
  }

  async take(now: number, limit = 100): Promise<WebhookMessage[]> {
    return toMessages(this.s.take.all(now + HOLD_MS, now, limit));
  }

  async markApplied(svixId: string, now: number): Promise<void> {
    this.s.applied.run(now, svixId);
  }

  async markTried(svixId: string, retryAt: number): Promise<void> {
    this.s.tried.run(retryAt, svixId);
  }
}
