/**
 * The web console as people meet it: a real headless Chromium (@sparticuz/chromium, driven by
 * playwright-core; no system browser) against a real `giftguard serve` spawned on the sandbox. The
 * operator signs in with the link serve printed; the overview shows each group's caps and the
 * ledger's figures (checked against `giftguard budget --json`); a send an MCP client (the official
 * SDK) makes above the approval threshold appears in the inbox with its exact payload, who asked,
 * the rule and the headroom; Approve sends it — the sandbox shows exactly one send — and neither a
 * second click on a stale page nor a replayed POST sends again; a forged synchronizer token, a
 * person the policy does not list and a signed-out browser are refused and decide nothing; the
 * an admin creates an MCP server (URL shown once) that a client can use, and revoking it stops it;
 * a batch's run page shows its rows, a run's open page follows it live (its script) to its end
 * after an approval in another tab, and Cancel stops a waiting run; the audit finds a person's
 * entries through its form and exports them as CSV; the policies page says each group's caps as
 * its file does, and "explain a send" answers as `giftguard policy explain`; the pages raise no
 * Content-Security-Policy violation. Every page is screenshotted into test-output/console/.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import chromium from '@sparticuz/chromium';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { chromium as playwright } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMoney } from '../../src/domain/index.js';
import type { Cents } from '../../src/domain/index.js';
import { loadPolicy } from '../../src/guard/index.js';
import { cli, spawnUntil, stop, tempHome } from '../support/cli.js';

const OUT = join(import.meta.dirname, '../../test-output/console');
const money = (c: number | undefined | null) => (c === undefined || c === null ? '—' : formatMoney(c as Cents));

let browser: Browser;
let serve: Awaited<ReturnType<typeof spawnUntil>>;
let env: Record<string, string>;
let base: string;
let sandboxControl: string;
let policies: string;
/** CSP violations any page reported. */
const violations: string[] = [];

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
}

async function newPage(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  return page;
}

/** The sandbox's own log of sends to `email` (what Sendoso would have shipped). */
async function sendsTo(email: string): Promise<unknown[]> {
  const { sends } = (await (await fetch(`${sandboxControl}/sends`)).json()) as { sends: { email?: string; recipient_email?: string }[] };
  return sends.filter((s) => JSON.stringify(s).toLowerCase().includes(email.toLowerCase()));
}

/** Asks for a send above Enterprise Sales' approval threshold through MCP; returns its approval id. */
async function askThroughMcp(url: string, email: string, message: string): Promise<string> {
  const client = new Client({ name: 'console-e2e', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  try {
    const result = (await client.callTool({
      name: 'create_a_sendoso_physical_gift_address_collection',
      arguments: { touch_id: 8934, name: 'Sarah Connor', email, custom_message: message },
    })) as { structuredContent?: { status: string; approval_id?: string } };
    expect(result.structuredContent?.status).toBe('pending_approval');
    return result.structuredContent!.approval_id!;
  } finally {
    await client.close();
  }
}

/** Signs a fresh browser context in with a one-time link; returns its page on the overview. */
async function signIn(link: string, screenshot?: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await newPage(context);
  await page.goto(link);
  if (screenshot) await shot(page, screenshot);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/console`);
  return { context, page };
}

const linkIn = (text: string) => /(http:\/\/\S+\/console\/sign-in\?token=ggsignin_[\w-]+)/.exec(text)![1]!;

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  policies = mkdtempSync(join(tmpdir(), 'giftguard-console-policy-'));
  // Sends above 100 USD in Enterprise Sales wait for the local operator (Executive Whiskey Set costs 150).
  writeFileSync(join(policies, 'default.yaml'), readFileSync('policies/default.yaml', 'utf8').replace('above: 200.00', 'above: 100.00'));
  env = { GIFTGUARD_HOME: tempHome(), GIFTGUARD_POLICIES: policies };
  // The browser starts while serve does.
  const launching = (async () =>
    playwright.launch({
      executablePath: await chromium.executablePath(),
      // As the package ships them, less the two that would switch the browser's own protections off:
      // the console must hold with same-origin rules and mixed-content blocking in force.
      args: chromium.args.filter((arg) => arg !== '--disable-web-security' && arg !== '--allow-running-insecure-content'),
      headless: true,
    }))();
  serve = await spawnUntil(['serve', '--port', '0', '--sandbox-port', '0', '--control'], env, 'Press Ctrl+C');
  browser = await launching;
  base = /^Web console: (http:\/\/\S+)\/console$/m.exec(serve.output())![1]!;
  sandboxControl = /\(control: (\S+)\)/.exec(serve.output())![1]!;
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (serve) expect(await stop(serve.child)).toBe(0);
});

describe('the web console in a browser, against a running serve', () => {
  it('signs in with the printed link, shows the ledger\'s figures, and approves an MCP request exactly once', async () => {
    const printed = serve.output();
    expect(printed).toContain('Sign in as cli:operator with this one-time link');
    const { page } = await signIn(linkIn(printed), '01-sign-in');

    // The link is spent: opening it again says so.
    const again = await (await browser.newContext()).newPage();
    await again.goto(linkIn(printed));
    await expect.poll(() => again.textContent('h1')).toBe('This sign-in link does not work');
    await shot(again, '02-sign-in-link-spent');

    // Overview: each group's caps as the policy says, and the ledger's figures (as `giftguard budget` reads them).
    const policy = (await loadPolicy([policies]))!;
    const overviewMatchesLedger = async () => {
      await page.reload();
      const budget = JSON.parse((await cli(env, 'budget', '--json')).out) as { group: string; window: string; cap?: number; captured: number; held: number; observed: number; available?: number }[];
      // Every policy group has rows to compare: an empty answer must not pass for a match.
      const mismatches: string[] = policy.groups.filter((g) => !budget.some((row) => row.group === g.group)).map((g) => `${g.group}: no rows in giftguard budget`);
      for (const row of budget) {
        const cells = page.locator(`section[data-group="${row.group}"] tr[data-window="${row.window}"]`);
        for (const field of ['cap', 'captured', 'held', 'observed', 'available'] as const) {
          const shown = (await cells.locator(`td[data-field="${field}"]`).textContent())?.trim();
          if (shown !== money(row[field])) mismatches.push(`${row.group} ${row.window} ${field}: page ${shown}, ledger ${money(row[field])}`);
        }
      }
      return mismatches;
    };
    await expect.poll(overviewMatchesLedger, { timeout: 15_000 }).toEqual([]);
    for (const group of policy.groups) {
      const section = page.locator(`section[data-group="${group.group}"]`);
      for (const [cap, value] of [['send', group.caps.per_send], ['day', group.caps.per_day], ['week', group.caps.per_week], ['month', group.caps.per_month]] as const) {
        expect((await section.locator(`[data-cap="${cap}"]`).textContent())?.trim(), `${group.group} per ${cap}`).toBe(money(value));
      }
      // The picture: a meter per window and the month's spend per day.
      expect(await section.locator('.meter svg').count()).toBe(3);
      expect(await section.locator('.daily svg').count()).toBe(1);
    }
    await shot(page, '03-overview');

    // An MCP client asks for a send above the threshold: it waits in the inbox.
    const demo = /^\s+(http:\/\/127\.0\.0\.1:\d+\/mcp\/ggmcp_\S+)$/m.exec(printed)![1]!;
    const id = await askThroughMcp(demo, 'sarah@cyberdyne.example', 'Welcome aboard, Sarah!');
    await page.goto(`${base}/console/approvals`);
    const row = page.locator(`table.pending tr[data-approval="${id}"]`);
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toContain('sarah@cyberdyne.example');
    expect(await page.locator('header nav a[href="/console/approvals"] .count').textContent()).toBe('1');
    await shot(page, '04-approvals-inbox');

    // The detail, at the URL agents are given: the exact payload, who asked, the rule, the headroom.
    await row.getByRole('link').click();
    await page.waitForURL(`${base}/console/approvals/${id}`);
    const field = async (name: string) => (await page.locator(`[data-field="${name}"]`).textContent())?.trim();
    expect(await field('recipients')).toBe('sarah@cyberdyne.example');
    expect(await field('campaign')).toBe('Executive Whiskey Set (touch 8934)');
    expect(await field('amount')).toBe('150.00 USD');
    expect(await field('group')).toBe('Enterprise Sales');
    expect(await field('message')).toBe('Welcome aboard, Sarah!');
    expect(await field('asked-by')).toMatch(/^MCP server “serve demo \(sandbox\), host \S+ pid \d+” \(mcp_\w+\) from console-e2e$/);
    expect(await field('reasons')).toContain('100.00 USD');
    expect(await field('headroom')).toMatch(/^[\d,]+\.\d\d USD today/);
    expect(JSON.parse((await field('payload'))!.replace(/^POST \/send\n/, ''))).toMatchObject({ send: { touch_id: 8934, email: 'sarah@cyberdyne.example', custom_message: 'Welcome aboard, Sarah!' } });
    await shot(page, '05-approval-detail');

    // A second tab on the same request, left open: its button is the "second click".
    const stale = await newPage(page.context());
    await stale.goto(`${base}/console/approvals/${id}`);
    const csrf = await page.locator('form.decide input[name="_csrf"]').getAttribute('value');

    await page.locator('#note').fill('Renewal push, approved by finance');
    await page.getByRole('button', { name: /Approve and send/ }).click();
    await page.waitForURL(`${base}/console/approvals/${id}?decided=approve`);
    expect(await page.locator('.notice.ok').first().textContent()).toContain('Approved and sent.');
    expect(await page.locator('[data-status]').getAttribute('data-status')).toBe('sent');
    await shot(page, '06-approved-and-sent');
    expect(await sendsTo('sarah@cyberdyne.example')).toHaveLength(1);

    await stale.getByRole('button', { name: /Approve and send/ }).click();
    await stale.waitForURL(`${base}/console/approvals/${id}/approve`);
    expect(await stale.locator('.notice.bad').textContent()).toContain('Nothing was sent again.');
    await shot(stale, '07-second-click-refused');

    const replay = await page.request.post(`${base}/console/approvals/${id}/approve`, { form: { _csrf: csrf!, note: 'again' }, headers: { origin: base }, maxRedirects: 0 });
    expect(replay.status()).toBe(409);
    expect(await sendsTo('sarah@cyberdyne.example')).toHaveLength(1);

    // The ledger took it: the overview still shows the ledger's figures, now with the send charged.
    await page.goto(`${base}/console`);
    await expect.poll(overviewMatchesLedger, { timeout: 15_000 }).toEqual([]);
    expect(await page.locator('section[data-group="Enterprise Sales"] tr[data-window="month"] td[data-field="captured"]').textContent()).toBe('150.00 USD');
    await shot(page, '08-overview-after-send');

    // History shows who decided.
    await page.goto(`${base}/console/approvals?status=sent#history`);
    expect(await page.locator(`table.history tr[data-approval="${id}"]`).textContent()).toContain('cli:operator');
    await shot(page, '09-approvals-history');
  });

  it('refuses a forged token, a person the policy does not list, and a signed-out browser; none of them decides', async () => {
    const { page } = await signIn(linkIn((await cli(env, 'console', 'link')).out));
    const demo = /^\s+(http:\/\/127\.0\.0\.1:\d+\/mcp\/ggmcp_\S+)$/m.exec(serve.output())![1]!;
    const id = await askThroughMcp(demo, 'kyle@cyberdyne.example', 'For the launch');
    const pending = async () => (JSON.parse((await cli(env, 'approvals', 'list', '--json')).out) as { id: string }[]).map((a) => a.id);

    // A forged synchronizer token, in the operator's own browser.
    await page.goto(`${base}/console/approvals/${id}`);
    await page.locator('form.decide input[name="_csrf"]').evaluate((input) => ((input as { value: string }).value = 'forged'));
    await page.getByRole('button', { name: /Approve and send/ }).click();
    await page.waitForURL(`${base}/console/approvals/${id}/approve`);
    expect(await page.locator('h1').textContent()).toBe('Refused');
    expect(await page.locator('.notice.bad').textContent()).toContain('not made for this session');
    await shot(page, '10-forged-token-refused');
    expect(await pending()).toContain(id);

    // Someone invited but not listed by Enterprise Sales' policy: they see it, cannot decide it.
    const invite = await cli(env, 'console', 'invite', '--name', 'Bob (sales)');
    expect(invite.out).toContain('Invited Bob (sales) as console:bob-sales.');
    const bob = await signIn(linkIn(invite.out), '11-sign-in-invited');
    await bob.page.goto(`${base}/console/approvals/${id}`);
    expect(await bob.page.locator('.notice.warn').last().textContent()).toContain('You are not an approver for this group.');
    expect(await bob.page.getByRole('button', { name: /Approve/ }).count()).toBe(0);
    await shot(bob.page, '12-non-approver-view');
    const bobsToken = await bob.page.locator('header form input[name="_csrf"]').getAttribute('value');
    const bobs = await bob.page.request.post(`${base}/console/approvals/${id}/approve`, { form: { _csrf: bobsToken! }, headers: { origin: base }, maxRedirects: 0 });
    expect(bobs.status()).toBe(403);
    expect(await bobs.text()).toContain('console:bob-sales is not an approver for Enterprise Sales');

    // A browser that never signed in.
    const outsider = await newPage(await browser.newContext());
    for (const path of ['/console', '/console/approvals', `/console/approvals/${id}`]) {
      const answer = await outsider.goto(`${base}${path}`);
      expect(answer?.status(), path).toBe(401);
    }
    expect(await outsider.locator('h1').textContent()).toBe('Sign in to use the giftguard console');
    await shot(outsider, '13-signed-out');
    const anonymous = await outsider.request.post(`${base}/console/approvals/${id}/approve`, { form: { _csrf: 'x' }, headers: { origin: base }, maxRedirects: 0 });
    expect(anonymous.status()).toBe(401);

    expect(await pending()).toContain(id);
    expect(await sendsTo('kyle@cyberdyne.example')).toHaveLength(0);

    // The operator denies it, with a reason; still nothing is sent.
    await page.goto(`${base}/console/approvals/${id}`);
    await page.locator('#note').fill('Not this quarter');
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.waitForURL(`${base}/console/approvals/${id}?decided=deny`);
    expect(await page.locator('.notice.ok').first().textContent()).toContain('Denied. Nothing was sent.');
    await shot(page, '14-denied');
    expect(await sendsTo('kyle@cyberdyne.example')).toHaveLength(0);

    // Signing out ends the session: the same browser is refused after.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${base}/console/signed-out`);
    await shot(page, '15-signed-out');
    expect((await page.goto(`${base}/console`))?.status()).toBe(401);
  });

  it('an admin creates an MCP server (its URL shown once, with the snippets), an MCP client uses it, and revoking it stops it; a member cannot', async () => {
    const { page } = await signIn(linkIn((await cli(env, 'console', 'link')).out));
    await page.goto(`${base}/console/mcp-servers`);
    await page.locator('#name').fill('reporting (read-only)');
    await page.locator('input[name="methods"][value="read"]').check();
    await page.getByRole('button', { name: 'Create server' }).click();
    await page.waitForURL(/\/console\/mcp-servers\/mcp_\w+\/created$/);
    const url = (await page.locator('[data-field="server-url"]').textContent())!.trim();
    expect(url).toMatch(new RegExp(`^${base}/mcp/ggmcp_[\\w-]+$`));
    const snippets = await page.locator('#snippets').textContent();
    expect(snippets).toContain('ChatGPT');
    expect(snippets).toContain('mcp-remote@');
    expect(snippets).toContain(url);
    // The copy buttons, which the console's script shows.
    expect(await page.locator('button[data-copy="server-url"]').isVisible()).toBe(true);
    await shot(page, '16-mcp-server-created');
    const created = page.url();
    const serverId = /\/(mcp_\w+)\/created$/.exec(created)![1]!;

    const client = new Client({ name: 'console-e2e', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    const tools = (await client.listTools()).tools.map((t) => t.name);
    expect(tools.length).toBeGreaterThan(0);
    expect(tools.some((name) => name.startsWith('create_'))).toBe(false);
    await client.close();

    // Shown once: the same page again does not show it.
    expect((await page.goto(created))?.status()).toBe(410);
    expect(await page.content()).not.toContain(url);

    await page.goto(`${base}/console/mcp-servers`);
    await shot(page, '17-mcp-servers');
    await page.locator(`tr[data-server="${serverId}"]`).getByRole('button', { name: 'Revoke' }).click();
    await page.waitForURL(`${base}/console/mcp-servers?revoked=${serverId}`);
    expect(await page.locator('.notice.ok').textContent()).toContain(`Revoked ${serverId}.`);
    expect(await page.locator(`tr[data-server="${serverId}"]`).count()).toBe(0);
    await shot(page, '18-mcp-server-revoked');
    const after = new Client({ name: 'console-e2e', version: '1.0.0' });
    await expect(after.connect(new StreamableHTTPClientTransport(new URL(url)))).rejects.toThrow();
    const servers = JSON.parse((await cli(env, 'mcp', 'list', '--json')).out) as { id: string }[];
    expect(servers.map((s) => s.id)).not.toContain(serverId);

    // A member (not an admin) has no such page.
    const carol = await signIn(linkIn((await cli(env, 'console', 'invite', '--name', 'Carol (ops)')).out));
    expect(await carol.page.locator('header nav a[href="/console/mcp-servers"]').count()).toBe(0);
    expect((await carol.page.goto(`${base}/console/mcp-servers`))?.status()).toBe(403);
    await shot(carol.page, '19-mcp-servers-admins-only');
  });

  it("runs, audit and policies: a run's page follows it live to its end and Cancel stops one; the audit finds a person's entries and exports them; the policy in words, and explain answers as the CLI does", async () => {
    const { page } = await signIn(linkIn((await cli(env, 'console', 'link')).out));
    const runIds = async () => (JSON.parse((await cli(env, 'runs', 'list', '--json')).out) as { id: string; workflow: string; status: string }[]);

    // A webinar batch, run from the CLI beside serve: its rows, its progress, the row the file check rejected.
    const csv = join(mkdtempSync(join(tmpdir(), 'giftguard-console-batch-')), 'attendees.csv');
    writeFileSync(csv, ['email,name,company', ...Array.from({ length: 30 }, (_, i) => `guest${i}@webinar.example,Guest ${i},Acme`), 'not-an-email,Broken Row,Acme'].join('\n'));
    expect((await cli(env, 'run', 'batch', '--campaign', 'Q3 Webinar Attendees', '--group', 'Marketing', '--csv', csv)).code).toBe(0);
    const batchRun = (await runIds()).find((r) => r.workflow === 'batch')!;
    await page.goto(`${base}/console/runs`);
    expect(await page.locator(`tr[data-run="${batchRun.id}"] .badge`).textContent()).toBe('done');
    await shot(page, '20-runs');
    await page.locator(`tr[data-run="${batchRun.id}"] a`).first().click();
    await page.waitForURL(`${base}/console/runs/${batchRun.id}`);
    expect(await page.locator('[data-count="sent"]').textContent()).toBe('30');
    expect(await page.locator('table.items tbody tr').count()).toBe(30);
    expect(await page.locator('body').textContent()).toContain('Rows the file check rejected (1)');
    await shot(page, '21-run-batch');

    // An ABM send above the approval threshold: the CLI returns while it waits, and serve takes it over.
    const abm = ['run', 'abm', '--group', 'Enterprise Sales', '--campaign', 'Executive Whiskey Set', '--name', 'Miles Dyson', '--email', 'miles@cyberdyne.example'];
    expect((await cli(env, ...abm)).out).toContain('is waiting for a person to approve');
    const waiting = (await runIds()).find((r) => r.workflow === 'abm' && r.status === 'waiting')!;
    await page.goto(`${base}/console/runs/${waiting.id}`);
    expect(await page.locator('[data-live]').getAttribute('data-status')).toBe('waiting');
    await shot(page, '22-run-waiting');
    // Approved elsewhere (a second tab): the open page's script sees the run finish and shows it, with no click here.
    const approvalId = /\/console\/approvals\/(apr_\w+)/.exec((await page.locator('a[href^="/console/approvals/apr_"]').first().getAttribute('href'))!)![1]!;
    const other = await newPage(page.context());
    await other.goto(`${base}/console/approvals/${approvalId}`);
    await other.getByRole('button', { name: /Approve and send/ }).click();
    await other.waitForURL(/decided=approve/);
    await expect.poll(() => page.locator('[data-field="status"] .badge').first().textContent(), { timeout: 30_000 }).toBe('done');
    expect(await page.locator('[data-live]').count()).toBe(0);
    expect(await sendsTo('miles@cyberdyne.example')).toHaveLength(1);
    await shot(page, '23-run-done-live');

    // Another one waits; Cancel stops it, and the run's log says who.
    expect((await cli(env, ...abm.slice(0, -3), 'Kyle Reese', '--email', 'kyle.reese@cyberdyne.example')).code).toBe(0);
    const toCancel = (await runIds()).find((r) => r.workflow === 'abm' && r.status === 'waiting')!;
    await page.goto(`${base}/console/runs/${toCancel.id}`);
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await page.waitForURL(`${base}/console/runs/${toCancel.id}?done=cancelled`);
    expect(await page.locator('[data-field="status"] .badge').first().textContent()).toBe('cancelled');
    expect(await page.locator('tr[data-event="cancelled"]').textContent()).toContain('Cancelled by cli:operator');
    // Its approval request went with it: withdrawn, so approving it later cannot send.
    expect(await page.locator('.notice.warn').count()).toBe(0);
    const withdrawn = (await cli(env, 'approvals', 'list', '--all', '--json')).out;
    expect((JSON.parse(withdrawn) as { status: string; decisionReason: string | null }[]).filter((a) => a.decisionReason === `run ${toCancel.id} was cancelled`).map((a) => a.status)).toEqual(['voided']);
    await shot(page, '24-run-cancelled');

    // Audit: the guard's log, a person's entries found through the filter form, and the CSV.
    await page.goto(`${base}/console/audit`);
    expect(await page.locator('table.audit.guard tbody tr').count()).toBeGreaterThan(5);
    await shot(page, '25-audit');
    await page.locator('input[name="recipient"]').fill('Sarah@Cyberdyne.example');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/recipient=Sarah%40Cyberdyne\.example/);
    const events = await page.locator('table.audit.guard tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-event')));
    expect(events).toEqual(expect.arrayContaining(['decision', 'approval', 'dispatch']));
    for (const cell of await page.locator('table.audit.guard tbody tr td:nth-child(5)').allTextContents()) expect(cell).toContain('sarah@cyberdyne.example');
    await shot(page, '26-audit-recipient');
    const exported = await page.request.get(`${base}${await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href')}`);
    expect(exported.headers()['content-type']).toBe('text/csv; charset=utf-8');
    const csvRows = (await exported.text()).trim().split('\r\n');
    expect(csvRows).toHaveLength(events.length + 1);
    expect(csvRows.slice(1).every((row) => row.includes('"sarah@cyberdyne.example"'))).toBe(true);
    await page.goto(`${base}/console/audit?log=tools`);
    expect(await page.locator('table.audit.tools tbody tr[data-tool="create_a_sendoso_physical_gift_address_collection"]').count()).toBeGreaterThan(0);
    await shot(page, '27-audit-tool-calls');

    // Policies: each group in words, as the files say.
    const policy = (await loadPolicy([policies]))!;
    await page.goto(`${base}/console/policies`);
    for (const group of policy.groups) {
      const caps = await page.locator(`section[data-group="${group.group}"] [data-field="caps"]`).textContent();
      for (const cap of [group.caps.per_send, group.caps.per_day, group.caps.per_month]) if (cap !== undefined) expect(caps, String(group.group)).toContain(money(cap));
    }
    expect(await page.locator('section[data-group="Enterprise Sales"] [data-field="approval"]').textContent()).toContain('more than 100.00 USD');
    await shot(page, '28-policies');
    // Explain a send: the form's answer is the CLI's.
    await page.locator('#explain select[name="group"]').selectOption('Enterprise Sales');
    await page.locator('#explain input[name="campaign"]').fill('Executive Whiskey Set');
    await page.locator('#explain input[name="recipient"]').fill('miles@cyberdyne.example');
    await page.getByRole('button', { name: 'Explain' }).click();
    await page.waitForURL(/\/console\/policies\/explain\?/);
    const cliDecision = JSON.parse((await cli(env, 'policy', 'explain', '--group', 'Enterprise Sales', '--touch', 'Executive Whiskey Set', '--email', 'miles@cyberdyne.example', '--json')).out) as {
      outcome: string;
      reasons: { code: string }[];
      consulted: { rule: string; passed: boolean }[];
    };
    expect(await page.locator('[data-outcome]').getAttribute('data-outcome')).toBe(cliDecision.outcome);
    expect(await page.locator('li[data-reason]').evaluateAll((items) => items.map((i) => i.getAttribute('data-reason')))).toEqual(cliDecision.reasons.map((r) => r.code));
    expect(await page.locator('tr[data-rule]').evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-rule'), r.getAttribute('data-passed') === 'yes']))).toEqual(
      cliDecision.consulted.map((c) => [c.rule, c.passed]),
    );
    await shot(page, '29-policy-explain');
  }, 90_000);

  it('raised no Content-Security-Policy violation on any page', () => {
    expect(violations).toEqual([]);
  });
});

describe('inviting an approver', () => {
  it('says which approval.approvers entry to add to which policy file, and refuses an unknown group', async () => {
    const invite = await cli(env, 'console', 'invite', '--name', 'Dana (finance)', '--approver-for', 'Marketing', 'Enterprise Sales');
    expect(invite.code).toBe(0);
    expect(invite.out).toContain('Invited Dana (finance) as console:dana-finance.');
    expect(invite.out).toContain(`Marketing: add console:dana-finance to approval.approvers of the group "Marketing" (declared at ${join(policies, 'default.yaml')}:`);
    expect(invite.out).toContain('    approvers: [cli:operator, console:dana-finance]');
    expect(invite.out).toContain('    approvers: [U0APPROVER1, cli:operator, console:dana-finance]');
    const unknown = await cli(env, 'console', 'invite', '--name', 'Eve', '--approver-for', 'Nope');
    expect(unknown.code).not.toBe(0);
    expect(unknown.err + unknown.out).toContain('No policy for group "Nope"');
    const listed = JSON.parse((await cli(env, 'console', 'list', '--json')).out) as { id: string }[];
    expect(listed.map((i) => i.id)).toEqual(['cli:operator', 'console:bob-sales', 'console:carol-ops', 'console:dana-finance']);
  });
});
