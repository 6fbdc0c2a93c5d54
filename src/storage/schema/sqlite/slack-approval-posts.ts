/**
 * @module Which approval requests were posted to Slack, so each is posted once
 * (triggers/slack/approval-posts.ts).
 */
import type { StoreSchema } from '../migration.js';

export const slackApprovalPostsSchema: StoreSchema = {
  module: 'slack',
  migrations: [
    {
      version: 1,
      description: 'approval messages posted to Slack',
      sql: 'CREATE TABLE slack_approval_posts (approval_id TEXT PRIMARY KEY, channel TEXT NOT NULL, ts TEXT NOT NULL, posted_at INTEGER NOT NULL)',
    },
  ],
};
