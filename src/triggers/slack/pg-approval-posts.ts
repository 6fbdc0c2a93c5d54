/**
 * @module Slack's posted approvals on PostgreSQL (the SlackApprovalPosts port, approval-posts.ts),
 * shared by every instance. Claiming is INSERT … ON CONFLICT DO NOTHING: the primary key lets one
 * instance's row in and turns every other away, however many announce at once. Taking over a
 * lapsed claim is a conditional UPDATE (… WHERE claimed_at <= the timeout): the first updater locks
 * the row, and PostgreSQL re-checks the condition for the next against the committed row, which
 * no longer matches.
 */
import type { PgQueryable } from '../../storage/index.js';
import type { SlackApprovalPosts } from './approval-posts.js';
import { CLAIM_TIMEOUT_MS, newClaim } from './approval-posts.js';

export class PgSlackApprovalPosts implements SlackApprovalPosts {
  constructor(private readonly db: PgQueryable) {}

  async claim(approvalId: string, now: number): Promise<string | undefined> {
    const claim = newClaim();
    const inserted = await this.db.query(
      `INSERT INTO slack_approval_claims (approval_id, claim, claimed_at)
       SELECT $1::text, $2::text, $3::bigint WHERE NOT EXISTS (SELECT 1 FROM slack_approval_posts WHERE approval_id = $1)
       ON CONFLICT (approval_id) DO NOTHING`,
      [approvalId, claim, now],
    );
    if (inserted.rowCount === 1) return claim;
    const taken = await this.db.query(
      `UPDATE slack_approval_claims SET claim = $2, claimed_at = $3
       WHERE approval_id = $1 AND claimed_at <= $4 AND NOT EXISTS (SELECT 1 FROM slack_approval_posts WHERE approval_id = $1)
       RETURNING approval_id`,
      [approvalId, claim, now, now - CLAIM_TIMEOUT_MS],
    );
    return taken.rows.length === 1 ? claim : undefined;
  }

  async record(approvalId: string, channel: string, ts: string, at: number): Promise<void> {
    await this.db.query('INSERT INTO slack_approval_posts (approval_id, channel, ts, posted_at) VALUES ($1, $2, $3, $4) ON CONFLICT (approval_id) DO NOTHING', [approvalId, channel, ts, at]);
  }

  async release(approvalId: string, claim: string): Promise<void> {
    await this.db.query('DELETE FROM slack_approval_claims WHERE approval_id = $1 AND claim = $2', [approvalId, claim]);
  }

  async posted(approvalId: string): Promise<{ channel: string; ts: string } | undefined> {
    const { rows } = await this.db.query<{ channel: string; ts: string }>('SELECT channel, ts FROM slack_approval_posts WHERE approval_id = $1', [approvalId]);
    return rows[0];
  }
}
