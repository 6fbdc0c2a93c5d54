/**
 * @module Which approval requests were posted to Slack (channel and message ts), so each is
 * posted once however often the announcer runs and across restarts.
 */
import type { SqliteDatabase } from '../../storage/index.js';

export class SlackApprovalPosts {
  private readonly s;

  constructor(db: SqliteDatabase) {
    this.s = {
      get: db.prepare<[string], { channel: string; ts: string }>('SELECT channel, ts FROM slack_approval_posts WHERE approval_id = ?'),
      record: db.prepare('INSERT OR IGNORE INTO slack_approval_posts (approval_id, channel, ts, posted_at) VALUES (?, ?, ?, ?)'),
    };
  }

  has(approvalId: string): boolean {
    return this.s.get.get(approvalId) !== undefined;
  }

  record(approvalId: string, channel: string, ts: string, at: number): void {
    this.s.record.run(approvalId, channel, ts, at);
  }
}
