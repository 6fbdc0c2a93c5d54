/**
 * One place owns every store's schema (src/storage/schema): opening a database brings it to the
 * whole current schema, so no store depends on another having been built first; a database made
 * by the previous release — each store migrating its own tables as it was constructed — opens with
 * nothing applied twice, its bookkeeping and data unchanged; and a released migration never changes.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/index.js';
import { SqliteRunStore } from '../../src/orchestrator/index.js';
import { SQLITE_SCHEMA, migrateAll, openDatabase } from '../../src/storage/index.js';
import type { Migration, SqliteDatabase } from '../../src/storage/index.js';
import { SqliteMcpRegistry, SqliteToolAuditLog } from '../../src/tools/index.js';
import { SqliteConversationStore, SqliteScheduleStateStore, SqliteSlackApprovalPosts, SqliteWebhookMessages } from '../../src/triggers/index.js';

/**
 * The MCP registry's first migration as released, when it also created the tool-call audit's
 * table. Every other migration is unchanged since its release (the pins below hold that), so the
 * previous release's database is SQLITE_SCHEMA's SQL with this in place of 'tools' v1.
 */
const RELEASED_TOOLS_V1: Migration = {
  version: 1,
  description: 'mcp servers, api tokens, audit log',
  sql: `
      CREATE TABLE mcp_servers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        methods TEXT NOT NULL,
        tags TEXT NOT NULL,
        spend_group TEXT,
        expires_at INTEGER,
        require_api_token_auth INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        expires_at INTEGER,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE tool_audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        server_id TEXT NOT NULL,
        tool TEXT NOT NULL,
        method TEXT NOT NULL,
        outcome TEXT NOT NULL,
        status INTEGER,
        duration_ms REAL NOT NULL,
        client_name TEXT,
        client_version TEXT,
        arguments TEXT NOT NULL
      );
      CREATE INDEX tool_audit_by_server ON tool_audit (server_id, at);
    `,
};

/** The previous release's stores, in the order its composition root built them (registry before audit). */
const PREVIOUS_RELEASE_ORDER = ['guard', 'tools', 'orchestrator', 'agent', 'connections', 'gateway', 'schedules', 'slack', 'webhooks'] as const;

function releasedMigrations(module: string): readonly Migration[] {
  if (module === 'tools') return [RELEASED_TOOLS_V1];
  const store = SQLITE_SCHEMA.find((s) => s.module === module);
  if (!store) throw new Error(`no schema for ${module}`);
  return store.migrations;
}

/** The previous release's `migrate(db, module, MIGRATIONS)`, as each store's constructor called it. */
function migrateAsPreviousRelease(db: SqliteDatabase, module: string, migrations: readonly Migration[], appliedAt: number, upTo = Infinity): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    module TEXT NOT NULL,
    version INTEGER NOT NULL,
    description TEXT NOT NULL,
    applied_at INTEGER NOT NULL,
    PRIMARY KEY (module, version)
  )`);
  const applied = db.prepare('SELECT 1 FROM schema_migrations WHERE module = ? AND version = ?');
  const record = db.prepare('INSERT INTO schema_migrations (module, version, description, applied_at) VALUES (?, ?, ?, ?)');
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (migration.version > upTo) break;
    db.transaction(() => {
      if (applied.get(module, migration.version)) return;
      db.exec(migration.sql);
      record.run(module, migration.version, migration.description, appliedAt);
    }).immediate();
  }
}

/** A database file opened without openDatabase, so nothing but the caller's SQL shapes it. */
function bareFile(): { path: string; db: SqliteDatabase } {
  const path = join(mkdtempSync(join(tmpdir(), 'giftguard-schema-')), 'giftguard.db');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  return { path, db };
}

const bookkeeping = (db: SqliteDatabase) => db.prepare('SELECT module, version, description, applied_at FROM schema_migrations ORDER BY module, version').all();

/** Every row of every table but the bookkeeping, by table. */
function contents(db: SqliteDatabase): Record<string, unknown[]> {
  const tables = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name").all();
  return Object.fromEntries(tables.map(({ name }) => [name, db.prepare(`SELECT * FROM "${name}"`).all()]));
}

/** Tables, indexes and triggers as SQLite describes them (whitespace aside: SQL text keeps its source's indentation). */
function shape(db: SqliteDatabase) {
  return db
    .prepare<[], { type: string; name: string; tbl_name: string; sql: string | null }>("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
    .all()
    .map((row) => ({ ...row, sql: row.sql?.replace(/\s+/g, ' ').replace(/\( /g, '(').replace(/ \)/g, ')') }));
}

const APPLIED_LONG_AGO = Date.UTC(2025, 0, 2);
const signingKey = Buffer.alloc(32, 7);

describe('one schema for every store', () => {
  it('a database made by the previous release opens with nothing applied twice, its data intact', async () => {
    const { path, db: old } = bareFile();
    for (const module of PREVIOUS_RELEASE_ORDER) migrateAsPreviousRelease(old, module, releasedMigrations(module), APPLIED_LONG_AGO);
    // Data in every kind of store, written the way the previous release wrote it.
    const clock = new ManualClock(1_700_000_000_000);
    const { server } = await new SqliteMcpRegistry(old, signingKey, clock).createServer({ name: 'sales agent', scope: { methods: ['*'], tags: [] } });
    await new SqliteToolAuditLog(old).record({ at: 1, serverId: server.id, tool: 'send_gift', method: 'POST', outcome: 'ok', durationMs: 3, arguments: { amount: 25 } });
    const runs = new SqliteRunStore(old);
    const run = await runs.create('abm-send', 1, { group: 'sales' }, 2, { owner: 'host:1:ab', until: 3 });
    await runs.addItems(run.id, [{ idx: 0, line: 2, email: 'ana@example.com', name: 'Ana', company: null }]);
    await runs.setItem(run.id, 0, 'sent', null, 'intent.1');
    const conversation = await new SqliteConversationStore(old).start('ana', 'How much is left?', 'gpt', 3);
    await new SqliteScheduleStateStore(old).ensure('weekly', 4);
    await new SqliteSlackApprovalPosts(old).record('appr_1', 'C1', '171.1', 5);
    await new SqliteWebhookMessages(old).receive('msg_1', '1700000000', 'gid_1', null, 6);
    old.prepare('INSERT INTO policy_touch_pins (name, touch_id, pinned_at) VALUES (?, ?, ?)').run('Coffee', 42, 7);
    const before = { bookkeeping: bookkeeping(old), contents: contents(old) };
    expect(before.bookkeeping).not.toContainEqual(expect.objectContaining({ module: 'tool_audit' }));
    old.close();

    const db = openDatabase(path);
    const after = bookkeeping(db);
    // The new rows: the tool-call audit's own first migration, finding its table already there, and
    // the stores that release did not have (the web console's).
    expect(after.filter((row) => !before.bookkeeping.some((b) => JSON.stringify(b) === JSON.stringify(row)))).toEqual([
      { module: 'console', version: 1, description: 'console identities, sign-in links, sessions', applied_at: expect.any(Number) },
      { module: 'tool_audit', version: 1, description: 'tool call audit log', applied_at: expect.any(Number) },
    ]);
    for (const row of before.bookkeeping) expect(after).toContainEqual(row);
    // Every table it had, as it was; the new stores' tables empty.
    const { console_identities: identities, console_sign_in_links: links, console_sessions: sessions, ...kept } = contents(db);
    expect(kept).toEqual(before.contents);
    expect([identities, links, sessions]).toEqual([[], [], []]);
    // The same tables, indexes and triggers a new database gets.
    expect(shape(db)).toEqual(shape(openDatabase(':memory:')));
    // And the stores read it.
    expect((await new SqliteMcpRegistry(db, signingKey, clock).listServers()).map((s) => s.name)).toEqual(['sales agent']);
    expect((await new SqliteToolAuditLog(db).list()).map((row) => row.tool)).toEqual(['send_gift']);
    expect(await new SqliteRunStore(db).itemCounts(run.id)).toMatchObject({ sent: 1 });
    expect((await new SqliteConversationStore(db).get(conversation))?.question).toBe('How much is left?');
    db.close();

    // Opening it again applies nothing.
    const again = openDatabase(path);
    expect(bookkeeping(again)).toEqual(after);
    again.close();
  });

  it('a database from an older release gets only the versions it lacks, and the stores it never had', () => {
    const { path, db: old } = bareFile();
    migrateAsPreviousRelease(old, 'guard', releasedMigrations('guard'), APPLIED_LONG_AGO, 3);
    migrateAsPreviousRelease(old, 'tools', releasedMigrations('tools'), APPLIED_LONG_AGO);
    old.prepare('INSERT INTO policy_touch_pins (name, touch_id, pinned_at) VALUES (?, ?, ?)').run('Coffee', 42, 7);
    const before = bookkeeping(old);
    old.close();

    const db = openDatabase(path);
    const after = bookkeeping(db) as { module: string; version: number; applied_at: number }[];
    for (const row of before) expect(after).toContainEqual(row);
    const added = after.filter((row) => row.applied_at !== APPLIED_LONG_AGO).map((row) => `${row.module}@${row.version}`);
    const everything = SQLITE_SCHEMA.flatMap((s) => s.migrations.map((m) => `${s.module}@${m.version}`));
    expect(added.sort()).toEqual(everything.filter((key) => !['guard@1', 'guard@2', 'guard@3', 'tools@1'].includes(key)).sort());
    expect(db.prepare('SELECT name, touch_id FROM policy_touch_pins').all()).toEqual([{ name: 'Coffee', touch_id: 42 }]);
    expect(shape(db)).toEqual(shape(openDatabase(':memory:')));
    db.close();
  });

  it('every store works on a freshly opened database, whichever is built first', async () => {
    // The tool-call audit once had its table only after the MCP registry was built.
    const db = openDatabase(':memory:');
    const audit = new SqliteToolAuditLog(db);
    await audit.record({ at: 1, serverId: 's', tool: 'list_touches', method: 'GET', outcome: 'ok', durationMs: 1, arguments: {} });
    expect((await audit.list()).map((row) => row.tool)).toEqual(['list_touches']);
    const recorded = (db.prepare('SELECT module, version FROM schema_migrations').all() as { module: string; version: number }[]).map((r) => `${r.module}@${r.version}`);
    expect(recorded.sort()).toEqual(SQLITE_SCHEMA.flatMap((s) => s.migrations.map((m) => `${s.module}@${m.version}`)).sort());
  });

  it('migrateAll applies a new version once, on top of what is recorded', () => {
    const db = openDatabase(':memory:');
    const extra = [{ module: 'probe', migrations: [{ version: 1, description: 'probe', sql: 'CREATE TABLE probe (n INTEGER)' }] }];
    migrateAll(db, extra);
    migrateAll(db, [{ module: 'probe', migrations: [...extra[0]!.migrations, { version: 2, description: 'probe n', sql: 'INSERT INTO probe VALUES (2)' }] }]);
    migrateAll(db, [{ module: 'probe', migrations: [...extra[0]!.migrations, { version: 2, description: 'probe n', sql: 'INSERT INTO probe VALUES (2)' }] }]);
    expect(db.prepare('SELECT n FROM probe').all()).toEqual([{ n: 2 }]);
  });

  it('the index lists every store file once, under distinct module names', () => {
    const files = readdirSync(join(import.meta.dirname, '../../src/storage/schema/sqlite')).filter((f) => f.endsWith('.ts') && f !== 'index.ts');
    expect(SQLITE_SCHEMA).toHaveLength(files.length);
    expect(new Set(SQLITE_SCHEMA.map((s) => s.module)).size).toBe(SQLITE_SCHEMA.length);
    for (const { module, migrations } of SQLITE_SCHEMA) expect(migrations.map((m) => m.version), module).toEqual(migrations.map((_, i) => i + 1));
  });

  it('a released migration is never edited (a change is a new version)', () => {
    // sha256 of each migration's SQL, first 16 hex digits. 'tools' v1 lost the tool_audit table to
    // 'tool_audit' v1 when the schema moved here; every other one is byte-for-byte as released.
    const RELEASED: Record<string, string> = {
      'guard@1': '79912f541711a2c7',
      'guard@2': '3aa8654d59d7942c',
      'guard@3': '6eede71bf3a4de47',
      'guard@4': 'f741a16de7dc2f24',
      'guard@5': '6b02b9687dcf8fd4',
      'guard@6': '67f1bab1f006e08b',
      'guard@7': '3b2c229666a9b14e',
      'tools@1': '2b11541628086a2d',
      'tool_audit@1': 'df260b9f2bb6dce9',
      'orchestrator@1': 'a36799a54f148ce3',
      'orchestrator@2': 'edd63ed94eb9d190',
      'orchestrator@3': 'c92d2ebe82711700',
      'orchestrator@4': 'cbc85cf99b28545f',
      'orchestrator@5': 'c012ed6d9c6a8ab1',
      'agent@1': '5909fd093af21366',
      'agent@2': 'f9475b79c1496490',
      'connections@1': '1c95dfdd29214c17',
      'gateway@1': 'e9b2aa8d879369ea',
      'schedules@1': '7b601c5e48bcb924',
      'slack@1': '26341b29974579c7',
      'slack@2': '37853c6336f5c8fb',
      'webhooks@1': '9acd3f508f9f4e65',
      'webhooks@2': 'cc7fdff75bb29a04',
      'console@1': '5f69b8626b03d64f',
    };
    const current = Object.fromEntries(
      SQLITE_SCHEMA.flatMap((s) => s.migrations.map((m) => [`${s.module}@${m.version}`, createHash('sha256').update(m.sql).digest('hex').slice(0, 16)])),
    );
    // New versions are added to the pins as they are released; the released ones must match.
    for (const [key, hash] of Object.entries(RELEASED)) expect(current[key], key).toBe(hash);
  });
});
