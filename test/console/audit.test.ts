/**
 * The console's Audit page over real HTTP, on real SQLite with a real guard and the tool-call log:
 * the guard's log lists decisions, sends and approvals newest first with group, recipients,
 * amount and outcome, filtered by group, recipient (found by the identity per-recipient rules
 * count, whatever case or +tag was typed), event, outcome and days, paged without repeating or
 * skipping an entry; a filter that matches little searches a bounded window per page and says how
 * far it searched, so a page stays fast with 100,000+ entries; tool calls are filtered by tool,
 * outcome, MCP server and days; the CSV export holds what the filters select, newest first, with
 * every cell a spreadsheet would run as a formula neutralised, and is itself audited; empty logs
 * say what fills them; signed out, page and export are refused.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/index.js';
import type { SpendDispatcher, SpendRequest } from '../../src/domain/index.js';
import { Guard, SqliteLedger, createApprovals } from '../../src/guard/index.js';
import type { Policy } from '../../src/guard/index.js';
import { silentLogger } from '../../src/log/index.js';
import { SqliteRunStore } from '../../src/orchestrator/index.js';
import { openDatabase } from '../../src/storage/index.js';
import type { SqliteDatabase } from '../../src/storage/index.js';
import { SqliteToolAuditLog } from '../../src/tools/index.js';
import type { ToolAuditLog } from '../../src/tools/index.js';
import { ConsoleAccounts, SqliteConsoleAccountStore } from '../../src/triggers/console/index.js';
import { startTestConsole, textOf } from '../support/console.js';
import type { TestConsole } from '../support/console.js';
import { coffee, fixedCampaigns, policyFrom, whiskey } from '../support/guard.js';

const POLICY: Policy = policyFrom(`
version: 1
timezone: UTC
compliance: { blocked_domains: [".gov"] }
costs:
  - { touch: Executive Whiskey Set, cost: 150 }
groups:
  - group: Enterprise Sales
    caps: { per_send: 300, per_month: 100000 }
    approval: { above: 100, approvers: ['cli:operator'] }
  - group: Marketing
    caps: { per_month: 100000 }
`);
const DAY = 86_400_000;
const START = Date.UTC(2026, 5, 1, 12);

let db: SqliteDatabase;
let clock: ManualClock;
let ledger: SqliteLedger;
let guard: Guard;
let toolCalls: ToolAuditLog;
let console: TestConsole;
let cookie: string;

const dispatcher: SpendDispatcher = async () => ({ body: { tracking_code: 'TRK' } });

beforeEach(async () => {
  db = openDatabase(':memory:');
  clock = new ManualClock(START);
  ledger = new SqliteLedger(db);
  guard = new Guard({ ledger, policy: POLICY, campaigns: fixedCampaigns(whiskey, coffee), clock, logger: silentLogger(), dispatcher });
  toolCalls = new SqliteToolAuditLog(db);
  const accounts = new ConsoleAccounts(new SqliteConsoleAccountStore(db), Buffer.alloc(32, 9), clock);
  await accounts.ensureOperator('operator');
  console = await startTestConsole({
    accounts,
    approvals: createApprovals({ ledger, clock, guard }),
    ledger,
    policy: { current: () => ({ policy: POLICY }) },
    runs: new SqliteRunStore(db),
    balances: () => undefined,
    audit: (e) => ledger.recordGuardEvent({ at: clock.now(), event: e.event, outcome: e.outcome, caller: e.by, approvalId: e.approvalId, reasons: e.detail ? [e.detail] : undefined }),
    toolCalls,
    clock,
  });
  await signIn();
});

/**
 * Signs the operator in now (after a test moved the clock by days, a session would have idled
 * out), and takes the sign-in's own entry out of the log, so each test sees only what it wrote.
 */
async function signIn(): Promise<void> {
  ({ cookie } = await console.signIn('cli:operator'));
  db.prepare("DELETE FROM guard_audit WHERE event = 'console_sign_in'").run();
}

afterEach(async () => {
  await console.close();
});

/** Asks the guard for one send of `touch` to `email` for `group`, now. */
async function send(email: string, group: string, touch = coffee.id): Promise<string> {
  const request: SpendRequest = {
    tool: touch === coffee.id ? 'create_a_sendoso_egift' : 'create_a_sendoso_physical_gift_address_collection',
    kind: touch === coffee.id ? 'egift' : 'address_collection',
    touchId: touch,
    recipients: [{ email }],
    path: '/send',
    body: { send: { touch_id: touch, email } },
    caller: { via: 'mcp', id: 'mcp_sales', name: 'sales agent' },
    group,
  };
  return (await guard.submit(request, async () => ({ body: { tracking_code: 'TRK' } }))).status;
}

/** The rows a page shows: id, event, outcome, group and recipients of each. */
async function rows(query: string): Promise<{ id: number; event: string; outcome: string; group: string; recipients: string }[]> {
  const answer = await console.get(`/console/audit?${query}`, cookie);
  expect(answer.status).toBe(200);
  const page = await answer.text();
  return [...page.matchAll(/<tr data-entry="(\d+)" data-event="([^"]+)">([\s\S]*?)<\/tr>/g)].map((m) => {
    const cells = [...m[3]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => textOf(c[1]!));
    return { id: Number(m[1]), event: m[2]!, outcome: cells[2]!, group: cells[3]!, recipients: cells[4]! };
  });
}

/** The next page's link on a page, if any. */
async function olderLink(query: string): Promise<string | undefined> {
  const page = await (await console.get(`/console/audit?${query}`, cookie)).text();
  return /<a href="\/console\/audit\?([^"]+)" rel="next">/.exec(page)?.[1]?.replace(/&amp;/g, '&');
}

/** Parses CSV (quoted cells, doubled quotes, CRLF rows). */
function parseCsv(text: string): string[][] {
  const out: string[][] = [];
  for (const line of text.replace(/^\ufeff/, '').split('\r\n').filter(Boolean)) {
    const cells = [...line.matchAll(/"((?:[^"]|"")*)"(?:,|$)/g)].map((m) => m[1]!.replace(/""/g, '"'));
    out.push(cells);
  }
  return out;
}

describe('the guard’s log', () => {
  it('empty, says what fills it', async () => {
    const page = textOf(await (await console.get('/console/audit', cookie)).text());
    expect(page).toContain('Nothing in the guard’s log yet');
    expect(page).toContain('Every decision the guard makes');
  });

  it('newest first, with group, recipients, amount and outcome; filtered by group, recipient identity, event, outcome and days', async () => {
    expect(await send('ana@client.example', 'Enterprise Sales')).toBe('sent');
    clock.advance(DAY);
    expect(await send('bob@agency.gov', 'Enterprise Sales')).toBe('denied');
    clock.advance(DAY);
    expect(await send('carol@client.example', 'Enterprise Sales', whiskey.id)).toBe('pending_approval');
    clock.advance(DAY);
    expect(await send('Ana+News@Client.example', 'Marketing')).toBe('sent');
    await signIn();

    const all = await rows('log=guard');
    expect(all.map((r) => r.id)).toEqual([...all.map((r) => r.id)].sort((a, b) => b - a));
    expect(all.map((r) => [r.event, r.outcome, r.group, r.recipients])).toEqual([
      ['dispatch', 'sent', 'Marketing', 'ana@client.example'],
      ['decision', 'allow', 'Marketing', 'ana@client.example'],
      ['decision', 'needs approval', 'Enterprise Sales', 'carol@client.example'],
      ['decision', 'deny', 'Enterprise Sales', 'bob@agency.gov'],
      ['dispatch', 'sent', 'Enterprise Sales', 'ana@client.example'],
      ['decision', 'allow', 'Enterprise Sales', 'ana@client.example'],
    ]);
    const page = await (await console.get('/console/audit', cookie)).text();
    expect(textOf(page)).toContain('150.00 USD');
    expect(page).toContain('href="/console/approvals/apr_');

    // The person, however the address was typed: case and +tags fold into one identity.
    expect((await rows('recipient=ANA%2Bq3%40client.example')).map((r) => [r.event, r.group])).toEqual([
      ['dispatch', 'Marketing'],
      ['decision', 'Marketing'],
      ['dispatch', 'Enterprise Sales'],
      ['decision', 'Enterprise Sales'],
    ]);
    expect((await rows('group=marketing')).every((r) => r.group === 'Marketing')).toBe(true);
    expect((await rows('group=Marketing')).length).toBe(2);
    expect((await rows('outcome=deny')).map((r) => r.recipients)).toEqual(['bob@agency.gov']);
    expect((await rows('event=decision&group=Enterprise+Sales')).map((r) => r.outcome)).toEqual(['needs approval', 'deny', 'allow']);
    expect((await rows('recipient=ana%40client.example&group=Marketing&event=dispatch')).map((r) => r.outcome)).toEqual(['sent']);
    // Days, in the policy's timezone: the second day alone, then from the third on.
    expect((await rows('from=2026-06-02&to=2026-06-02')).map((r) => r.recipients)).toEqual(['bob@agency.gov']);
    expect((await rows('from=2026-06-03')).map((r) => r.recipients)).toEqual(['ana@client.example', 'ana@client.example', 'carol@client.example']);
    expect(await rows('recipient=nobody%40client.example')).toEqual([]);
    expect(textOf(await (await console.get('/console/audit?recipient=nobody%40client.example', cookie)).text())).toContain('No entries match');
    // A date that is not one is said, not guessed.
    expect(textOf(await (await console.get('/console/audit?from=June', cookie)).text())).toContain('“June” is not a date (YYYY-MM-DD)');
  });

  it('pages newest first, each entry once', async () => {
    for (let i = 0; i < 60; i++) {
      await ledger.recordGuardEvent({ at: clock.now(), event: 'decision', group: 'Marketing', outcome: 'allow', recipientIdentities: [`p${i}@client.example`] });
      clock.advance(1000);
    }
    await signIn();
    const first = await rows('log=guard');
    expect(first).toHaveLength(50);
    const next = await olderLink('log=guard');
    expect(next).toMatch(/before=\d+/);
    const second = await rows(next!);
    expect(second).toHaveLength(10);
    const ids = [...first, ...second].map((r) => r.id);
    expect(new Set(ids).size).toBe(60);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(await olderLink(next!)).toBeUndefined();
  });

  it('with 120,000 entries, a filter that matches only the oldest searches a window per page, says so, and each page stays fast', async () => {
    const insert = db.prepare("INSERT INTO guard_audit (at, event, group_name, outcome, caller) VALUES (?, 'decision', ?, ?, 'mcp:x')");
    db.transaction(() => {
      insert.run(START, 'Marketing', 'deny');
      for (let i = 1; i <= 120_000; i++) insert.run(START + i * 1000, 'Enterprise Sales', 'allow');
    })();
    clock.advance(121_000 * 1000);
    await signIn();
    let query = 'log=guard&outcome=deny&group=Marketing';
    const timings: number[] = [];
    let found: Awaited<ReturnType<typeof rows>> = [];
    for (let page = 0; page < 5 && found.length === 0; page++) {
      const started = performance.now();
      const answer = await console.get(`/console/audit?${query}`, cookie);
      const text = await answer.text();
      timings.push(performance.now() - started);
      found = await rows(query);
      if (found.length === 0) {
        expect(textOf(text)).toContain('No matches among entries back to');
        query = (await olderLink(query))!;
        expect(query).toMatch(/before=\d+/);
      }
    }
    expect(found.map((r) => [r.outcome, r.group])).toEqual([['deny', 'Marketing']]);
    // 50,000 entries searched per page: three pages reach the oldest.
    expect(timings).toHaveLength(3);
    expect(Math.max(...timings)).toBeLessThan(100);
    // Unfiltered, the newest page reads 50 rows from the end of the primary key.
    const started = performance.now();
    expect(await rows('log=guard')).toHaveLength(50);
    expect(performance.now() - started).toBeLessThan(100);
  });
});

describe('MCP tool calls', () => {
  beforeEach(async () => {
    const call = (tool: string, outcome: 'ok' | 'denied' | 'upstream_error', serverId: string, at: number, clientName = 'Claude') =>
      toolCalls.record({ at, serverId, tool, method: 'POST', outcome, durationMs: 12.5, clientName, clientVersion: '1.0', arguments: { touch_id: 8939, email: 'ana@client.example' } });
    await call('list_all_sendoso_campaigns', 'ok', 'mcp_sales', START);
    await call('create_a_sendoso_egift', 'denied', 'mcp_sales', START + DAY);
    await call('create_a_sendoso_egift', 'ok', 'mcp_marketing', START + 2 * DAY, '=HYPERLINK("http://evil.example","Click")');
    await call('create_a_sendoso_egift', 'upstream_error', 'mcp_marketing', START + 3 * DAY);
  });

  const toolRows = async (query: string) => {
    const page = await (await console.get(`/console/audit?log=tools&${query}`, cookie)).text();
    return [...page.matchAll(/<tr data-entry="(\d+)" data-tool="([^"]+)">([\s\S]*?)<\/tr>/g)].map((m) => {
      const raw = [...m[3]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => c[1]!);
      return { tool: m[2]!, outcome: textOf(raw[2]!), server: /<span class="mono">([^<]+)<\/span>/.exec(raw[4]!)![1]!, args: textOf(raw[6]!) };
    });
  };

  it('newest first, arguments redacted, filtered by tool, outcome, MCP server and days; the guard’s filters are said not to apply', async () => {
    const all = await toolRows('');
    expect(all.map((r) => [r.tool, r.outcome, r.server])).toEqual([
      ['create_a_sendoso_egift', 'upstream error', 'mcp_marketing'],
      ['create_a_sendoso_egift', 'ok', 'mcp_marketing'],
      ['create_a_sendoso_egift', 'denied', 'mcp_sales'],
      ['list_all_sendoso_campaigns', 'ok', 'mcp_sales'],
    ]);
    expect(all[0]!.args).toBe('{"touch_id":8939,"email":"[redacted]"}');
    expect((await toolRows('tool=create_a_sendoso_egift&outcome=ok')).map((r) => r.server)).toEqual(['mcp_marketing']);
    expect((await toolRows('server=mcp_sales')).map((r) => r.tool)).toEqual(['create_a_sendoso_egift', 'list_all_sendoso_campaigns']);
    expect((await toolRows('from=2026-06-02&to=2026-06-03')).map((r) => r.outcome)).toEqual(['ok', 'denied']);
    const page = textOf(await (await console.get('/console/audit?log=tools&group=Marketing', cookie)).text());
    expect(page).toContain('The group filter does not apply here.');
    // The client's name is text, never markup.
    expect(await (await console.get('/console/audit?log=tools', cookie)).text()).toContain('=HYPERLINK(&quot;http://evil.example&quot;,&quot;Click&quot;)');
  });

  it('empty, says how calls get here', async () => {
    db.prepare('DELETE FROM tool_audit').run();
    expect(textOf(await (await console.get('/console/audit?log=tools', cookie)).text())).toContain('No MCP tool calls yet');
  });
});

describe('CSV export', () => {
  it('holds what the filters select, newest first; formula-looking cells are neutralised; the export is audited', async () => {
    await toolCalls.record({ at: START, serverId: 'mcp_sales', tool: 'create_a_sendoso_egift', method: 'POST', outcome: 'ok', durationMs: 3, clientName: '=HYPERLINK("http://evil.example","Click")', clientVersion: '+1', arguments: {} });
    await toolCalls.record({ at: START + 1000, serverId: 'mcp_sales', tool: 'list_all_sendoso_campaigns', method: 'GET', outcome: 'ok', durationMs: 3, clientName: '@SUM(A1:A9)', arguments: {} });
    const answer = await console.get('/console/audit/export.csv?log=tools&tool=create_a_sendoso_egift', cookie);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(answer.headers.get('content-disposition')).toBe('attachment; filename="giftguard-tool-calls-2026-06-01.csv"');
    const text = await answer.text();
    expect(text).toContain(`"'=HYPERLINK(""http://evil.example"",""Click"")"`);
    expect(text).not.toContain('@SUM');
    const [header, ...data] = parseCsv(text);
    expect(header).toEqual(['id', 'at_utc', 'tool', 'method', 'outcome', 'http_status', 'mcp_server', 'client', 'client_version', 'duration_ms', 'arguments_redacted']);
    expect(data).toHaveLength(1);
    expect(data[0]!.slice(1, 9)).toEqual(['2026-06-01T12:00:00.000Z', 'create_a_sendoso_egift', 'POST', 'ok', '', 'mcp_sales', `'=HYPERLINK("http://evil.example","Click")`, `'+1`]);

    // The guard's log: a note a person typed (as an approval note is recorded) that looks like a formula.
    expect(await send('ana@client.example', 'Enterprise Sales')).toBe('sent');
    clock.advance(1000);
    await ledger.recordGuardEvent({ at: clock.now(), event: 'approval_note', outcome: 'approved', caller: 'console:dana-finance', reasons: ['-2+3 thanks =cmd|/c calc'] });
    const guardCsv = parseCsv(await (await console.get('/console/audit/export.csv?log=guard', cookie)).text());
    expect(guardCsv[0]).toEqual(['id', 'at_utc', 'event', 'outcome', 'group', 'recipients', 'recipient_count', 'amount', 'touch_id', 'caller', 'reasons', 'approval_id', 'intent_ids']);
    expect(guardCsv.slice(1).map((r) => [r[2], r[3], r[5], r[10]])).toEqual([
      ['approval_note', 'approved', '', `'-2+3 thanks =cmd|/c calc`],
      ['dispatch', 'sent', 'ana@client.example', ''],
      ['decision', 'allow', 'ana@client.example', ''],
      ['console_audit_export', 'exported', '', 'tool calls: 1 rows (log=tools&tool=create_a_sendoso_egift)'],
    ]);
    expect(guardCsv[3]![7]).toBe('50.00 USD');
    // Filtered: the person's entries only.
    expect(parseCsv(await (await console.get('/console/audit/export.csv?log=guard&recipient=ana%40client.example&event=decision', cookie)).text()).slice(1).map((r) => r[2])).toEqual(['decision']);

    const exports = db.prepare("SELECT caller, outcome, reasons FROM guard_audit WHERE event = 'console_audit_export' ORDER BY id").all() as { caller: string; reasons: string }[];
    expect(exports.map((e) => e.caller)).toEqual(['cli:operator', 'cli:operator', 'cli:operator']);
    expect(JSON.parse(exports[0]!.reasons)).toEqual(['tool calls: 1 rows (log=tools&tool=create_a_sendoso_egift)']);
  });

  it('an export of more entries than one read holds every one of them', async () => {
    const insert = db.prepare("INSERT INTO guard_audit (at, event, group_name, outcome) VALUES (?, 'decision', 'Marketing', 'allow')");
    db.transaction(() => {
      for (let i = 0; i < 2_500; i++) insert.run(START + i);
    })();
    const data = parseCsv(await (await console.get('/console/audit/export.csv?log=guard&group=Marketing', cookie)).text()).slice(1);
    expect(data).toHaveLength(2_500);
    const ids = (db.prepare("SELECT id FROM guard_audit WHERE group_name = 'Marketing' ORDER BY id DESC").all() as { id: number }[]).map((r) => r.id);
    expect(data.map((r) => Number(r[0]))).toEqual(ids);
  });
});

describe('signed out', () => {
  it('the page and the export are refused', async () => {
    for (const path of ['/console/audit', '/console/audit?log=tools', '/console/audit/export.csv?log=guard']) {
      const answer = await console.get(path);
      expect(answer.status, path).toBe(401);
      expect(await answer.text()).not.toContain('"id","at_utc"');
    }
  });
});
