/**
 * @module The account's pace in giftguard's SQLite file, shared by every process on the machine
 * that uses the same data directory (`serve`, a CLI batch, a second `serve`). One tiny
 * BEGIN IMMEDIATE transaction per call: processes take turns, and none can take a slot another
 * already took.
 */
import type { SqliteDatabase } from '../storage/index.js';
import { decide } from './pacing-store.js';
import type { PacingAnswer, PacingStore } from './pacing-store.js';

interface PaceRow {
  next_pace: number;
  paused_until: number;
}

export class SqlitePacingStore implements PacingStore {
  readonly scope = 'machine' as const;
  private readonly takeTx: (account: string, paceNow: number, clockNow: number, spacingMs: number) => PacingAnswer;
  private readonly pauseTx: (account: string, untilClock: number) => number;

  constructor(db: SqliteDatabase) {
    const ensure = db.prepare('INSERT OR IGNORE INTO gateway_pace (account) VALUES (?)');
    const read = db.prepare<[string], PaceRow>('SELECT next_pace, paused_until FROM gateway_pace WHERE account = ?');
    const setNext = db.prepare('UPDATE gateway_pace SET next_pace = ? WHERE account = ?');
    const setPause = db.prepare('UPDATE gateway_pace SET paused_until = MAX(paused_until, ?) WHERE account = ?');
    const take = db.transaction((account: string, paceNow: number, clockNow: number, spacingMs: number): PacingAnswer => {
      ensure.run(account);
      const row = read.get(account)!;
      const { answer, nextPace } = decide({ nextPace: row.next_pace, pausedUntil: row.paused_until }, paceNow, clockNow, spacingMs);
      if (nextPace !== undefined) setNext.run(nextPace, account);
      return answer;
    });
    const pause = db.transaction((account: string, untilClock: number): number => {
      ensure.run(account);
      setPause.run(untilClock, account);
      return read.get(account)!.paused_until;
    });
    this.takeTx = (...args) => take.immediate(...args);
    this.pauseTx = (...args) => pause.immediate(...args);
  }

  async take(account: string, paceNow: number, clockNow: number, spacingMs: number): Promise<PacingAnswer> {
    return this.takeTx(account, paceNow, clockNow, spacingMs);
  }

  async pause(account: string, untilClock: number): Promise<number> {
    return this.pauseTx(account, untilClock);
  }

  async close(): Promise<void> {}
}
