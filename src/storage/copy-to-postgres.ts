/**
 * @module Moves a SQLite database's contents into an empty PostgreSQL database migrated to the same
 * schema (`giftguard db migrate-to`). Both dialects describe the same tables under the same names
 * (./schema), so the copy is generic: every table the PostgreSQL schema has is filled from the
 * SQLite table of that name, column by column, in one transaction — all of it lands or none does.
 */
import type { SqliteDatabase } from './sqlite.js';
import type { PgDatabase, PgQueryable } from './postgres.js';

export interface TableCopy {
  readonly table: string;
  readonly rows: number;
  /** SQLite columns the PostgreSQL table does not have (their values are not carried over). */
  readonly droppedColumns: readonly string[];
}

export interface CopyReport {
  readonly tables: readonly TableCopy[];
  readonly rows: number;
}

/** Rows per INSERT: large enough to be quick, small enough to stay under PostgreSQL's 65,535 parameters. */
const BATCH_ROWS = 500;

interface PgColumn {
  table_name: string;
  column_name: string;
  data_type: string;
}

/**
 * Copies every row. Refuses (before writing anything) when the target already holds data, so a
 * second run cannot duplicate or mix two ledgers; reports per table what was copied, and checks
 * that each target table ends with as many rows as its source.
 */
export async function copySqliteToPostgres(source: SqliteDatabase, target: PgDatabase, onTable?: (copy: TableCopy) => void): Promise<CopyReport> {
  await target.ready();
  return target.transaction(async (tx) => {
    const columns = (
      await tx.query<PgColumn>(
        `SELECT table_name, column_name, data_type FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name <> 'schema_migrations' ORDER BY table_name, ordinal_position`,
      )
    ).rows;
    const tables = new Map<string, PgColumn[]>();
    for (const column of columns) tables.set(column.table_name, [...(tables.get(column.table_name) ?? []), column]);
    const sourceTables = new Set(source.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((r) => r.name));

    // Tables only PostgreSQL has (shared_settings, written when an instance connects) are not copied, so not checked.
    for (const table of [...tables.keys()].filter((t) => sourceTables.has(t))) {
      const { rows } = await tx.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${quote(table)}) AS any`);
      if (rows[0]?.any) throw new Error(`the target database already holds data (table ${table} is not empty); migrate into an empty database or schema`);
    }

    // Rows are copied as they are, derived ones included (a trigger's running counts): the tables'
    // own triggers would count them a second time, so they are off until every row is in.
    const triggered = (
      await tx.query<{ table: string }>(
        `SELECT DISTINCT c.relname AS table FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT t.tgisinternal AND n.nspname = current_schema()`,
      )
    ).rows.map((r) => r.table);
    for (const table of triggered) await tx.query(`ALTER TABLE ${quote(table)} DISABLE TRIGGER USER`);

    const copies: TableCopy[] = [];
    for (const table of await insertionOrder(tx, [...tables.keys()])) {
      if (!sourceTables.has(table)) continue;
      const targetColumns = tables.get(table)!;
      const sourceColumns = new Set(source.prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('${table.replaceAll("'", "''")}')`).all().map((c) => c.name));
      const shared = targetColumns.filter((c) => sourceColumns.has(c.column_name));
      const droppedColumns = [...sourceColumns].filter((name) => !targetColumns.some((c) => c.column_name === name));
      const convert = shared.map((c) => converterFor(c.data_type));
      const names = shared.map((c) => quote(c.column_name)).join(', ');
      let batch: unknown[][] = [];
      let copied = 0;
      const flush = async () => {
        if (batch.length === 0) return;
        const params: unknown[] = [];
        const tuples = batch.map((row) => `(${row.map((value) => `$${params.push(value)}`).join(', ')})`);
        await tx.query(`INSERT INTO ${quote(table)} (${names}) VALUES ${tuples.join(', ')}`, params);
        copied += batch.length;
        batch = [];
      };
      const read = source.prepare(`SELECT ${shared.map((c) => `"${c.column_name}"`).join(', ')} FROM "${table}"`).raw(true);
      // Read a batch, write it, read on: a million-row ledger never sits in memory whole.
      for (const row of read.iterate() as IterableIterator<unknown[]>) {
        batch.push(row.map((value, i) => convert[i]!(value)));
        if (batch.length >= BATCH_ROWS) await flush();
      }
      await flush();
      await advanceSequences(tx, table, shared);
      const counted = (await tx.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${quote(table)}`)).rows[0]!.n;
      if (counted !== copied) throw new Error(`table ${table}: ${copied} rows copied but ${counted} found after; nothing was kept`);
      const copy = { table, rows: copied, droppedColumns };
      onTable?.(copy);
      copies.push(copy);
    }
    for (const table of triggered) await tx.query(`ALTER TABLE ${quote(table)} ENABLE TRIGGER USER`);
    return { tables: copies, rows: copies.reduce((sum, c) => sum + c.rows, 0) };
  });
}

/** SQLite keeps booleans as 0/1; everything else reads as PostgreSQL will take it. */
function converterFor(dataType: string): (value: unknown) => unknown {
  if (dataType === 'boolean') return (value) => (value === null ? null : Boolean(value));
  if (dataType === 'bigint' || dataType === 'integer') return (value) => (typeof value === 'bigint' ? Number(value) : value);
  return (value) => value;
}

/** Tables a foreign key points to come before the tables that point to them. */
async function insertionOrder(tx: PgQueryable, tables: readonly string[]): Promise<string[]> {
  const { rows } = await tx.query<{ child: string; parent: string }>(
    `SELECT c.relname AS child, p.relname AS parent FROM pg_constraint k
     JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
     JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE k.contype = 'f' AND n.nspname = current_schema()`,
  );
  const ordered: string[] = [];
  const visiting = new Set<string>();
  const visit = (table: string) => {
    if (ordered.includes(table) || visiting.has(table)) return;
    visiting.add(table);
    for (const { parent } of rows.filter((r) => r.child === table && r.parent !== table)) visit(parent);
    ordered.push(table);
  };
  for (const table of [...tables].sort()) visit(table);
  return ordered;
}

/** Identity and serial columns continue after the highest id copied, not from 1. */
async function advanceSequences(tx: PgQueryable, table: string, columns: readonly PgColumn[]): Promise<void> {
  for (const column of columns) {
    const { rows } = await tx.query<{ sequence: string | null }>('SELECT pg_get_serial_sequence($1, $2) AS sequence', [quote(table), column.column_name]);
    const sequence = rows[0]?.sequence;
    if (!sequence) continue;
    await tx.query(`SELECT setval($1, (SELECT COALESCE(MAX(${quote(column.column_name)}), 0) + 1 FROM ${quote(table)}), false)`, [sequence]);
  }
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;
