/**
 * The PostgreSQL foundation every shared store stands on: migrations applied once however many
 * instances start together, transactions that survive serialization failures, a schema per URL,
 * instances that refuse to share a database with a different signing key, and the generic copy of
 * a SQLite database into an empty PostgreSQL one (`giftguard db migrate-to`).
 */
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { PACE_STORE_HELD_MS, PaceStoreMismatch, PgDatabase, agreeOnPaceStore, agreeOnSigningKey, copySqliteToPostgres, migrateAll, parseDatabaseUrl, redactUrl } from '../../src/storage/index.js';
import type { StoreSchema } from '../../src/storage/index.js';
import { dropSchema, schemaUrl, uniqueSchemaName } from '../support/postgres.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A database in a fresh schema, migrated to `schema`, dropped after the test. */
function database(schema: readonly StoreSchema[], maxConnections = 4): { db: PgDatabase; url: string } {
  const name = uniqueSchemaName('pgfound');
  const url = schemaUrl(name);
  const db = new PgDatabase({ url, schema, maxConnections });
  cleanups.push(async () => {
    await db.close();
    await dropSchema(name);
  });
  return { db, url };
}

const counterSchema: StoreSchema[] = [
  { module: 'a', migrations: [{ version: 1, description: 'counter', sql: 'CREATE TABLE counter (id INTEGER PRIMARY KEY, n BIGINT NOT NULL); INSERT INTO counter VALUES (1, 0);' }] },
  { module: 'b', migrations: [{ version: 2, description: 'second', sql: 'ALTER TABLE counter ADD COLUMN label TEXT' }, { version: 1, description: 'first', sql: 'CREATE TABLE log (at BIGINT)' }] },
];

describe('PostgreSQL databases', () => {
  it('applies each migration once when several instances start on one database at the same moment', async () => {
    const { url } = database(counterSchema);
    const instances = Array.from({ length: 5 }, () => new PgDatabase({ url, schema: counterSchema, maxConnections: 2 }));
    cleanups.push(async () => void (await Promise.all(instances.map((i) => i.close()))));
    await Promise.all(instances.map((i) => i.ready()));
    const { rows } = await instances[0]!.query<{ module: string; version: number }>('SELECT module, version FROM schema_migrations ORDER BY module, version');
    expect(rows).toEqual([
      { module: 'a', version: 1 },
      { module: 'b', version: 1 },
      { module: 'b', version: 2 },
    ]);
    // Applied once: the seed row of version 1 is there once, and version 2's column exists.
    expect((await instances[1]!.query('SELECT id, n, label FROM counter')).rows).toEqual([{ id: 1, n: 0, label: null }]);
  });

  it('keeps its tables in the schema its URL names, away from other schemas', async () => {
    const first = database(counterSchema);
    const second = database(counterSchema);
    await first.db.query('UPDATE counter SET n = 7');
    expect((await second.db.query<{ n: number }>('SELECT n FROM counter')).rows[0]!.n).toBe(0);
    expect((await first.db.query<{ n: number }>('SELECT n FROM counter')).rows[0]!.n).toBe(7);
  });

  it('runs a serializable transaction again when PostgreSQL reports a conflict, so no increment is lost', async () => {
    const { db } = database(counterSchema, 10);
    await db.ready();
    let attempts = 0;
    await Promise.all(
      Array.from({ length: 10 }, () =>
        db.transaction(
          async (tx) => {
            attempts += 1;
            const n = (await tx.query<{ n: number }>('SELECT n FROM counter WHERE id = 1')).rows[0]!.n;
            await tx.query('UPDATE counter SET n = $1 WHERE id = 1', [n + 1]);
          },
          { isolation: 'serializable' },
        ),
      ),
    );
    expect((await db.query<{ n: number }>('SELECT n FROM counter')).rows[0]!.n).toBe(10);
    // Ten read-modify-writes at once cannot all commit first time: the retries are what kept them.
    expect(attempts).toBeGreaterThan(10);
  });

  it('rolls a failed transaction back entirely', async () => {
    const { db } = database(counterSchema);
    await expect(
      db.transaction(async (tx) => {
        await tx.query('UPDATE counter SET n = 99');
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect((await db.query<{ n: number }>('SELECT n FROM counter')).rows[0]!.n).toBe(0);
  });

  it('fails a query within seconds, with the server named, when nothing listens there', async () => {
    const db = new PgDatabase({ url: 'postgres://postgres@127.0.0.1:1/test', schema: counterSchema });
    cleanups.push(() => db.close());
    await expect(db.query('SELECT 1')).rejects.toThrow(/ECONNREFUSED|connect/);
  });

  it('reads URLs: the schema parameter is giftguard\'s, passwords are hidden in messages', () => {
    expect(parseDatabaseUrl('postgres://u@h:5432/db?schema=gg_one&sslmode=require')).toEqual({ connectionString: 'postgres://u@h:5432/db?sslmode=require', schema: 'gg_one' });
    expect(() => parseDatabaseUrl('postgres://u@h/db?schema=Robert;DROP')).toThrow(/lower-case SQL name/);
    expect(() => parseDatabaseUrl('mysql://u@h/db')).toThrow(/not a PostgreSQL URL/);
    // A parameter nobody reads would be ignored without a word: a misspelt schema puts the tables elsewhere.
    expect(() => parseDatabaseUrl('postgres://u@h/db?schmea=gg_one')).toThrow(/a parameter nothing reads: \?schmea= — giftguard reads \?schema=name/);
    expect(() => parseDatabaseUrl('postgres://u@h/db?search_path=gg_one')).toThrow(/\?search_path=/);
    expect(parseDatabaseUrl('postgres://u@h/db?sslmode=verify-full&application_name=gg&connect_timeout=5&schema=gg_one').schema).toBe('gg_one');
    expect(redactUrl('postgres://app:s3cret@db.internal:5432/gifts')).toBe('postgres://app:***@db.internal:5432/gifts');
  });

  it('lets instances with the same signing key share a database and refuses one with another key', async () => {
    const { db } = database([{ module: 'instances', migrations: [{ version: 1, description: 'shared', sql: 'CREATE TABLE shared_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL, set_at BIGINT NOT NULL)' }] }]);
    await db.ready();
    const key = Buffer.alloc(48, 1);
    await agreeOnSigningKey(db, key, 1);
    await agreeOnSigningKey(db, Buffer.from(key), 2);
    await expect(agreeOnSigningKey(db, Buffer.alloc(48, 2), 3)).rejects.toThrow(/signing key differs.*GIFTGUARD_SIGNING_KEY/);
  });

  it('keeps every instance\'s pace in one place: one without Redis is refused while one with it still says so, and free once they are quiet', async () => {
    const { db } = database([{ module: 'instances', migrations: [{ version: 1, description: 'shared', sql: 'CREATE TABLE shared_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL, set_at BIGINT NOT NULL)' }] }]);
    const minute = 60_000;
    await agreeOnPaceStore(db, 'Redis', 0); // the first instance, with GIFTGUARD_REDIS_URL
    await agreeOnPaceStore(db, 'Redis', 1); // a second, like it
    await expect(agreeOnPaceStore(db, 'PostgreSQL', 2)).rejects.toThrow(/keep Sendoso's pace in Redis, and this one would keep it in PostgreSQL: .*set GIFTGUARD_REDIS_URL as on the others/);
    await agreeOnPaceStore(db, 'Redis', 2 * minute); // said again every minute while they run…
    await expect(agreeOnPaceStore(db, 'PostgreSQL', 2 * minute + PACE_STORE_HELD_MS - 1)).rejects.toThrow(PaceStoreMismatch);
    // …and once nobody has said so for that long (every instance stopped to move), the first to start chooses.
    await agreeOnPaceStore(db, 'PostgreSQL', 2 * minute + PACE_STORE_HELD_MS + 1);
    await expect(agreeOnPaceStore(db, 'Redis', 2 * minute + PACE_STORE_HELD_MS + 2)).rejects.toThrow(/keep Sendoso's pace in PostgreSQL, and this one would keep it in Redis: .*unset GIFTGUARD_REDIS_URL/);
  });
});

describe('copying a SQLite database into PostgreSQL', () => {
  const tables = (dialect: 'sqlite' | 'postgres'): StoreSchema[] => [
    {
      module: 'copy',
      migrations: [
        {
          version: 1,
          description: 'parent, child with a foreign key, an identity column, a boolean',
          sql:
            dialect === 'sqlite'
              ? `CREATE TABLE parent (id TEXT PRIMARY KEY, amount INTEGER NOT NULL, flag INTEGER NOT NULL, note TEXT, obsolete TEXT);
                 CREATE TABLE child (id INTEGER PRIMARY KEY AUTOINCREMENT, parent_id TEXT NOT NULL REFERENCES parent (id), at INTEGER NOT NULL);`
              : `CREATE TABLE child (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, parent_id TEXT NOT NULL REFERENCES parent (id), at BIGINT NOT NULL);`.replace(
                  'CREATE TABLE child',
                  'CREATE TABLE parent (id TEXT PRIMARY KEY, amount BIGINT NOT NULL, flag BOOLEAN NOT NULL, note TEXT); CREATE TABLE child',
                ),
        },
      ],
    },
  ];

  function sqliteWith(rows: number): Database.Database {
    const sqlite = new Database(':memory:');
    migrateAll(sqlite, tables('sqlite'));
    const parent = sqlite.prepare('INSERT INTO parent VALUES (?, ?, ?, ?, ?)');
    const child = sqlite.prepare('INSERT INTO child (parent_id, at) VALUES (?, ?)');
    sqlite.transaction(() => {
      for (let i = 0; i < rows; i += 1) {
        parent.run(`p${i}`, i * 100, i % 2, i % 3 === 0 ? null : `note ${i}`, 'gone');
        child.run(`p${i}`, 1_700_000_000_000 + i);
      }
    })();
    return sqlite;
  }

  it('copies every row of every table, foreign keys first, and identity columns continue after the copied ids', async () => {
    const sqlite = sqliteWith(1_234);
    const { db } = database(tables('postgres'));
    const report = await copySqliteToPostgres(sqlite, db);
    expect(report.rows).toBe(2_468);
    expect(report.tables.map((t) => [t.table, t.rows, t.droppedColumns])).toEqual([
      ['parent', 1_234, ['obsolete']],
      ['child', 1_234, []],
    ]);
    const sample = (await db.query('SELECT id, amount, flag, note FROM parent WHERE id IN ($1, $2) ORDER BY id', ['p3', 'p4'])).rows;
    expect(sample).toEqual([
      { id: 'p3', amount: 300, flag: true, note: null },
      { id: 'p4', amount: 400, flag: false, note: 'note 4' },
    ]);
    const { rows } = await db.query<{ id: number }>("INSERT INTO child (parent_id, at) VALUES ('p1', 1) RETURNING id");
    expect(rows[0]!.id).toBe(1_235);
  });

  it('copies rows a trigger derives as they are, without the trigger counting them again', async () => {
    const sqlite = sqliteWith(5);
    sqlite.exec('CREATE TABLE child_counts (parent_id TEXT PRIMARY KEY, n INTEGER NOT NULL)');
    sqlite.exec('INSERT INTO child_counts SELECT parent_id, COUNT(*) FROM child GROUP BY parent_id');
    const withCounts: StoreSchema[] = [
      ...tables('postgres'),
      {
        module: 'counts',
        migrations: [
          {
            version: 1,
            description: 'counts kept by a trigger',
            sql: `CREATE TABLE child_counts (parent_id TEXT PRIMARY KEY, n BIGINT NOT NULL);
                  CREATE FUNCTION count_child() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
                    INSERT INTO child_counts VALUES (NEW.parent_id, 1) ON CONFLICT (parent_id) DO UPDATE SET n = child_counts.n + 1; RETURN NEW; END $$;
                  CREATE TRIGGER child_counted AFTER INSERT ON child FOR EACH ROW EXECUTE FUNCTION count_child();`,
          },
        ],
      },
    ];
    const { db } = database(withCounts);
    await copySqliteToPostgres(sqlite, db);
    expect((await db.query<{ n: number }>('SELECT SUM(n) AS n FROM child_counts')).rows[0]!.n).toBe(5);
    // The trigger is back on for what comes after the copy.
    await db.query("INSERT INTO child (parent_id, at) VALUES ('p0', 1)");
    expect((await db.query<{ n: number }>("SELECT n FROM child_counts WHERE parent_id = 'p0'")).rows[0]!.n).toBe(2);
  });

  it('refuses a target that already holds data and writes nothing', async () => {
    const sqlite = sqliteWith(10);
    const { db } = database(tables('postgres'));
    await db.query("INSERT INTO parent VALUES ('existing', 1, true, null)");
    await expect(copySqliteToPostgres(sqlite, db)).rejects.toThrow(/already holds data \(table parent/);
    expect((await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM child')).rows[0]!.n).toBe(0);
  });
});
