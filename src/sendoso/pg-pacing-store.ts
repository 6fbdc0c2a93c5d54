/**
 * @module The account's pace in the shared PostgreSQL database, for several instances when no
 * Redis is configured (Redis stays the better limiter for several instances: one round trip per
 * ask, no database connection held). `take` is one short transaction: an upsert that returns the
 * account's row and, by updating it, holds its row lock, then the same `decide()` every store
 * uses, then the new slot — so instances take turns on the row and none can take a slot another
 * already took. `pause` is a single atomic upsert that only ever moves the pause later.
 */
import type { PgDatabase } from '../storage/index.js';
import { decide } from './pacing-store.js';
import type { PacingAnswer, PacingStore } from './pacing-store.js';

interface PaceRow {
  next_pace: number;
  paused_until: number;
}

export class PgPacingStore implements PacingStore {
  readonly scope = 'cluster' as const;

  constructor(private readonly db: PgDatabase) {}

  async take(account: string, paceNow: number, clockNow: number, spacingMs: number): Promise<PacingAnswer> {
    return this.db.transaction(async (tx) => {
      // DO UPDATE (not DO NOTHING) so the row comes back locked whether it was new or not.
      const { rows } = await tx.query<PaceRow>(
        'INSERT INTO gateway_pace (account) VALUES ($1) ON CONFLICT (account) DO UPDATE SET account = EXCLUDED.account RETURNING next_pace, paused_until',
        [account],
      );
      const row = rows[0]!;
      const { answer, nextPace } = decide({ nextPace: row.next_pace, pausedUntil: row.paused_until }, paceNow, clockNow, spacingMs);
      if (nextPace !== undefined) await tx.query('UPDATE gateway_pace SET next_pace = $1 WHERE account = $2', [nextPace, account]);
      return answer;
    });
  }

  async pause(account: string, untilClock: number): Promise<number> {
    const { rows } = await this.db.query<{ paused_until: number }>(
      `INSERT INTO gateway_pace (account, paused_until) VALUES ($1, $2)
       ON CONFLICT (account) DO UPDATE SET paused_until = GREATEST(gateway_pace.paused_until, EXCLUDED.paused_until)
       RETURNING paused_until`,
      [account, untilClock],
    );
    return rows[0]!.paused_until;
  }

  /** The database is the process's, closed with it. */
  async close(): Promise<void> {}
}
