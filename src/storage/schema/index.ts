/**
 * @module The schema of every store giftguard keeps, in one place.
 *
 * Why here and not beside each store: the stores share one database, and the database has one
 * schema. When each store created its own tables in its constructor, a table existed only once
 * some code had happened to build its store (the tool-call audit's table came with the MCP
 * registry, so the registry had to be built first), and no file said what a database holds.
 * Now `openDatabase` brings every database to the whole current schema before any store sees it,
 * stores only read and write, and this folder is the one answer to "what tables are there, and
 * how did they get that way". It sits in storage (layer 1) so that any layer may open a database,
 * and so it imports nothing from the layers whose stores it describes: the SQL is plain data.
 *
 * Layout: one folder per SQL dialect, one file per store inside it, and an index listing them in
 * order. SQLite (`sqlite/`) is the only dialect today. A second one (PostgreSQL, issue 15) goes in
 * a `postgres/` folder beside it, listing the same stores under the same module names, with its
 * own runner beside `migrateAll` (../sqlite.ts) called by whatever opens that database.
 *
 * Bookkeeping: `schema_migrations` holds one row per (module, version) applied. Module names
 * predate this folder (`guard`, `tools`, `orchestrator`, …) and are kept as they are, so a database
 * made by an older giftguard opens without anything being applied twice.
 */
export type { Migration, StoreSchema } from './migration.js';
export { SQLITE_SCHEMA } from './sqlite/index.js';
export { POSTGRES_SCHEMA } from './postgres/index.js';
