/**
 * The workflow commands as a user runs them: `run abm|audit|batch` against a Sendoso (the
 * sandbox over HTTP), the formats of the audit, bad input with clear messages and no sends, and
 * `runs list|show|cancel`.
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
beforeAll(async () => {
  sandbox = await startSandbox({ rateLimit: 100_000 });
  env = { GIFTGUARD_HOME: tempHome(), SENDOSO_API_URL: sandbox.apiBaseUrl, SENDOSO_ACCESS_TOKEN: sandbox.issueToken().access_token, GIFTGUARD_RATE_LIMIT: '1000' };
});
afterAll(async () => {
  await sandbox.close();
});

const ours = () => sandbox.state.sends.filter((s) => s.viaFrom === 'giftguard');

describe('giftguard run', () => {
  it('abm prints the summary; --json prints the run', async () => {
    const dry = await cli(env, 'run', 'abm', '--group', 'Enterprise Sales', '--campaign', 'Executive Whiskey Set', '--name', 'Sarah Connor', '--email', 'sarah@cyberdyne.example', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.out).toContain('Dry run: The send would be allowed and reserve 150.00 USD; nothing was sent.');
    expect(ours()).toHaveLength(0);
    const real = await cli(env, 'run', 'abm', '--group', 'Enterprise Sales', '--campaign', '8934', '--name', 'Sarah Connor', '--email', 'sarah@cyberdyne.example', '--json');
    const run = JSON.parse(real.out);
    expect(run).toMatchObject({ workflow: 'abm', status: 'done', output: { status: 'sent', trackingCode: expect.any(String) } });
    expect(ours()).toHaveLength(1);
  });

  it('abm with an eGift campaign fails clearly, exits 1 and sends nothing', async () => {
    const before = ours().length;
    const result = await cli(env, 'run', 'abm', '--group', 'Enterprise Sales', '--campaign', 'Amazon eGift 10', '--name', 'X', '--email', 'x@example.com');
    expect(result.out).toContain('Amazon eGift 10 (touch 8938) is an eGift campaign; this needs a physical campaign');
    expect(result.code).toBe(1);
    expect(ours()).toHaveLength(before);
  });

  it('audit prints a table, CSV, Markdown or JSON', async () => {
    const tableOut = await cli(env, 'run', 'audit', '--group', 'New Hires Q3', '--campaign', 'Welcome Swag Box');
    expect(tableOut.out).toMatch(/Tom Becker\s+tom\.becker@acme-robotics\.example\s+MISSING/);
    expect(tableOut.out).toContain('New Hires Q3: 3 of 4 members got Welcome Swag Box; 1 missing (Tom Becker).');
    const csv = await cli(env, 'run', 'audit', '--group', 'New Hires Q3', '--campaign', 'Welcome Swag Box', '--format', 'csv');
    expect(csv.out.split('\n')[0]).toBe('name,email,gifted,status,tracking,date,stuck,fix');
    expect(csv.out).toContain('"Tom Becker","tom.becker@acme-robotics.example","MISSING","","","","",""');
    const markdown = await cli(env, 'run', 'audit', '--group', 'New Hires Q3', '--campaign', 'Welcome Swag Box', '--format', 'markdown');
    expect(markdown.out).toMatch(/^\| NAME \| EMAIL \|/);
    const json = JSON.parse((await cli(env, 'run', 'audit', '--group', 'New Hires Q3', '--campaign', 'Welcome Swag Box', '--format', 'json')).out);
    expect(json.output.lines.filter((l: any) => !l.gifted).map((l: any) => l.name)).toEqual(['Tom Becker']);
  });

  it('audit --fix without --yes shows the proposed send in the FIX column', async () => {
    const proposed = await cli(env, 'run', 'audit', '--group', 'New Hires Q3', '--campaign', 'Welcome Swag Box', '--fix');
    expect(proposed.out).toMatch(/Tom Becker\s+tom\.becker@acme-robotics\.example\s+MISSING\s+-\s+-\s+-\s+proposed: address collection \(--fix --yes sends it\)/);
    expect(proposed.out).toContain('Proposed: 1 address-collection send(s) of Welcome Swag Box; run again with --fix --yes to start them.');
    expect(ours().filter((s) => s.recipient.email === 'tom.becker@acme-robotics.example')).toHaveLength(0);
  });

  it('batch --partial sends every row that fits whatever its place, and lists rejected and refused rows with line and reason', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'giftguard-cli-csv-')), 'attendees.csv');
    writeFileSync(
      path,
      ['email,name', 'official@agency.gov,Gov Person', 'not-an-email,Bad', 'p1@example.com,P One', 'p2@example.com,P Two', 'p1@example.com,P One Again', 'p3@example.com,P Three', 'p4@example.com,P Four', 'p5@example.com,P Five', ''].join('\n'),
    );
    // The embedded sandbox, where Marketing has a sender connected.
    const home = { GIFTGUARD_HOME: tempHome() };
    const result = await cli(home, 'run', 'batch', '--campaign', 'Q3 Webinar Attendees', '--group', 'Marketing', '--csv', path, '--partial');
    expect(result.code, result.err + result.out).toBe(0);
    const id = /Run (run_\w+) \(batch\) started/.exec(result.err)![1]!;
    const items = JSON.parse((await cli(home, 'runs', 'show', id, '--json')).out).items;
    expect(items.filter((i: any) => i.status === 'sent').map((i: any) => i.line)).toEqual([4, 5, 7, 8, 9]);
    // runs show lists every row with its outcome, not just the counts.
    const shown = (await cli(home, 'runs', 'show', id)).out;
    expect(shown).toContain('Items: 6 (5 sent, 1 refused)');
    expect(shown).toMatch(/Rejected rows \(not sent\): 2\nLINE\s+REASON\n3\s+invalid email "not-an-email"\n6\s+p1@example\.com appears earlier in the file/);
    expect(shown).toMatch(/^Run run_\w+ \(batch\): done\n/);
    expect(shown).toMatch(/^2\s+official@agency\.gov\s+refused\s+.*\.gov/m);
    for (const line of [4, 5, 7, 8, 9]) expect(shown).toMatch(new RegExp(`^${line}\\s+p\\d@example\\.com\\s+sent\\s+`, 'm'));
    expect(result.out).toContain('6 valid attendee(s), 2 row(s) rejected; Q3 Webinar Attendees from Marketing. Sent 5, waiting for approval 0, refused 1');
    expect(result.out).toContain('Rejected rows (not sent): 2\n  line 3: invalid email "not-an-email"');
    expect(result.out).toMatch(/line 6: p1@example\.com appears earlier in the file/);
    expect(result.out).toMatch(/Refused by the spend policy or Sendoso: 1\n  line 2: official@agency\.gov: .*Gifts to \.gov addresses are blocked/);
    // Human output only: progress goes to stderr as plain lines, not JSON on stdout.
    expect(result.out).not.toContain('"progress"');
    expect(result.err).toMatch(/6\/6: sent 5, approval 0, refused 1/);
  });

  it('batch refuses a CSV without an email column', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'giftguard-cli-csv-')), 'a.csv');
    writeFileSync(path, 'name\nAda\n');
    const result = await cli(env, 'run', 'batch', '--campaign', 'Q3 Webinar Attendees', '--group', 'Marketing', '--csv', path);
    expect(result.out).toContain('has no "email" column (its columns are: name); nothing was sent.');
    expect(result.code).toBe(1);
  });

  it('rejects bad flags before starting anything', async () => {
    const days = await cli(env, 'run', 'abm', '--group', 'G', '--campaign', 'C', '--name', 'N', '--email', 'e@x.com', '--expire-after-days', 'seven');
    expect(days.code).toBe(1);
    expect(days.err).toContain('--expire-after-days must be a whole number');
    const since = await cli(env, 'run', 'audit', '--group', 'G', '--campaign', 'C', '--since', 'last spring');
    expect(since.err).toContain('--since must be a date (2026-08-01) or a number of days ago (90d)');
    const missing = await cli(env, 'run', 'abm', '--group', 'G');
    expect(missing.code).not.toBe(0);
    expect(missing.err).toContain("required option '--campaign <name-or-id>' not specified");
  });
});

describe('giftguard runs', () => {
  it('list keeps one line per run whatever its summary holds', async () => {
    const { openDatabase } = await import('../../src/storage/index.js');
    const { SqliteRunStore } = await import('../../src/orchestrator/index.js');
    const home = { GIFTGUARD_HOME: tempHome() };
    expect((await cli(home, 'runs', 'list')).out).toContain('No runs yet');
    const db = openDatabase(join(home.GIFTGUARD_HOME, 'giftguard.db'));
    const store = new SqliteRunStore(db);
    const run = await store.create('abm', 1, {}, Date.now(), { owner: 'test', until: Date.now() });
    await store.setOutcome(run.id, 'failed', null, 'Approval apr_1 cannot be honoured now:\n  - the month cap is reached\n  - \u001b[31mred', Date.now());
    db.close();
    const lines = (await cli(home, 'runs', 'list')).out.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(new RegExp(`^${run.id}\\s+abm\\s+failed\\s+.*cannot be honoured now: - the month cap is reached - \ufffd\\[31mred$`));
  });

  it('cancel withdraws the approval request a waiting run holds: approving it afterwards sends nothing', async () => {
    const policies = mkdtempSync(join(tmpdir(), 'giftguard-cancel-policies-'));
    writeFileSync(join(policies, 'default.yaml'), readFileSync('policies/default.yaml', 'utf8').replace('above: 200.00', 'above: 100.00'));
    const withApproval = { ...env, GIFTGUARD_POLICIES: policies };
    const before = ours().length;
    const waiting = JSON.parse((await cli(withApproval, 'run', 'abm', '--group', 'Enterprise Sales', '--campaign', 'Executive Whiskey Set', '--name', 'Kyle Reese', '--email', 'kyle@cyberdyne.example', '--json')).out);
    expect(waiting.status).toBe('waiting');
    const approvalId = /apr_\w+/.exec((await cli(withApproval, 'approvals', 'list')).out)![0];
    const cancel = await cli(withApproval, 'runs', 'cancel', waiting.id);
    expect(cancel.out).toContain(`Cancelled ${waiting.id}. Its approval request ${approvalId} is withdrawn.`);
    const approve = await cli(withApproval, 'approvals', 'approve', approvalId);
    expect(approve.code).toBe(1);
    expect(approve.err).toContain(`Approval ${approvalId} is voided, not pending`);
    expect(ours()).toHaveLength(before);
  });

  it('lists and shows runs, and cancel refuses a finished one', async () => {
    const list = await cli(env, 'runs', 'list');
    expect(list.out).toMatch(/run_\w+\s+abm\s+done/);
    const id = /(run_\w+)\s+abm\s+done/.exec(list.out)![1]!;
    const show = await cli(env, 'runs', 'show', id);
    expect(show.out).toContain(`Run ${id} (abm): done`);
    expect(show.out).toMatch(/state\s+\{"state":"findingGroup"\}/);
    const cancel = await cli(env, 'runs', 'cancel', id);
    expect(cancel.code).toBe(1);
    expect(cancel.err).toContain(`Run ${id} is already done.`);
    expect((await cli(env, 'runs', 'show', 'run_nope')).err).toContain('No run run_nope');
  });
});
