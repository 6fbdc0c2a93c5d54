/**
 * @module Which approval requests were posted to Slack (channel and message ts), so each is
 * posted once however often the announcer runs, across restarts and across instances. The port
 * (`SlackApprovalPosts`) and its SQLite implementation; PostgreSQL's is pg-approval-posts.ts.
 *
 * An announcer claims an approval before it posts (an insert that only one process can make), and
 * only the claimer posts; it records the message after, or releases the claim when the post
 * failed, so the next pass tries again. A claim whose holder died mid-post is taken over once it
 * is older than CLAIM_TIMEOUT_MS — the one case that can post twice (the post reached Slack and
 * the process died before recording it), chosen over an approval never posted at all.
 */
import { randomBytes } from 'node:crypto';
import type { SqliteDatabase } from '../../storage/index.js';

/** Longer than any one post takes, the Slack client's retries included. */
export const CLAIM_TIMEOUT_MS = 5 * 60_000;

/** Where Slack's posted approvals are kept (SQLite or PostgreSQL), shared by every announcer. */
export interface SlackApprovalPosts {
  /**
   * Claims the posting of an approval: a claim id when this caller is to post it, undefined when
   * it was posted or another announcer is posting it.
   */
  claim(approvalId: string, now: number): Promise<string | undefined>;
  /** Records the posted message (the claim stays, so nobody posts it again). */
  record(approvalId: string, channel: string, ts: string, at: number): Promise<void>;
  /** Gives up a claim whose post failed, so the next pass posts it. */
  release(approvalId: string, claim: string): Promise<void>;
  /** Where the approval was posted, if it was. */
  posted(approvalId: string): Promise<{ readonly channel: string; readonly ts: string } | undefined>;
}

/** A claim's id: only its holder can release it. */
export const newClaim = (): string => randomBytes(9).toString('base64url');

export class SqliteSlackApprovalPosts implements SlackApprovalPosts {
  private readonly s;

  constructor(db: SqliteDatabase) {
    this.s = {
      posted: db.prepare<[string], { channel: string; ts: string }>('SELECT channel, ts FROM slack_approval_posts WHERE approval_id = ?'),
      // Approvals posted before claims existed have a post and no claim: they are not claimed again.
      claim: db.prepare('INSERT OR IGNORE INTO slack_approval_claims (approval_id, claim, claimed_at) SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM slack_approval_posts WHERE approval_id = ?)'),
      takeOver: db.prepare(
        'UPDATE slack_approval_claims SET claim = ?, claimed_at = ? WHERE approval_id = ? AND claimed_at <= ? AND NOT EXISTS (SELECT 1 FROM slack_approval_posts WHERE approval_id = ?)',
      ),
      record: db.prepare('INSERT OR IGNORE INTO slack_approval_posts (approval_id, channel, ts, posted_at) VALUES (?, ?, ?, ?)'),
      release: db.prepare('DELETE FROM slack_approval_claims WHERE approval_id = ? AND claim = ?'),
    };
  }

  async claim(approvalId: string, now: number): Promise<string | undefined> {
    const claim = newClaim();
    // Each a single statement under SQLite's write lock: of two processes, one inserts or takes over.
    if (this.s.claim.run(approvalId, claim, now, approvalId).changes === 1) return claim;
    return this.s.takeOver.run(claim, now, approvalId, now - CLAIM_TIMEOUT_MS, approvalId).changes === 1 ? claim : undefined;
  }

  async record(approvalId: string, channel: string, ts: string, at: number): Promise<void> {
    this.s.record.run(approvalId, channel, ts, at);
  }

  async release(approvalId: string, claim: string): Promise<void> {
    this.s.release.run(approvalId, claim);
  }

  async posted(approvalId: string): Promise<{ channel: string; ts: string } | undefined> {
    return this.s.posted.get(approvalId);
  }
}
