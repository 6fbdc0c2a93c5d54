/**
 * `giftguard schedules list|run` as a user runs them: next fire times in each schedule's timezone,
 * the shipped schedules.yaml, a schedule run now against a Sendoso (the sandbox over HTTP) with
 * its report written, and clear errors for a missing file or an unknown name.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox } from '../../src/sandbox/index.js';
import type { RunningSandbox } from '../../src/sandbox/index.js';
import { cli, tempHome } from '../support/cli.js';

let sandbox: RunningSandbox;
let env: Record<string, string>;
let dir: string;
beforeAll(async () => {
  sandbox = await startSandbox({ rateLimit: 100_000 });
  env = { GIFTGUARD_HOME: tempHome(), SENDOSO_API_URL: sandbox.apiBaseUrl, SENDOSO_ACCESS_TOKEN: sandbox.issueToken().access_token, GIFTGUARD_RATE_LIMIT: '1000' };
  dir = mkdtempSync(join(tmpdir(), 'giftguard-schedules-cli-'));
  writeFileSync(
    join(dir, 'schedules.yaml'),
    `schedules:
  - name: new-hires-q3-audit
    cron: "0 9 * * MON"
    timezone: America/New_York
    workflow: audit
    input: { group: New Hires Q3, campaign: Welcome Swag Box }
    report: { file: out/audit.md }
  - name: tokyo-morning
    cron: "30 8 * * *"
    timezone: Asia/Tokyo
    workflow: audit
    input: { group: New Hires Q3, campaign: Welcome Swag Box }
    enabled: false
`,
  );
});
afterAll(async () => {
  await sandbox.close();
});

describe('giftguard schedules list', () => {
  it('shows the next fire times in each schedule\'s timezone', async () => {
    const result = await cli(env, 'schedules', 'list', '--file', join(dir, 'schedules.yaml'), '--count', '2');
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/^NAME\s+WORKFLOW\s+CRON\s+NEXT\s+REPORT\s+LAST RUN$/m);
    expect(result.out).toMatch(/new-hires-q3-audit\s+audit\s+0 9 \* \* MON\s+Mon \d{4}-\d\d-\d\d 09:00 America\/New_York; Mon \d{4}-\d\d-\d\d 09:00 America\/New_York\s/);
    expect(result.out).toMatch(/tokyo-morning\s+audit\s+30 8 \* \* \*\s+disabled/);
    const json = JSON.parse((await cli(env, 'schedules', 'list', '--file', join(dir, 'schedules.yaml'), '--count', '3', '--json')).out);
    const next = json[0].next.map((t: string) => new Date(t));
    expect(next).toHaveLength(3);
    // 09:00 in New York is 13:00 or 14:00 UTC, depending on daylight saving; always a Monday.
    for (const t of next) expect([t.getUTCDay(), [13, 14].includes(t.getUTCHours()), t.getUTCMinutes()]).toEqual([1, true, 0]);
    expect(next[1] - next[0]).toBeGreaterThanOrEqual(7 * 86_400_000 - 3_600_000);
  });

  it('reads the shipped schedules.yaml by default', async () => {
    const result = await cli(env, 'schedules', 'list');
    expect(result.out).toMatch(/new-hires-q3-audit\s+audit\s+0 9 \* \* MON\s+Mon .* 09:00 America\/New_York\s+reports\/new-hires-q3-audit\.md/);
  });

  it('says so when a named file is missing or invalid', async () => {
    const missing = await cli(env, 'schedules', 'list', '--file', join(dir, 'nope.yaml'));
    expect(missing.code).toBe(1);
    expect(missing.err).toBe(`giftguard: Invalid schedule file:\n  ${join(dir, 'nope.yaml')}: no such file\n`);
    writeFileSync(join(dir, 'bad.yaml'), 'schedules:\n  - name: x\n    cron: "0 25 * * *"\n    workflow: audit\n    input: { group: G, campaign: C }\n');
    const bad = await cli(env, 'schedules', 'list', '--file', join(dir, 'bad.yaml'));
    expect(bad.err).toContain(`${join(dir, 'bad.yaml')}:3: schedules[0].cron: "0 25 * * *": Invalid value for hour: 25`);
  });
});

describe('giftguard schedules run', () => {
  it('runs a schedule now, prints and writes its report, and remembers the run', async () => {
    const result = await cli(env, 'schedules', 'run', 'new-hires-q3-audit', '--file', join(dir, 'schedules.yaml'));
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/^## new-hires-q3-audit — \w{3} \d{4}-\d\d-\d\d \d\d:\d\d America\/New_York \(run by hand\)/);
    expect(result.out).toContain('New Hires Q3: 3 of 4 members got Welcome Swag Box; 1 missing (Tom Becker).');
    expect(result.err).toContain(`Report delivered to: `);
    const written = readFileSync(join(dir, 'out/audit.md'), 'utf8');
    expect(written).toContain('| Tom Becker | tom.becker@acme-robotics.example | MISSING |');
    expect(sandbox.state.sends.filter((s) => s.viaFrom === 'giftguard')).toHaveLength(0);
    const runId = /Run `(run_[^`]+)`/.exec(result.out)![1]!;
    const listed = await cli(env, 'schedules', 'list', '--file', join(dir, 'schedules.yaml'));
    expect(listed.out).toContain(`${runId} at `);
  });

  it('names the closest schedule for a typo', async () => {
    const result = await cli(env, 'schedules', 'run', 'new-hires-audit', '--file', join(dir, 'schedules.yaml'));
    expect(result.code).toBe(1);
    expect(result.err).toBe(`giftguard: No schedule "new-hires-audit" in ${join(dir, 'schedules.yaml')}. Did you mean "new-hires-q3-audit"? (giftguard schedules list)\n`);
  });
});
