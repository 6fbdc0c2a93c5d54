/**
 * The console's Runs pages over real HTTP, on the real orchestrator, guard and sandbox: the list
 * shows runs newest first by status and pages; a batch's page shows what it is for, its progress
 * from the counts the store keeps, and its rows a page at a time (never all of a large batch) by
 * status; its progress as JSON for the page's script, which follows a run only while it works;
 * Resume continues an incomplete batch through the orchestrator — exactly its open rows are sent —
 * and Cancel stops a run waiting for approval, each only with the session's synchronizer token
 * from the console's own origin and only for admins and the run's group's approvers; each action
 * is recorded with who asked in the run's log and the guard's audit trail, and a cancelled run
 * whose approval request is still open says approving it would still send; empty, the list says
 * how runs start; signed out, every page, the JSON and the forms are refused.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createApprovals } from '../../src/guard/index.js';
import type { Policy } from '../../src/guard/index.js';
import type { RunHandle, RunRecord } from '../../src/orchestrator/index.js';
import { sendosoSendHistory } from '../../src/sendoso/index.js';
import { ConsoleAccounts, SqliteConsoleAccountStore } from '../../src/triggers/console/index.js';
import { driveToEnd } from '../support/drive.js';
import { policyFrom } from '../support/guard.js';
import { startOrchestration } from '../support/orchestration.js';
import type { Orchestration } from '../support/orchestration.js';
import { startTestConsole, textOf } from '../support/console.js';
import type { TestConsole } from '../support/console.js';

const POLICY: Policy = policyFrom(`
version: 1
costs:
  - { touch: Executive Whiskey Set, cost: 150 }
groups:
  - group: Marketing
    caps: { per_day: 1000000 }
    approval: { approvers: ['console:mo-marketing'] }
  - group: Enterprise Sales
    caps: { per_send: 300, per_day: 100000 }
    approval: { above: 100, approvers: ['cli:operator'] }
`);

let env: Orchestration | undefined;
let console: TestConsole | undefined;
/** Runs the console resumed, as the orchestrator handed them back. */
let resumed: RunHandle[] = [];

afterEach(async () => {
  await console?.close();
  await env?.close();
  console = undefined;
  env = undefined;
  resumed = [];
});

/** The orchestration and a console over it, wired as serve wires it. */
async function start(options: { settleMs?: number } = {}): Promise<{ e: Orchestration; c: TestConsole; accounts: ConsoleAccounts }> {
  env = await startOrchestration({ policy: POLICY, ...options });
  const e = env;
  const accounts = new ConsoleAccounts(new SqliteConsoleAccountStore(e.db), Buffer.alloc(32, 4), e.clock);
  await accounts.ensureOperator('operator');
  console = await startTestConsole({
    accounts,
    approvals: createApprovals({ ledger: e.ledger, clock: e.clock, guard: e.guard }),
    ledger: e.ledger,
    policy: { current: () => ({ policy: POLICY }) },
    runs: e.runs,
    balances: () => undefined,
    audit: (a) => e.ledger.recordGuardEvent({ at: e.clock.now(), event: a.event, outcome: a.outcome, caller: a.by, reasons: a.detail ? [a.detail] : undefined }),
    runControl: {
      resume: async (id, by) => void resumed.push(await e.orchestrator.resume(id, {}, by)),
      cancel: async (id, by) => e.orchestrator.cancel(id, by),
    },
    clock: e.clock,
  });
  return { e, c: console, accounts };
}

function attendees(count: number): string {
  const path = join(mkdtempSync(join(tmpdir(), 'giftguard-console-runs-')), 'attendees.csv');
  writeFileSync(path, ['email,name', ...Array.from({ length: count }, (_, i) => `attendee${i}@example.com,Attendee ${i}`), 'not-an-email,Broken'].join('\n'));
  return path;
}

const batch = (e: Orchestration, csvPath: string, extra: Record<string, unknown> = {}) =>
  e.orchestrator.start('batch', { campaign: 'Q3 Webinar Attendees', group: 'Marketing', csvPath, partial: false, ...extra });

/** The rows a run's page shows: file line, email and status of each. */
function rowsOf(page: string): { line: number; email: string; status: string }[] {
  return [...page.matchAll(/<tr data-item="\d+" data-status="(\w+)"><td class="num">(\d+)<\/td><td>([^<]+)/g)].map((m) => ({ line: Number(m[2]), email: m[3]!, status: m[1]! }));
}

const auditOf = (e: Orchestration) =>
  (e.db.prepare("SELECT outcome, caller, reasons FROM guard_audit WHERE event = 'console_run' ORDER BY id").all() as { outcome: string; caller: string; reasons: string }[]).map((r) => ({ ...r, reasons: JSON.parse(r.reasons) as string[] }));

describe('the list', () => {
  it('empty, says how runs start', async () => {
    const { c } = await start();
    const { cookie } = await c.signIn('cli:operator');
    const page = await (await c.get('/console/runs', cookie)).text();
    expect(page).toContain('<a href="/console/runs" class="current" aria-current="page">Runs</a>');
    expect(textOf(page)).toContain('No runs yet');
    expect(textOf(page)).toContain('giftguard run batch --csv attendees.csv');
  });

  it('newest first, by status, fifty to a page', async () => {
    const { e, c } = await start();
    const finished = await driveToEnd(e, batch(e, attendees(3)));
    expect(finished.status).toBe('done');
    for (let i = 0; i < 55; i++) {
      e.clock.advance(1000);
      await e.runs.create('abm', 1, { group: 'Enterprise Sales', campaign: 'Executive Whiskey Set', recipientName: `R ${i}`, recipientEmail: `r${i}@example.com` }, e.clock.now(), { owner: 'elsewhere', until: e.clock.now() });
    }
    const { cookie } = await c.signIn('cli:operator');
    const ids = (page: string) => [...page.matchAll(/<tr data-run="(run_\w+)">/g)].map((m) => m[1]!);
    const first = await (await c.get('/console/runs', cookie)).text();
    expect(ids(first)).toHaveLength(50);
    expect(textOf(first)).toContain('R 54 <r54@example.com>');
    const older = /<a href="\/console\/runs\?(after=[^"]+)" rel="next">/.exec(first)![1]!;
    const second = await (await c.get(`/console/runs?${older.replace(/&amp;/g, '&')}`, cookie)).text();
    expect(ids(second)).toHaveLength(6);
    expect(ids(second).at(-1)).toBe(finished.id);
    expect(new Set([...ids(first), ...ids(second)]).size).toBe(56);
    // By status: the finished batch alone; an empty status says so.
    const done = await (await c.get('/console/runs?status=done', cookie)).text();
    expect(ids(done)).toEqual([finished.id]);
    expect(textOf(done)).toContain('Marketing · Q3 Webinar Attendees');
    expect(textOf(done)).toContain(finished.summary!);
    expect(textOf(await (await c.get('/console/runs?status=failed', cookie)).text())).toContain('No failed runs');
    // Runs at work are counted on the list.
    expect(textOf(first)).toContain('55 running');
  });
});

describe('a batch', () => {
  it('its page: what it is for, progress from the kept counts, rows a hundred at a time by status, rejected rows, its log; the JSON for the script', async () => {
    const { e, c } = await start();
    const run = await driveToEnd(e, batch(e, attendees(150)));
    expect(run.status).toBe('done');
    const { cookie } = await c.signIn('cli:operator');
    const page = await (await c.get(`/console/runs/${run.id}`, cookie)).text();
    expect(textOf(page)).toContain('eGift batch');
    expect(page).toContain('data-field="group">Marketing');
    expect(page).toContain('data-field="campaign">Q3 Webinar Attendees');
    expect(page).toContain('<b data-count="sent">150</b>');
    expect(page).toContain('<b data-field="total">150</b>');
    // Finished: not followed live, no actions.
    expect(page).not.toContain('data-live=');
    expect(page).not.toContain('http-equiv="refresh"');
    expect(page).not.toContain(`/console/runs/${run.id}/cancel`);
    // The first hundred rows, then the rest.
    const first = rowsOf(page);
    expect(first).toHaveLength(100);
    expect(first[0]).toEqual({ line: 2, email: 'attendee0@example.com', status: 'sent' });
    const next = /<a href="(\/console\/runs\/run_\w+\?after=\d+)#rows" rel="next">/.exec(page)![1]!;
    const second = rowsOf(await (await c.get(next, cookie)).text());
    expect(second.map((r) => r.line)).toEqual(Array.from({ length: 50 }, (_, i) => 102 + i));
    expect(rowsOf(await (await c.get(`/console/runs/${run.id}?items=refused`, cookie)).text())).toEqual([]);
    expect(textOf(await (await c.get(`/console/runs/${run.id}?items=refused`, cookie)).text())).toContain('No rows refused');
    // The file check's rejection, and the log.
    expect(textOf(page)).toContain('Rows the file check rejected (1)');
    expect(page).toMatch(/<tr data-event="finished">/);

    const progress = await c.get(`/console/runs/${run.id}/progress`, cookie);
    expect(progress.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await progress.json()).toMatchObject({ id: run.id, status: 'done', total: 150, done: 150, counts: await e.runs.itemCounts(run.id) });
    expect((await c.get('/console/runs/run_nosuchrun/progress', cookie)).status).toBe(404);
    expect((await c.get('/console/runs/run_nosuchrun', cookie)).status).toBe(404);
  });

  it('incomplete: Resume needs the session’s token and an approver of its group; then the orchestrator sends exactly the open rows, and who resumed is recorded', async () => {
    const { e, c, accounts } = await start({ settleMs: 600_000 });
    // Three sends lost before Sendoso committed them: proved absent only after the settle window.
    e.sandbox.injectFault({ kind: 'drop_before_commit', count: 3, method: 'POST', path: '/send' });
    const stopped = await driveToEnd(e, batch(e, attendees(10), { retryForMs: 30_000 }));
    expect(stopped.status).toBe('incomplete');
    e.clock.advance(600_000);
    await e.guard.reconcile(sendosoSendHistory(e.gatewayClient, e.clock));
    expect(await e.runs.itemCounts(stopped.id)).toMatchObject({ sent: 7, retry: 3 });

    // Someone who is neither an admin nor Marketing's approver sees why there are no buttons, and is refused.
    await accounts.invite({ name: 'Bob', admin: false, by: 'cli:operator' });
    const bob = await c.signIn('console:bob');
    const bobs = await (await c.get(`/console/runs/${stopped.id}`, bob.cookie)).text();
    expect(textOf(bobs)).toContain("Only admins and Marketing's approvers (console:mo-marketing) may resume or cancel this run.");
    expect(bobs).not.toContain(`action="/console/runs/${stopped.id}/resume"`);
    expect((await c.post(`/console/runs/${stopped.id}/resume`, { _csrf: bob.csrf }, bob.cookie)).status).toBe(403);

    // Marketing's approver: the buttons, and the token they carry.
    await accounts.invite({ name: 'Mo (marketing)', admin: false, by: 'cli:operator' });
    const mo = await c.signIn('console:mo-marketing');
    const page = await (await c.get(`/console/runs/${stopped.id}`, mo.cookie)).text();
    expect(page).toContain(`<form method="post" action="/console/runs/${stopped.id}/resume"><input type="hidden" name="_csrf" value="${mo.csrf}">`);
    expect(page).toContain('<b data-count="retry">3</b>');
    // A forged token, another origin, no origin: refused, nothing resumed.
    expect((await c.post(`/console/runs/${stopped.id}/resume`, { _csrf: 'forged' }, mo.cookie)).status).toBe(403);
    expect((await c.post(`/console/runs/${stopped.id}/resume`, { _csrf: mo.csrf }, mo.cookie, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await c.post(`/console/runs/${stopped.id}/resume`, { _csrf: mo.csrf }, mo.cookie, {})).status).toBe(403);
    expect((await c.post(`/console/runs/${stopped.id}/resume`, { _csrf: mo.csrf })).status).toBe(401);
    expect(resumed).toEqual([]);
    expect((await e.runs.get(stopped.id))!.status).toBe('incomplete');

    const answer = await c.post(`/console/runs/${stopped.id}/resume`, { _csrf: mo.csrf }, mo.cookie);
    expect(answer.status).toBe(303);
    expect(answer.headers.get('location')).toBe(`/console/runs/${stopped.id}?done=resumed`);
    expect(resumed).toHaveLength(1);
    const done: RunRecord = await driveToEnd(e, resumed[0]!);
    expect(done.status).toBe('done');
    expect(await e.runs.itemCounts(stopped.id)).toMatchObject({ sent: 10, retry: 0 });
    expect(e.sandbox.state.sends.filter((s) => s.viaFrom === 'giftguard')).toHaveLength(10);
    expect((await e.runs.events(stopped.id)).filter((ev) => ev.type === 'resumed').map((ev) => (ev.data as { by?: string }).by)).toEqual(['console:mo-marketing']);

    // Done now: a replayed form resumes nothing, and says why.
    const again = await c.post(`/console/runs/${stopped.id}/resume`, { _csrf: mo.csrf }, mo.cookie);
    expect(again.status).toBe(409);
    expect(textOf(await again.text())).toContain(`Not resumed. Run ${stopped.id} is done; there is nothing to resume.`);
    expect(resumed).toHaveLength(1);
    expect(auditOf(e)).toEqual([
      { outcome: 'resume_refused', caller: 'console:bob', reasons: [`${stopped.id}: forbidden`] },
      { outcome: 'resumed', caller: 'console:mo-marketing', reasons: [stopped.id] },
      { outcome: 'resume_refused', caller: 'console:mo-marketing', reasons: [`${stopped.id}: bad_request`] },
    ]);
  });
});

describe('a batch of 100,000 rows', () => {
  it('its page, a rare status and a late page of rows each answer within 100 ms: keyset pages and kept counts, never the whole batch', async () => {
    const { e, c } = await start();
    const run = await e.runs.create('batch', 1, { campaign: 'Q3 Webinar Attendees', group: 'Marketing', csvPath: '/data/attendees.csv' }, e.clock.now(), { owner: 'elsewhere', until: e.clock.now() });
    await e.runs.addItems(run.id, Array.from({ length: 100_000 }, (_, i) => ({ idx: i, line: i + 2, email: `guest${i}@example.com`, name: null, company: null })));
    // Written in one SQLite transaction (setup only): row by row through the store would take minutes.
    const setItem = e.db.prepare('UPDATE run_items SET status = ?, detail = ? WHERE run_id = ? AND idx = ?');
    e.db.transaction(() => {
      for (let i = 0; i < 100_000; i++) setItem.run(i === 99_990 ? 'refused' : i < 60_000 ? 'sent' : 'pending', i === 99_990 ? 'blocked domain' : null, run.id, i);
    })();
    await e.runs.setStatus(run.id, 'running', e.clock.now());
    const { cookie } = await c.signIn('cli:operator');
    const timed = async (path: string) => {
      const started = performance.now();
      const answer = await c.get(path, cookie);
      const text = await answer.text();
      return { status: answer.status, text, ms: performance.now() - started };
    };
    const page = await timed(`/console/runs/${run.id}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<b data-count="sent">60,000</b>');
    expect(page.text).toContain('<b data-field="total">100,000</b>');
    expect(rowsOf(page.text)).toHaveLength(100);
    const rare = await timed(`/console/runs/${run.id}?items=refused`);
    expect(rowsOf(rare.text)).toEqual([{ line: 99_992, email: 'guest99990@example.com', status: 'refused' }]);
    const late = await timed(`/console/runs/${run.id}?after=99949`);
    expect(rowsOf(late.text).map((r) => r.line)).toEqual(Array.from({ length: 50 }, (_, i) => 99_952 + i));
    const progress = await timed(`/console/runs/${run.id}/progress`);
    expect(JSON.parse(progress.text)).toMatchObject({ status: 'running', total: 100_000, done: 60_001 });
    for (const answer of [page, rare, late, progress]) expect(answer.ms).toBeLessThan(100);
  });
});

describe('a run waiting for approval', () => {
  it('is followed live, links its approval, and Cancel stops it — with the token, by an admin — recorded with who', async () => {
    const { e, c } = await start();
    const waiting = await (await e.orchestrator.start('abm', {
      group: 'Enterprise Sales',
      campaign: 'Executive Whiskey Set',
      recipientName: 'Sarah Connor',
      recipientEmail: 'sarah@cyberdyne.example',
      expireAfterDays: 7,
    })).settled;
    expect(waiting.status).toBe('waiting');
    const { cookie, csrf } = await c.signIn('cli:operator');
    const page = await (await c.get(`/console/runs/${waiting.id}`, cookie)).text();
    expect(page).toContain(`data-live="/console/runs/${waiting.id}/progress" data-status="waiting"`);
    expect(page).toContain('<noscript><meta http-equiv="refresh" content="6"></noscript>');
    expect(page).toMatch(/<a href="\/console\/approvals\/apr_\w+">Open the approval request<\/a>/);
    expect(page).toContain(`action="/console/runs/${waiting.id}/cancel"`);
    expect(page).not.toContain(`action="/console/runs/${waiting.id}/resume"`);
    expect(await (await c.get(`/console/runs/${waiting.id}/progress`, cookie)).json()).toMatchObject({ status: 'waiting', total: 0 });

    expect((await c.post(`/console/runs/${waiting.id}/cancel`, { _csrf: 'forged' }, cookie)).status).toBe(403);
    expect((await e.runs.get(waiting.id))!.status).toBe('waiting');
    const answer = await c.post(`/console/runs/${waiting.id}/cancel`, { _csrf: csrf }, cookie);
    expect(answer.status).toBe(303);
    expect((await e.runs.get(waiting.id))!.status).toBe('cancelled');
    expect((await e.runs.events(waiting.id)).find((ev) => ev.type === 'cancelled')?.data).toEqual({ by: 'cli:operator' });
    expect(auditOf(e)).toEqual([{ outcome: 'cancelled', caller: 'cli:operator', reasons: [waiting.id] }]);
    const after = await (await c.get(`/console/runs/${waiting.id}?done=cancelled`, cookie)).text();
    expect(textOf(after)).toContain('Cancelled. Nothing more is sent');
    // Cancelling withdrew the request it waited on, so approving it later cannot send.
    const approvalId = /\/console\/approvals\/(apr_\w+)/.exec(page)![1]!;
    expect(await e.ledger.approval(approvalId)).toMatchObject({ status: 'voided', decidedBy: 'cli:operator' });
    expect(textOf(after)).not.toContain('Its approval request is still open');
    expect(after).not.toContain('data-live=');
    expect(await (await c.get(`/console/runs/${waiting.id}/progress`, cookie)).json()).toMatchObject({ status: 'cancelled' });
  });
});

describe('signed out', () => {
  it('pages, progress and forms are refused', async () => {
    const { e, c } = await start();
    const run = await driveToEnd(e, batch(e, attendees(2)));
    for (const path of ['/console/runs', `/console/runs/${run.id}`, `/console/runs/${run.id}/progress`]) expect((await c.get(path)).status, path).toBe(401);
    expect((await c.post(`/console/runs/${run.id}/cancel`, { _csrf: 'x' })).status).toBe(401);
  });
});
