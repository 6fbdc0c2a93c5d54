/**
 * @module Which approval requests were posted to Slack, and which instance is posting one
 * (triggers/slack/approval-posts.ts), on PostgreSQL: SQLite's 'slack' v1 translated, then v2 as
 * in SQLite.
 */
import type { StoreSchema } from '../migration.js';

export const slackApprovalPostsSchema: StoreSchema = {
  module: 'slack',
  migrations: [
    {
      version: 1,
      description: 'approval messages posted to Slack',
      sql: 'CREATE TABLE slack_approval_posts (approval_id TEXT PRIMARY KEY, channel TEXT NOT NULL, ts TEXT NOT NULL, posted_at BIGINT NOT NULL)',
    },
    {
      version: 2,
      description: 'claims on posting an approval to Slack',
      sql: 'CREATE TABLE slack_approval_claims (approval_id TEXT PRIMARY KEY, claim TEXT NOT NULL, claimed_at BIGINT NOT NULL)',
    },
  ],
};
