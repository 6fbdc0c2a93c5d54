/**
 * The console's Policies page over real HTTP: the policy in force is shown in words per group —
 * caps per send, day, week and month, campaign totals, per-recipient rules, the approval threshold
 * and its approvers, allowed and blocked campaigns and recipients, kill switch and dry run — with
 * what applies across groups; files that stop validating are shown problem by problem (file and
 * line) with every spend refused, and no policy at all says how to add one; "explain a send"
 * answers with the guard's own decision and every rule consulted — the same decision, reasons and
 * rules as `giftguard policy explain` for the same group, campaign and recipient, on the same
 * ledger and policy files — and reserves nothing; signed out, the page is refused.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, prepareApp } from '../../src/app/index.js';
import { ManualClock, formatMoney } from '../../src/domain/index.js';
import type { Cents, SpendRequest } from '../../src/domain/index.js';
import { LivePolicy, SqliteLedger, createApprovals } from '../../src/guard/index.js';
import type { PolicySource } from '../../src/guard/index.js';
import { silentLogger } from '../../src/log/index.js';
import { SqliteRunStore } from '../../src/orchestrator/index.js';
import { openDatabase } from '../../src/storage/index.js';
import { ConsoleAccounts, SqliteConsoleAccountStore } from '../../src/triggers/console/index.js';
import type { App } from '../../src/triggers/index.js';
import { cli, tempHome } from '../support/cli.js';
import { startTestConsole, textOf } from '../support/console.js';
import type { TestConsole } from '../support/console.js';

const POLICY = `version: 1
timezone: UTC
global: { per_day: 2000 }
compliance: { blocked_domains: [".gov"] }
costs:
  - { touch: Executive Whiskey Set, cost: 150 }
groups:
  - group: Enterprise Sales
    caps:
      per_send: 300
      per_day: 1000
      per_week: 2000
      per_month: 5000
      per_campaign_total: [{ touch: Executive Whiskey Set, cap: 3000 }]
    per_recipient: { max_value_per_year: 400, max_sends: { count: 1, per_days: 30 } }
    touches: { allow: [Executive Whiskey Set, Coffee eGift], block: [Branded Yeti Mug] }
    recipients: { blocked_domains: [competitor.example] }
    approval: { above: 100, approvers: ['cli:operator', 'console:dana-finance'] }
  - group: Marketing
    kill_switch: true
    caps: { per_month: 3000 }
`;

function policyDir(text = POLICY): string {
  const dir = mkdtempSync(join(tmpdir(), 'giftguard-console-policies-'));
  writeFileSync(join(dir, 'default.yaml'), text);
  return dir;
}

let running: TestConsole | undefined;
let app: App | undefined;
afterEach(async () => {
  await running?.close();
  await app?.close();
  running = undefined;
  app = undefined;
});

/** A console over a policy source alone (no Sendoso: no explaining), for the policy in words. */
async function consoleOver(policy: PolicySource, clock: ManualClock): Promise<{ console: TestConsole; accounts: ConsoleAccounts }> {
  const db = openDatabase(':memory:');
  const ledger = new SqliteLedger(db);
  const accounts = new ConsoleAccounts(new SqliteConsoleAccountStore(db), Buffer.alloc(32, 5), clock);
  await accounts.ensureOperator('operator');
  running = await startTestConsole({
    accounts,
    approvals: createApprovals({ ledger, clock }),
    ledger,
    policy,
    runs: new SqliteRunStore(db),
    balances: () => undefined,
    audit: async () => {},
    clock,
  });
  return { console: running, accounts };
}

const section = (page: string, group: string) => {
  const start = page.indexOf(`data-group="${group}"`);
  expect(start, group).toBeGreaterThan(0);
  return page.slice(start, page.indexOf('</section>', start));
};
const field = (fragment: string, name: string) => textOf(new RegExp(`data-field="${name}">([\\s\\S]*?)</dd>`).exec(fragment)?.[1] ?? '');

describe('the policy in words', () => {
  it('each group: caps, campaign totals, per-recipient rules, approval and approvers, campaigns, blocked recipients, kill switch; then what applies to all', async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
    const { console } = await consoleOver(new LivePolicy({ paths: [policyDir()], missingOk: false, clock, logger: silentLogger() }), clock);
    const { cookie } = await console.signIn('cli:operator');
    const answer = await console.get('/console/policies', cookie);
    expect(answer.status).toBe(200);
    const page = await answer.text();
    expect(page).toContain('<a href="/console/policies" class="current" aria-current="page">Policies</a>');

    const sales = section(page, 'Enterprise Sales');
    expect(field(sales, 'caps')).toBe('At most 300.00 USD per send, 1,000.00 USD a day, 2,000.00 USD a week and 5,000.00 USD a month.');
    expect(field(sales, 'campaign-totals')).toBe('Executive Whiskey Set: at most 3,000.00 USD in all.');
    expect(field(sales, 'per-recipient')).toBe('One person may receive at most 400.00 USD a year, and at most 1 gift every 30 days from this group (gifts sent outside giftguard count too).');
    expect(field(sales, 'approval')).toBe('Sends costing more than 100.00 USD wait for a person. An approver decides: cli:operator, console:dana-finance.');
    expect(field(sales, 'campaigns')).toBe('Only Executive Whiskey Set, Coffee eGift, never Branded Yeti Mug.');
    expect(field(sales, 'blocked')).toBe('addresses at competitor.example.');

    const marketing = section(page, 'Marketing');
    expect(textOf(marketing)).toContain('kill switch on: refuses every send');
    expect(field(marketing, 'caps')).toBe('At most 3,000.00 USD a month. No per-send, daily or weekly cap.');
    expect(field(marketing, 'approval')).toBe('Never needed: every send within the caps goes out at once.');
    expect(field(marketing, 'campaigns')).toBe('Any campaign.');

    expect(field(page, 'global-per-day')).toBe('At most 2,000.00 USD a day across all groups.');
    expect(field(page, 'compliance')).toBe('addresses at .gov.');
    expect(field(page, 'costs')).toBe('Executive Whiskey Set 150.00 USD.');
    expect(field(page, 'kill-switch')).toBe('Off.');
    // No Sendoso here: the page shows the policy without the explain form.
    expect(page).not.toContain('action="/console/policies/explain"');
  });

  it('files that stop validating: every problem with its file and line, and every spend refused; fixed, the policy is back', async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
    const dir = policyDir();
    const { console } = await consoleOver(new LivePolicy({ paths: [dir], missingOk: false, clock, logger: silentLogger() }), clock);
    const { cookie } = await console.signIn('cli:operator');
    writeFileSync(join(dir, 'default.yaml'), POLICY.replace('per_day: 1000', 'per_day: lots').replace('per_month: 3000', 'per_monthh: 3000'));
    clock.advance(1_000);
    const page = await (await console.get('/console/policies', cookie)).text();
    expect(page).toContain('data-refusal="policy_invalid"');
    expect(textOf(page)).toContain('The policy files do not validate: giftguard refuses every spend until they are fixed.');
    const problems = [...page.matchAll(/<li class="mono small" data-problem>([^<]*)<\/li>/g)].map((m) => textOf(m[1]!));
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(new RegExp(`^${join(dir, 'default.yaml')}:\\d+: .*per_day.*not an amount`));
    expect(problems[1]).toMatch(/default\.yaml:\d+: .*per_monthh/);
    expect(page).not.toContain('data-group="Enterprise Sales"');

    writeFileSync(join(dir, 'default.yaml'), POLICY);
    clock.advance(1_000);
    const fixed = await (await console.get('/console/policies', cookie)).text();
    expect(fixed).not.toContain('data-refusal');
    expect(fixed).toContain('data-group="Enterprise Sales"');
  });

  it('no policy at all: says every spend is refused and how to add one', async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
    const missing = join(mkdtempSync(join(tmpdir(), 'giftguard-none-')), 'policies');
    const { console } = await consoleOver(new LivePolicy({ paths: [missing], missingOk: true, clock, logger: silentLogger() }), clock);
    const { cookie } = await console.signIn('cli:operator');
    const page = textOf(await (await console.get('/console/policies', cookie)).text());
    expect(page).toContain('No spend policy is in force: giftguard refuses every spend.');
    expect(page).toContain('Add a policy file to the policies directory');
  });

  it('is refused signed out', async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
    const { console } = await consoleOver(new LivePolicy({ paths: [policyDir()], missingOk: false, clock, logger: silentLogger() }), clock);
    for (const path of ['/console/policies', '/console/policies/explain?group=Marketing&campaign=1&recipient=a@b.example']) expect((await console.get(path)).status, path).toBe(401);
  });
});

describe('explain a send', () => {
  /** The console as serve builds it, on the app a CLI command in the same home builds too (sandbox campaigns, the same ledger and files). */
  async function servedConsole(env: Record<string, string>): Promise<{ console: TestConsole; cookie: string }> {
    // What serve's command loads before its action.
    await prepareApp(['sendoso', 'sandbox', 'tools', 'orchestrator', 'console']);
    app = createApp({ env });
    const connection = await app.connectSendoso({ sandboxPort: 0 });
    const guard = app.guard(connection);
    const accounts = await app.consoleAccounts();
    await accounts.ensureOperator('operator');
    const ledger = app.ledger();
    running = await startTestConsole({
      accounts,
      approvals: app.approvals(connection),
      ledger,
      policy: { current: () => guard.policyState() },
      runs: app.runs(),
      balances: () => undefined,
      audit: async () => {},
      explainer: app.explainer(connection),
      clock: app.clock,
    });
    // A coffee eGift already sent to repeat@client.example: the frequency rule now refuses another.
    const request: SpendRequest = {
      tool: 'create_a_sendoso_egift',
      kind: 'egift',
      touchId: 8939,
      recipients: [{ email: 'repeat@client.example' }],
      path: '/send',
      body: { send: { touch_id: 8939, email: 'repeat@client.example' } },
      caller: { via: 'cli', id: 'test' },
      group: 'Enterprise Sales',
    };
    expect((await guard.submit(request, async () => ({ body: { tracking_code: 'TRK-1' } }))).status).toBe('sent');
    return { console: running, cookie: (await running.signIn('cli:operator')).cookie };
  }

  /** What the page shows of a decision: outcome, reasons, and every rule with its result, detail and headroom. */
  function shown(page: string) {
    const card = page.slice(page.indexOf('class="card explanation"'));
    return {
      outcome: /data-outcome="(\w+)"/.exec(card)?.[1],
      reasons: [...card.matchAll(/<li data-reason="([^"]+)">([\s\S]*?)<\/li>/g)].map((m) => ({ code: m[1], message: textOf(m[2]!) })),
      consulted: [...card.matchAll(/<tr data-rule="([^"]+)" data-passed="(yes|no)">([\s\S]*?)<\/tr>/g)].map((m) => {
        const cells = [...m[3]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => textOf(c[1]!));
        return { rule: m[1], passed: m[2] === 'yes', detail: cells[2], headroom: cells[3] };
      }),
    };
  }

  it('answers as `giftguard policy explain` does for the same group, campaign and recipient — by name or touch id — and reserves nothing', async () => {
    const env = { GIFTGUARD_HOME: tempHome(), GIFTGUARD_POLICIES: policyDir(), GIFTGUARD_LOG_LEVEL: 'silent' };
    const { console, cookie } = await servedConsole(env);
    const cases = [
      { group: 'Enterprise Sales', campaign: 'Executive Whiskey Set', touch: '8934', recipient: 'sarah@cyberdyne.example', outcome: 'needs_approval' },
      { group: 'Enterprise Sales', campaign: '8939', touch: '8939', recipient: 'Repeat+Promo@client.example', outcome: 'deny' },
      { group: 'enterprise sales', campaign: 'coffee egift', touch: '8939', recipient: 'new@client.example', outcome: 'allow' },
      { group: 'Enterprise Sales', campaign: 'Coffee eGift', touch: '8939', recipient: 'official@agency.gov, new@client.example', outcome: 'deny' },
      { group: 'Marketing', campaign: 'Coffee eGift', touch: '8939', recipient: 'new@client.example', outcome: 'deny' },
    ];
    const intentsBefore = JSON.stringify(await app!.ledger().sentTo(['new@client.example', 'sarah@cyberdyne.example'], 0));
    for (const c of cases) {
      const answer = await console.get(`/console/policies/explain?${new URLSearchParams({ group: c.group, campaign: c.campaign, recipient: c.recipient })}`, cookie);
      expect(answer.status, c.recipient).toBe(200);
      const page = shown(await answer.text());
      const explained = await cli(env, 'policy', 'explain', '--group', c.group, '--touch', c.touch, '--email', c.recipient, '--json');
      expect(explained.code, explained.err).toBe(0);
      const decision = JSON.parse(explained.out) as { outcome: string; reasons: { code: string; message: string }[]; consulted: { rule: string; passed: boolean; detail: string; headroomAfter?: number }[] };
      expect(decision.outcome, c.recipient).toBe(c.outcome);
      expect(page.outcome, c.recipient).toBe(decision.outcome);
      expect(page.reasons, c.recipient).toEqual(decision.reasons.map((r) => ({ code: r.code, message: r.message })));
      expect(page.consulted, c.recipient).toEqual(
        decision.consulted.map((r) => ({
          rule: r.rule,
          passed: r.passed,
          detail: r.detail,
          headroom: r.headroomAfter === undefined ? '—' : formatMoney(r.headroomAfter as Cents),
        })),
      );
      expect(page.consulted.length).toBeGreaterThan(3);
    }
    // Explaining reserved nothing: no new intent, no approval request.
    expect(JSON.stringify(await app!.ledger().sentTo(['new@client.example', 'sarah@cyberdyne.example'], 0))).toBe(intentsBefore);
    expect(await app!.ledger().approvals()).toEqual([]);
  });

  it('says what is missing or unknown: no group, an unknown group, an unknown campaign name', async () => {
    const { console, cookie } = await servedConsole({ GIFTGUARD_HOME: tempHome(), GIFTGUARD_POLICIES: policyDir(), GIFTGUARD_LOG_LEVEL: 'silent' });
    const ask = async (query: Record<string, string>) => {
      const answer = await console.get(`/console/policies/explain?${new URLSearchParams(query)}`, cookie);
      return { status: answer.status, text: textOf(await answer.text()) };
    };
    expect(await ask({ campaign: 'Coffee eGift', recipient: 'a@b.example' })).toMatchObject({ status: 400, text: expect.stringContaining('Name a group, a campaign and a recipient.') });
    expect(await ask({ group: 'Nobody', campaign: 'Coffee eGift', recipient: 'a@b.example' })).toMatchObject({ status: 404, text: expect.stringContaining('No policy for group “Nobody”') });
    expect(await ask({ group: 'Marketing', campaign: 'Caviar', recipient: 'a@b.example' })).toMatchObject({ status: 404, text: expect.stringContaining('No campaign named “Caviar”') });
    // The policies page offers the form, with the campaigns the policy names.
    const page = await (await console.get('/console/policies', cookie)).text();
    expect(page).toContain('action="/console/policies/explain"');
    expect(page).toContain('<option value="Executive Whiskey Set">');
  });
});
