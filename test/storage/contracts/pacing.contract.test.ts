/**
 * The account's pace in the database (PacingStore port: SqlitePacingStore, PgPacingStore), the same
 * assertions on SQLite and on PostgreSQL (DESIGN.md invariant 6: one pace per account, shared by
 * every process and instance). A slot is taken once however many callers ask at the same moment;
 * two pacers on two store objects of one database — two instances — never give turns closer than
 * the spacing; a pause set through one holds the other, and only ever moves later.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PgPacingStore, SqlitePacingStore } from '../../../src/sendoso/index.js';
import type { PacingStore } from '../../../src/sendoso/index.js';
import { PgDatabase } from '../../../src/storage/index.js';
import type { OpenedStore } from '../../support/postgres.js';
import { STORE_KINDS, openStore } from '../../support/postgres.js';
import { expectTwoPacersKeepSpacing } from '../../support/pacing.js';

describe.each(STORE_KINDS)('pace kept in %s', (kind) => {
  let opened: OpenedStore;
  const others: PgDatabase[] = [];
  /** A store as one instance holds it (PostgreSQL: a pool of its own on the same database). */
  const instance = (): PacingStore => {
    if (opened.kind === 'sqlite') return new SqlitePacingStore(opened.db);
    const db = new PgDatabase({ url: opened.url });
    others.push(db);
    return new PgPacingStore(db);
  };

  beforeEach(async () => {
    opened = await openStore(kind, 'pacing');
  });
  afterEach(async () => {
    for (const db of others.splice(0)) await db.close();
    await opened.close();
  });

  it('gives a slot to one caller of many asking at the same moment, from two instances', async () => {
    const [a, b] = [instance(), instance()];
    const asks = Array.from({ length: 24 }, (_, i) => (i % 2 === 0 ? a : b).take('acct', 1_000, 5_000, 100));
    const answers = await Promise.all(asks);
    expect(answers.filter((x) => x.go)).toHaveLength(1);
    expect(answers.filter((x) => !x.go)).toEqual(Array.from({ length: 23 }, () => ({ go: false, until: 1_100, on: 'pace' })));
    // Another account has a pace of its own.
    expect(await b.take('other', 1_000, 5_000, 100)).toEqual({ go: true });
    // The next slot is due a spacing later, for either instance.
    expect(await a.take('acct', 1_099, 5_000, 100)).toMatchObject({ go: false, until: 1_100 });
    expect(await b.take('acct', 1_100, 5_000, 100)).toEqual({ go: true });
  });

  it('a pause set through one instance holds the other, and only ever moves later', async () => {
    const [a, b] = [instance(), instance()];
    expect(await a.pause('acct', 9_000)).toBe(9_000);
    expect(await b.pause('acct', 7_000)).toBe(9_000);
    expect(await b.take('acct', 1_000, 8_999, 100)).toEqual({ go: false, until: 9_000, on: 'clock' });
    expect(await b.take('acct', 1_000, 9_000, 100)).toEqual({ go: true });
    // A pause on an account no one has called yet starts its row.
    expect(await b.pause('fresh', 4_000)).toBe(4_000);
    expect(await a.take('fresh', 1_000, 3_000, 100)).toMatchObject({ go: false, on: 'clock' });
  });

  it('two pacers on one account never give turns closer than the spacing', async () => {
    await expectTwoPacersKeepSpacing([instance(), instance()], kind === 'postgres' ? 1 : undefined);
  });
});
