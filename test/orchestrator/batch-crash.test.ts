/**
 * Kill the process (SIGKILL) in the middle of a 200-recipient batch at several points and resume
 * the run by id each time: every recipient ends with exactly one send — none twice, none missing.
 * The CLI runs as a real separate process against the sandbox over HTTP. On SQLite (one machine)
 * the next process takes the dead one's run at once; on PostgreSQL, as a second instance would,
 * it is refused until the dead one's lease runs out and then takes it over.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startSandbox } from '../../src/sandbox/index.js';
import { openDatabase } from '../../src/storage/index.js';
import { BIN } from '../support/cli.js';
import { STORE_KINDS, TEST_DATABASE_URL, dropSchema, schemaUrl, uniqueSchemaName } from '../support/postgres.js';

/** A PostgreSQL run's item statuses and how often it was resumed, read over the wire. */
async function postgresRun(url: string, runId: string): Promise<{ items: { status: string; n: number }[]; resumed: number }> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path=${new URL(url).searchParams.get('schema')}` });
  await client.connect();
  try {
    const items = (await client.query<{ status: string; n: number }>('SELECT status, COUNT(*)::int AS n FROM run_items WHERE run_id = $1 GROUP BY status', [runId])).rows;
    const resumed = (await client.query(`SELECT 1 FROM run_events WHERE run_id = $1 AND type = 'resumed'`, [runId])).rowCount ?? 0;
    return { items, resumed };
  } finally {
    await client.end();
  }
}

describe.each(STORE_KINDS)('a 200-recipient batch killed and resumed, runs on %s', (kind) => {
  it('ends with exactly one send per recipient', async () => {
    const schema = kind === 'postgres' ? uniqueSchemaName('crash') : undefined;
    const sandbox = await startSandbox({ rateLimit: 100_000, control: true });
    const dir = mkdtempSync(join(tmpdir(), 'giftguard-batch-crash-'));
    mkdirSync(join(dir, 'policies'));
    writeFileSync(join(dir, 'policies', 'batch.yaml'), 'version: 1\ngroups:\n  - group: Marketing\n    caps: { per_day: 100000 }\n');
    const recipients = Array.from({ length: 200 }, (_, i) => `attendee${i}@example.com`);
    writeFileSync(join(dir, 'attendees.csv'), ['email,name', ...recipients.map((e, i) => `${e},Attendee ${i}`)].join('\n'));
    const env = {
      ...process.env,
      GIFTGUARD_HOME: join(dir, 'home'),
      GIFTGUARD_POLICIES: join(dir, 'policies'),
      GIFTGUARD_LOG_LEVEL: 'silent',
      GIFTGUARD_RATE_LIMIT: '2000',
      GIFTGUARD_RECONCILE_SETTLE_SECONDS: '0',
      GIFTGUARD_DISPATCH_STALE_SECONDS: '0',
      SENDOSO_API_URL: sandbox.apiBaseUrl,
      // Riley Brooks sends for Marketing: Marketing's sends go out (and are charged) as her.
      SENDOSO_ACCESS_TOKEN: sandbox.issueToken(505).access_token,
      // Short leases, so a dead instance's run is free within seconds of real time.
      ...(schema && { GIFTGUARD_DATABASE_URL: schemaUrl(schema), GIFTGUARD_RUN_LEASE_SECONDS: '3' }),
    };
    const sent = () => sandbox.state.sends.filter((s) => s.viaFrom === 'giftguard').length;
    let runId: string | undefined;

    /** Runs the CLI until `killAt` sends exist upstream (then SIGKILL), or to the end. */
    async function cli(args: string[], killAt?: number): Promise<{ killed: boolean; out: string; err: string }> {
      const child = spawn(process.execPath, [BIN, ...args], { env });
      let out = '';
      let err = '';
      child.stdout.on('data', (c) => {
        out += c;
        runId ??= /"run":"(run_\w+)"/.exec(out)?.[1];
      });
      child.stderr.on('data', (c) => (err += c));
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      let killed = false;
      while (child.exitCode === null && child.signalCode === null) {
        if (killAt !== undefined && sent() >= killAt) {
          child.kill('SIGKILL');
          killed = true;
          break;
        }
        await new Promise((r) => setTimeout(r, 2));
      }
      await exited;
      return { killed, out, err };
    }
    /** `runs resume`, again while another process's lease still holds the run (PostgreSQL: until it runs out). */
    let refusals = 0;
    async function resume(killAt?: number): Promise<{ killed: boolean; out: string }> {
      for (;;) {
        const attempt = await cli(['runs', 'resume', runId!, '--json'], killAt);
        if (!/is being run by/.test(attempt.err)) return attempt;
        refusals += 1;
        await new Promise((r) => setTimeout(r, 500));
      }
    }

    try {
      const first = await cli(['run', 'batch', '--campaign', 'Q3 Webinar Attendees', '--group', 'Marketing', '--csv', join(dir, 'attendees.csv'), '--json'], 15);
      expect(first.killed).toBe(true);
      expect(runId).toMatch(/^run_/);
      for (const killAt of [60, 110, 170]) {
        const resumed = await resume(killAt);
        expect(resumed.killed, `resume before ${killAt}`).toBe(true);
      }
      const last = await resume();
      expect(JSON.parse(last.out.slice(last.out.indexOf('{\n')))).toMatchObject({ status: 'done' });

      const perRecipient = new Map<string, number>();
      for (const send of sandbox.state.sends.filter((s) => s.viaFrom === 'giftguard')) {
        perRecipient.set(send.recipient.email, (perRecipient.get(send.recipient.email) ?? 0) + 1);
      }
      expect([...perRecipient.entries()].filter(([, n]) => n !== 1)).toEqual([]);
      expect([...perRecipient.keys()].sort()).toEqual([...recipients].sort());

      if (schema) {
        const run = await postgresRun(env.GIFTGUARD_DATABASE_URL!, runId!);
        expect(run).toEqual({ items: [{ status: 'sent', n: 200 }], resumed: 4 });
        // Each killed instance's lease held its run until it ran out: no pid is trusted across instances.
        expect(refusals).toBeGreaterThan(0);
      } else {
        const db = openDatabase(join(dir, 'home', 'giftguard.db'));
        const items = db.prepare('SELECT status, COUNT(*) AS n FROM run_items WHERE run_id = ? GROUP BY status').all(runId!) as { status: string; n: number }[];
        expect(items).toEqual([{ status: 'sent', n: 200 }]);
        const events = db.prepare(`SELECT type FROM run_events WHERE run_id = ? AND type = 'resumed'`).all(runId!);
        expect(events).toHaveLength(4);
        db.close();
        // One machine: the dead process's run was taken at once.
        expect(refusals).toBe(0);
      }
    } finally {
      await sandbox.close();
      if (schema) await dropSchema(schema);
    }
  }, 120_000);
});
