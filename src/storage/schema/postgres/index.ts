/**
 * @module Every store's PostgreSQL schema, under the same module names as SQLite's (../sqlite/),
 * in the order a new database is built. PostgreSQL's history starts at the SQLite schema's current
 * state, so each module's version 1 here is the whole of its tables today; a later change is a new
 * version in both dialects.
 */
import type { StoreSchema } from '../migration.js';
import { sharedSettingsSchema } from './shared-settings.js';
import { ledgerSchema } from './ledger.js';
import { runsSchema } from './runs.js';
import { mcpRegistrySchema } from './mcp-registry.js';
import { toolAuditSchema } from './tool-audit.js';
import { consoleSchema } from './console.js';
import { conversationsSchema } from './conversations.js';
import { scheduleStateSchema } from './schedule-state.js';
import { slackApprovalPostsSchema } from './slack-approval-posts.js';
import { webhookMessagesSchema } from './webhook-messages.js';
import { accountTokensSchema, senderConnectionsSchema } from './sender-connections.js';
import { pacingSchema } from './pacing.js';

export const POSTGRES_SCHEMA: readonly StoreSchema[] = [
  sharedSettingsSchema,
  ledgerSchema,
  runsSchema,
  mcpRegistrySchema,
  toolAuditSchema,
  conversationsSchema,
  scheduleStateSchema,
  slackApprovalPostsSchema,
  webhookMessagesSchema,
  consoleSchema,
  senderConnectionsSchema,
  accountTokensSchema,
  pacingSchema,
];
