/**
 * @module Every store's SQLite schema, in the order a new database is built. Stores are
 * independent (no table refers to another store's), so the order only has to be fixed, not
 * meaningful. A new store adds its file here; a new table or column is a new version in its
 * store's file.
 */
import type { StoreSchema } from '../migration.js';
import { consoleSchema } from './console.js';
import { conversationsSchema } from './conversations.js';
import { ledgerSchema } from './ledger.js';
import { mcpRegistrySchema } from './mcp-registry.js';
import { pacingSchema } from './pacing.js';
import { runsSchema } from './runs.js';
import { scheduleStateSchema } from './schedule-state.js';
import { senderConnectionsSchema } from './sender-connections.js';
import { slackApprovalPostsSchema } from './slack-approval-posts.js';
import { toolAuditSchema } from './tool-audit.js';
import { webhookMessagesSchema } from './webhook-messages.js';

export const SQLITE_SCHEMA: readonly StoreSchema[] = [
  ledgerSchema,
  mcpRegistrySchema,
  toolAuditSchema,
  runsSchema,
  conversationsSchema,
  senderConnectionsSchema,
  pacingSchema,
  scheduleStateSchema,
  slackApprovalPostsSchema,
  webhookMessagesSchema,
  consoleSchema,
];
