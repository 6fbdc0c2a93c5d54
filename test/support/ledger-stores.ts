/**
 * @module The ledger on either store, for tests that hold both to the same assertions: a fresh
 * ledger, raw SQL over its tables (written to run on SQLite and PostgreSQL alike), and the
 * invariant every test ends on — the running totals equal what the raw holds, captures and
 * observed sends add up to.
 */
import { expect } from 'vitest';
import { PgLedger, SqliteLedger } from '../../src/guard/index.js';
import type { Ledger } from '../../src/guard/index.js';
import { openDatabase } from '../../src/storage/index.js';
import type { PgDatabase, SqliteDatabase } from '../../src/storage/index.js';
import { openStore } from './postgres.js';
import type { StoreKind } from './postgres.js';

export interface LedgerStore {
  readonly kind: StoreKind;
  readonly ledger: Ledger;
  /** Rows of a query over the ledger's tables (portable SQL, no parameters). */
  rows<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** Opens the connections a race needs before it starts (PostgreSQL's pool connects lazily, one by one). */
  warm(connections: number): Promise<void>;
  close(): Promise<void>;
}

/** Raw rows from either kind of database. */
export function rowsOf(db: SqliteDatabase | PgDatabase): <T>(sql: string) => Promise<T[]> {
  return 'prepare' in db ? async <T>(sql: string) => db.prepare(sql).all() as T[] : async <T>(sql: string) => (await db.query(sql)).rows as T[];
}

/** A fresh, empty ledger on `kind`. */
export async function openLedgerStore(kind: StoreKind, label = 'ledger'): Promise<LedgerStore & { url?: string }> {
  const store = await openStore(kind, label);
  const ledger = store.kind === 'sqlite' ? new SqliteLedger(store.db) : new PgLedger(store.db);
  const warm = async (connections: number) => {
    if (store.kind === 'postgres') await Promise.all(Array.from({ length: connections }, () => store.db.query('SELECT pg_sleep(0.05)')));
  };
  return { kind, ledger, rows: rowsOf(store.db), warm, close: store.close, ...(store.kind === 'postgres' && { url: store.url }) };
}

/** A ledger on a SQLite file (for tests whose other processes open the same file). */
export function sqliteFileLedger(path: string): { ledger: Ledger; db: SqliteDatabase } {
  const db = openDatabase(path);
  return { ledger: new SqliteLedger(db), db };
}

/**
 * Totals equal the raw rows: for every scope, held = the active holds that counted against it,
 * captured = what was captured for its captured holds, observed = the observed sends in it.
 */
export async function expectTotalsEqualRawRows(rows: LedgerStore['rows']): Promise<void> {
  const raw = new Map<string, { held: number; captured: number; observed: number }>();
  const entry = (scope: string, start: number) => {
    const key = `${scope}|${start}`;
    const found = raw.get(key) ?? { held: 0, captured: 0, observed: 0 };
    raw.set(key, found);
    return found;
  };
  const holds = await rows<{ amount_cents: number; scopes: string; status: string; captured: number | null }>(
    'SELECT h.amount_cents, h.scopes, h.status, c.amount_cents AS captured FROM holds h LEFT JOIN captures c ON c.intent_id = h.intent_id',
  );
  for (const h of holds) {
    for (const [scope, start] of JSON.parse(h.scopes) as [string, number][]) {
      const e = entry(scope, start);
      if (h.status === 'active') e.held += Number(h.amount_cents);
      if (h.status === 'captured') e.captured += Number(h.captured);
    }
  }
  for (const o of await rows<{ cost_cents: number; scopes: string }>('SELECT cost_cents, scopes FROM observed_sends')) {
    for (const [scope, start] of JSON.parse(o.scopes) as [string, number][]) entry(scope, start).observed += Number(o.cost_cents);
  }
  const totals = await rows<{ scope: string; window_start: number; held_cents: number; captured_cents: number; observed_cents: number }>(
    'SELECT scope, window_start, held_cents, captured_cents, observed_cents FROM spend_totals',
  );
  const seen = new Set<string>();
  for (const t of totals) {
    const key = `${t.scope}|${Number(t.window_start)}`;
    seen.add(key);
    const expected = raw.get(key) ?? { held: 0, captured: 0, observed: 0 };
    expect({ scope: key, held: Number(t.held_cents), captured: Number(t.captured_cents), observed: Number(t.observed_cents) }).toEqual({ scope: key, ...expected });
  }
  // A scope the raw rows count but no total row holds would be spend the decisions never see.
  for (const [key, expected] of raw) if (!seen.has(key)) expect({ scope: key, ...expected }).toEqual({ scope: key, held: 0, captured: 0, observed: 0 });
}

/** No key has two live intents. */
export async function expectOneLiveIntentPerKey(rows: LedgerStore['rows']): Promise<void> {
  const dupes = await rows(`SELECT key, COUNT(*) AS n FROM intents WHERE status IN ('PENDING','DISPATCHING','SENT','UNKNOWN') GROUP BY key HAVING COUNT(*) > 1`);
  expect(dupes).toEqual([]);
}
