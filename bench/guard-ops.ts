/**
 * @module What the guard bench measures, shared by the bench and its caller processes: the policy
 * (every rule a real one has: caps, per-recipient value and frequency, an approval threshold) and
 * one decision with its reservation for a new recipient; and on PostgreSQL, the floor under any
 * reservation, to measure the guard against.
 */
import { cents } from '../src/domain/index.js';
import type { CampaignInfo } from '../src/domain/index.js';
import { mergePolicyFiles, parsePolicyText } from '../src/guard/index.js';
import type { LedgerPort, Policy } from '../src/guard/index.js';
import type { PgDatabase } from '../src/storage/index.js';

const POLICY_TEXT = `
version: 1
timezone: America/New_York
global: { per_day: 100000000 }
compliance: { blocked_domains: [".gov", ".mil"] }
groups:
  - group: Marketing
    caps: { per_send: 50, per_day: 100000000, per_week: 100000000, per_month: 100000000 }
    per_recipient: { max_value_per_year: 400, max_sends: { count: 1, per_days: 30 } }
    approval: { above: 45 }
`;

export const BENCH_POLICY = (): Policy => mergePolicyFiles([parsePolicyText('bench.yaml', POLICY_TEXT).file!]);

export const webinar: CampaignInfo = { id: 8937, name: 'Q3 Webinar Attendees', deliveryType: 'email', egiftMin: cents(2500), egiftMax: cents(2500), currency: 'USD' };

/** Decision + reservation for a new recipient each call (unique per `prefix`), as the guard does it. */
export function benchReserve(ledger: LedgerPort, policy: Policy, prefix: string): () => Promise<void> {
  let j = 0;
  return async () => {
    j += 1;
    const email = `${prefix}-decide${j}@example.com`;
    const result = await ledger.reserve({
      candidate: { kind: 'egift', group: 'Marketing', touch: webinar, recipients: [email] },
      policy,
      keys: [`${prefix}-decide-${j}`],
      requestKey: `${prefix}-decide-${j}`,
      payloadHash: 'bench',
      request: { tool: 'create_a_sendoso_egift', path: '/send', body: { send: { touch_id: 8937, email } }, caller: { via: 'workflow', id: 'bench' } },
      now: Date.now(),
      caller: 'bench',
    });
    if (result.kind !== 'reserved') throw new Error(`unexpected ${result.kind}`);
  };
}

/** Rows of the floor table: callers lock one at random, so they rarely meet on it. */
export const FLOOR_ROWS = 100_000;

/** The floor table, in the schema `db` names: one hot row (0) and {@link FLOOR_ROWS} others. */
export async function createFloorTable(db: PgDatabase): Promise<void> {
  await db.query('CREATE TABLE bench_floor (id bigint PRIMARY KEY, n bigint NOT NULL)');
  await db.query('INSERT INTO bench_floor (id, n) SELECT i, 0 FROM generate_series(0, $1::bigint) AS i', [FLOOR_ROWS]);
  await db.query('ANALYZE bench_floor');
}

/**
 * The least any reservation on PostgreSQL costs, through the same driver and transaction code:
 * BEGIN, lock one row of the caller's own (a recipient's year), bump one row every caller shares
 * (the group's day), COMMIT. No reads, no intent, hold or audit. What this machine does of these
 * per second bounds what the guard can do on it; the bench reports the guard as a share of it.
 */
export function floorTransaction(db: PgDatabase): () => Promise<void> {
  return () =>
    db.transaction(async (q) => {
      await q.query('SELECT n FROM bench_floor WHERE id = $1 FOR UPDATE', [1 + Math.floor(Math.random() * FLOOR_ROWS)], { prepare: true });
      await q.query('UPDATE bench_floor SET n = n + 1 WHERE id = 0', [], { prepare: true });
    });
}
