/**
 * @module Which approval requests were posted to Slack, so each is posted once
 * (triggers/slack/approval-posts.ts). v2: the claim an announcer takes before it posts, so of
 * several processes (or instances) announcing at once only one posts.
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
    {
      version: 2,
      description: 'claims on posting an approval to Slack',
      sql: 'CREATE TABLE slack_approval_claims (approval_id TEXT PRIMARY KEY, claim TEXT NOT NULL, claimed_at INTEGER NOT NULL)',
    },
  ],
};
