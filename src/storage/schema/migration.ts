/** @module What a store's schema is made of, whatever the SQL dialect. */

/** One schema change; versions are 1, 2, 3… per module and are never edited once released. */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

/**
 * One store's schema: its migrations, under the module name `schema_migrations` records them by.
 * That name and those versions are what an existing database knows, so a module is never renamed
 * and a released version never renumbered; a change is a new version.
 */
export interface StoreSchema {
  readonly module: string;
  readonly migrations: readonly Migration[];
}
