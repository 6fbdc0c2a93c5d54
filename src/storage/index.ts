/** @module Storage: the SQLite file giftguard keeps its own data in, and every store's schema. */
export { openDatabase, migrateAll } from './sqlite.js';
export type { SqliteDatabase } from './sqlite.js';
export { SQLITE_SCHEMA, POSTGRES_SCHEMA } from './schema/index.js';
export type { Migration, StoreSchema } from './schema/index.js';
export { startBackgroundCheckpoints } from './checkpoints.js';
export { ensurePrivateDirectory, restrictToOwner, securePrivateTree, writePrivateFile, writePrivateFileSync, PRIVATE_DIRECTORY_MODE, PRIVATE_FILE_MODE } from './private-files.js';
export { dataDirectoryProblem, markDataDirectory } from './data-directory.js';
export type { DataDirectoryState } from './data-directory.js';
export { announceSandbox, announceServe, processAlive, runningSandbox, runningServe, runningServes } from './announcements.js';
export type { SandboxAnnouncement, ServeAnnouncement } from './announcements.js';
export { PgDatabase, migratePostgres, parseDatabaseUrl, redactUrl } from './postgres.js';
export type { PgDatabaseOptions, PgQueryable, PgQueryOptions, PgTransactionOptions } from './postgres.js';
export { agreeOnPaceStore, agreeOnSendosoAccount, agreeOnSigningKey, PACE_STORE_HELD_MS, PaceStoreMismatch, probeSharedDatabase, SendosoAccountMismatch, signingKeyFingerprint, SigningKeyMismatch } from './shared-settings.js';
export type { SharedDatabaseProbe } from './shared-settings.js';
export { copySqliteToPostgres } from './copy-to-postgres.js';
export type { CopyReport, TableCopy } from './copy-to-postgres.js';
