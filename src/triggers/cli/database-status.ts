/**
 * @module What `status` and `db status` say of the configured database: the SQLite file looked at
 * (never created by looking), or the shared PostgreSQL asked one question — and how they word it.
 */
import { existsSync } from 'node:fs';
import { probeSharedDatabase, redactUrl } from '../../storage/index.js';
import type { SharedDatabaseProbe } from '../../storage/index.js';
import type { App } from './app.js';

export type DatabaseStatus = { readonly kind: 'sqlite'; readonly path: string; readonly exists: boolean } | SharedDatabaseProbe;

export async function databaseStatus(app: App): Promise<DatabaseStatus> {
  const { databaseUrl, databasePath } = app.config;
  return databaseUrl ? probeSharedDatabase(app.sharedDatabase(), redactUrl(databaseUrl)) : { kind: 'sqlite', path: databasePath, exists: existsSync(databasePath) };
}

/** Whether the database can be used by this instance (a SQLite file not made yet cannot be read). */
export const databaseUsable = (status: DatabaseStatus): boolean => (status.kind === 'sqlite' ? status.exists : status.answers && status.refused === undefined);

/** The shared database's answer, after its URL. */
export function sharedDatabaseText(probe: SharedDatabaseProbe): string {
  if (!probe.answers) return `DOES NOT ANSWER: ${probe.error}`;
  if (probe.refused !== undefined) return `answers, but REFUSES THIS INSTANCE: ${probe.refused}`;
  return `answers${probe.version ? ` (${probe.version})` : ''}`;
}
