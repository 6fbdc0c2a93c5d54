/**
 * The console's doors over real HTTP, in process, on real SQLite with a real guard and an injected
 * clock: every answer carries the strict Content-Security-Policy and no page has inline script or
 * style; an unknown Host is refused; signed out, pages and forms are refused; a sign-in link is
 * spent only by its form, from the console's own origin, and once, giving an HttpOnly SameSite=Strict
 * cookie (Secure and __Host- behind HTTPS); every state-changing form needs the console's Origin
 * and the session's synchronizer token, and refused forms decide nothing; signing in again ends the
 * browser's earlier session; a person the policy does not list cannot decide; an approver's
 * approval sends once, and a replay sends nothing again; the decision and its note are in the
 * guard's audit trail with who made them; signing out ends the session.
 */
import { request } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/index.js';
import type { SpendDispatcher, SpendRequest } from '../../src/domain/index.js';
import { Guard, SqliteLedger, createApprovals, fixedPolicy } from '../../src/guard/index.js';
import { silentLogger } from '../../src/log/index.js';
import { SqliteRunStore } from '../../src/orchestrator/index.js';
import { openDatabase } from '../../src/storage/index.js';
import type { SqliteDatabase } from '../../src/storage/index.js';
import { ConsoleAccounts, CONTENT_SECURITY_POLICY, SqliteConsoleAccountStore, createConsole } from '../../src/triggers/console/index.js';
import type { WebConsole } from '../../src/triggers/console/index.js';
import { startHttpServer } from '../../src/triggers/index.js';
import type { RunningHttpServer } from '../../src/triggers/index.js';
import { fixedCampaigns, policyFrom, whiskey } from '../support/guard.js';

const POLICY = policyFrom(`
version: 1
timezone: UTC
costs:
  - { touch: Executive Whiskey Set, cost: 150 }
groups:
  - group: Enterprise Sales
    caps: { per_send: 300, per_day: 1000, per_month: 5000 }
    approval: { above: 100, approvers: ['cli:alice', 'console:dana-finance'] }
`);

let db: SqliteDatabase;
let clock: ManualClock;
let ledger: SqliteLedger;
let guard: Guard;
let accounts: ConsoleAccounts;
let posted: unknown[];
let http: RunningHttpServer;
let base: string;

const dispatcher: SpendDispatcher = async (request) => {
  posted.push(request.body);
  return { body: { tracking_code: `TRK-${posted.length}` } };
};

async function startConsole(publicUrl?: string): Promise<void> {
  let web: WebConsole | undefined;
  http = await startHttpServer({ host: '127.0.0.1', port: 0, handlers: [(req, res) => web!.handle(req, res)], logger: silentLogger(), info: () => ({}) });
  base = `http://127.0.0.1:${http.port}`;
  web = createConsole({
    services: {
      accounts,
      approvals: createApprovals({ ledger, clock, guard }),
      ledger,
      policy: fixedPolicy(POLICY),
      runs: new SqliteRunStore(db),
      balances: () => undefined,
      audit: (e) => ledger.recordGuardEvent({ at: clock.now(), event: e.event, outcome: e.outcome, caller: e.by, approvalId: e.approvalId, reasons: e.detail ? [e.detail] : undefined }),
      clock,
      logger: silentLogger(),
      version: 'test',
    },
    publicBaseUrl: publicUrl ?? base,
    allowedHosts: [`127.0.0.1:${http.port}`],
    allowedOrigins: [base],
  });
}

beforeEach(async () => {
  db = openDatabase(':memory:');
  clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
  ledger = new SqliteLedger(db);
  posted = [];
  guard = new Guard({ ledger, policy: POLICY, campaigns: fixedCampaigns(whiskey), clock, logger: silentLogger(), dispatcher });
  accounts = new ConsoleAccounts(new SqliteConsoleAccountStore(db), Buffer.alloc(32, 3), clock);
  await startConsole();
});

afterEach(async () => {
  await http.close();
});

/** A send above the approval threshold, waiting; returns its approval id. */
async function waitingApproval(email = 'ceo@acme.example'): Promise<string> {
  const request: SpendRequest = {
    tool: 'create_a_sendoso_physical_gift_address_collection',
    kind: 'address_collection',
    touchId: whiskey.id,
    recipients: [{ email }],
    path: '/send',
    body: { send: { touch_id: whiskey.id, email, custom_message: 'Thanks for <b>everything</b>', via: 'single_person_or_company' } },
    caller: { via: 'mcp', id: 'mcp_sales', name: 'sales agent', clientName: 'Claude' },
    group: 'Enterprise Sales',
  };
  const outcome = await guard.submit(request, async () => {
    throw new Error('never dispatched on submit');
  });
  if (outcome.status !== 'pending_approval') throw new Error(`expected pending_approval, got ${outcome.status}`);
  return (await ledger.approvals({ status: 'pending' }))[0]!.id;
}

const origin = () => ({ origin: base, 'sec-fetch-site': 'same-origin' });
const form = (fields: Record<string, string>) => ({ 'content-type': 'application/x-www-form-urlencoded', body: new URLSearchParams(fields).toString() });

async function post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  const { body, ...type } = form(fields);
  return fetch(`${base}${path}`, { method: 'POST', redirect: 'manual', headers: { ...type, ...headers }, body });
}

/** Signs `identity` in through its link's form; returns the cookie header and the session's token for forms. */
async function signIn(identity: string): Promise<{ cookie: string; csrf: string }> {
  const { token } = await accounts.createSignInLink(identity, 3_600_000);
  const answer = await post('/console/sign-in', { token }, origin());
  expect(answer.status).toBe(303);
  const cookie = answer.headers.getSetCookie()[0]!.split(';')[0]!;
  const page = await (await fetch(`${base}/console`, { headers: { cookie } })).text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
  return { cookie, csrf };
}

describe('every page', () => {
  it('carries the strict Content-Security-Policy and has no inline script, style or handler', async () => {
    await accounts.ensureOperator('alice');
    const { cookie } = await signIn('cli:alice');
    const id = await waitingApproval();
    for (const path of ['/console', '/console/approvals', `/console/approvals/${id}`, '/console/sign-in?token=nope', '/console/nowhere']) {
      const answer = await fetch(`${base}${path}`, { headers: { cookie } });
      expect(answer.headers.get('content-security-policy'), path).toBe(CONTENT_SECURITY_POLICY);
      expect(CONTENT_SECURITY_POLICY).toContain("default-src 'self'");
      expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline');
      expect(answer.headers.get('x-frame-options')).toBe('DENY');
      expect(answer.headers.get('cache-control')).toBe('no-store');
      const page = await answer.text();
      expect(page, path).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(page, path).not.toMatch(/\sstyle=/);
      expect(page, path).not.toMatch(/\son[a-z]+=/);
    }
    // Text from a request is text: the message's markup is escaped.
    const detail = await (await fetch(`${base}/console/approvals/${id}`, { headers: { cookie } })).text();
    expect(detail).toContain('Thanks for &lt;b&gt;everything&lt;/b&gt;');
    const css = await fetch(`${base}${/href="(\/console\/assets\/console\.css\?v=\w+)"/.exec(detail)![1]}`);
    expect([css.status, css.headers.get('content-type')]).toEqual([200, 'text/css; charset=utf-8']);
  });

  it('refuses a Host giftguard does not serve', async () => {
    // fetch sets Host itself; node:http sends the one given, as a rebinding DNS name would.
    const status = await new Promise<number | undefined>((resolve, reject) => {
      request(`${base}/console`, { headers: { host: `evil.example:${http.port}` } }, (answer) => {
        answer.resume();
        resolve(answer.statusCode);
      })
        .on('error', reject)
        .end();
    });
    expect(status).toBe(421);
  });

  it('is refused signed out, and so is every form', async () => {
    const id = await waitingApproval();
    for (const path of ['/console', '/console/approvals', `/console/approvals/${id}`]) {
      const answer = await fetch(`${base}${path}`);
      expect(answer.status, path).toBe(401);
      expect(await answer.text()).toContain('Sign in to use the giftguard console');
    }
    const approve = await post(`/console/approvals/${id}/approve`, { _csrf: 'x' }, origin());
    expect(approve.status).toBe(401);
    expect((await ledger.approval(id))?.status).toBe('pending');
    expect(posted).toEqual([]);
  });

  it('opened from another site (a chat, Slack) without the Strict cookie, opens itself again from here', async () => {
    const answer = await fetch(`${base}/console/approvals/apr_x`, { headers: { 'sec-fetch-site': 'cross-site' } });
    expect(answer.status).toBe(200);
    expect(await answer.text()).toContain('<meta http-equiv="refresh" content="0">');
  });
});

describe('signing in', () => {
  it('the link opens a confirmation (opening it spends nothing); its form signs in once, from the console only', async () => {
    await accounts.ensureOperator('alice');
    const { token } = await accounts.createSignInLink('cli:alice', 3_600_000);
    for (let i = 0; i < 2; i++) {
      const page = await fetch(`${base}/console/sign-in?token=${token}`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('You are signing in as <b>alice</b>');
    }
    expect((await post('/console/sign-in', { token })).status).toBe(403);
    expect((await post('/console/sign-in', { token }, { origin: 'http://evil.example' })).status).toBe(403);
    const signedIn = await post('/console/sign-in', { token }, origin());
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.get('location')).toBe('/console');
    const cookie = signedIn.headers.getSetCookie()[0]!;
    expect(cookie).toMatch(/^giftguard_console=ggsession_[\w-]+; Path=\/; HttpOnly; SameSite=Strict; Expires=/);
    expect(cookie).not.toContain('Secure');
    expect((await fetch(`${base}/console`, { headers: { cookie: cookie.split(';')[0]! } })).status).toBe(200);
    // The same link again: spent.
    expect((await post('/console/sign-in', { token }, origin())).status).toBe(401);
    expect(await ledger.approvals()).toEqual([]);
    expect(db.prepare("SELECT caller, outcome FROM guard_audit WHERE event = 'console_sign_in'").all()).toEqual([{ caller: 'cli:alice', outcome: 'signed_in' }]);
  });

  it('signing in again in the same browser ends its earlier session', async () => {
    await accounts.ensureOperator('alice');
    const first = await signIn('cli:alice');
    const { token } = await accounts.createSignInLink('cli:alice', 3_600_000);
    const again = await post('/console/sign-in', { token }, { ...origin(), cookie: first.cookie });
    expect(again.status).toBe(303);
    expect((await fetch(`${base}/console`, { headers: { cookie: first.cookie } })).status).toBe(401);
    expect((await fetch(`${base}/console`, { headers: { cookie: again.headers.getSetCookie()[0]!.split(';')[0]! } })).status).toBe(200);
  });

  it('behind HTTPS the cookie is Secure and __Host- prefixed', async () => {
    await http.close();
    await startConsole('https://giftguard.example.com');
    await accounts.ensureOperator('alice');
    const { token } = await accounts.createSignInLink('cli:alice', 3_600_000);
    const signedIn = await post('/console/sign-in', { token }, origin());
    expect(signedIn.headers.getSetCookie()[0]).toMatch(/^__Host-giftguard_console=ggsession_[\w-]+; Path=\/; HttpOnly; SameSite=Strict; Expires=[^;]+; Secure$/);
  });

  it('returns to the page that asked for it', async () => {
    await accounts.ensureOperator('alice');
    const id = await waitingApproval();
    const refused = await fetch(`${base}/console/approvals/${id}`);
    const remembered = refused.headers.get('set-cookie')!.split(';')[0]!;
    const { token } = await accounts.createSignInLink('cli:alice', 3_600_000);
    const signedIn = await post('/console/sign-in', { token }, { ...origin(), cookie: remembered });
    expect(signedIn.headers.get('location')).toBe(`/console/approvals/${id}`);
  });
});

describe('deciding', () => {
  it('a forged or missing synchronizer token, another origin or a cross-site request decide nothing', async () => {
    await accounts.ensureOperator('alice');
    const { cookie, csrf } = await signIn('cli:alice');
    const id = await waitingApproval();
    const attempts = [
      post(`/console/approvals/${id}/approve`, { _csrf: 'forged' }, { ...origin(), cookie }),
      post(`/console/approvals/${id}/approve`, {}, { ...origin(), cookie }),
      post(`/console/approvals/${id}/approve`, { _csrf: csrf }, { origin: 'http://evil.example', cookie }),
      post(`/console/approvals/${id}/approve`, { _csrf: csrf }, { cookie }),
      post(`/console/approvals/${id}/approve`, { _csrf: csrf }, { origin: base, 'sec-fetch-site': 'cross-site', cookie }),
      post(`/console/approvals/${id}/deny`, { _csrf: 'forged' }, { ...origin(), cookie }),
    ];
    for (const answer of await Promise.all(attempts)) expect(answer.status).toBe(403);
    expect((await ledger.approval(id))?.status).toBe('pending');
    expect(posted).toEqual([]);
  });

  it('someone the policy does not list cannot decide, and is told who can', async () => {
    await accounts.invite({ name: 'Bob', admin: false, by: 'cli:alice' });
    const { cookie, csrf } = await signIn('console:bob');
    const id = await waitingApproval();
    const page = await (await fetch(`${base}/console/approvals/${id}`, { headers: { cookie } })).text();
    expect(page).toContain('You are not an approver for this group.');
    expect(page).not.toContain('/approve"');
    const answer = await post(`/console/approvals/${id}/approve`, { _csrf: csrf }, { ...origin(), cookie });
    expect(answer.status).toBe(403);
    expect(await answer.text()).toContain('console:bob is not an approver for Enterprise Sales (its approvers are cli:alice, console:dana-finance)');
    expect((await ledger.approval(id))?.status).toBe('pending');
    expect(posted).toEqual([]);
  });

  it('an approver approves once: sent once, a replayed form sends nothing again; the note and the decider are audited', async () => {
    await accounts.invite({ name: 'Dana (finance)', admin: false, by: 'cli:alice' });
    const { cookie, csrf } = await signIn('console:dana-finance');
    const id = await waitingApproval();
    const approve = () => post(`/console/approvals/${id}/approve`, { _csrf: csrf, note: 'renewal push' }, { ...origin(), cookie });
    const first = await approve();
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe(`/console/approvals/${id}?decided=approve`);
    const shown = await (await fetch(`${base}${first.headers.get('location')!}`, { headers: { cookie } })).text();
    expect(shown).toContain('Approved and sent.');
    expect(shown).toContain('TRK-1');
    const replay = await approve();
    expect(replay.status).toBe(409);
    expect(await replay.text()).toContain('Nothing was sent again.');
    expect(posted).toHaveLength(1);
    expect(await ledger.approval(id)).toMatchObject({ status: 'sent', decidedBy: 'console:dana-finance' });
    const audit = db.prepare('SELECT event, outcome, caller, reasons FROM guard_audit WHERE approval_id = ? ORDER BY id').all(id) as { event: string; caller: string | null; reasons: string | null }[];
    expect(audit).toContainEqual(expect.objectContaining({ event: 'approval', outcome: 'approved', caller: 'console:dana-finance' }));
    expect(audit).toContainEqual({ event: 'approval_note', outcome: 'approved', caller: 'console:dana-finance', reasons: JSON.stringify(['renewal push']) });
  });

  it('a double click decides once: two forms at the same moment, one send', async () => {
    await accounts.ensureOperator('alice');
    const { cookie, csrf } = await signIn('cli:alice');
    const id = await waitingApproval();
    const answers = await Promise.all([0, 1].map(() => post(`/console/approvals/${id}/approve`, { _csrf: csrf }, { ...origin(), cookie })));
    expect(answers.map((a) => a.status).sort()).toEqual([303, 409]);
    expect(posted).toHaveLength(1);
  });

  it('deny records the reason and sends nothing', async () => {
    await accounts.ensureOperator('alice');
    const { cookie, csrf } = await signIn('cli:alice');
    const id = await waitingApproval();
    const denied = await post(`/console/approvals/${id}/deny`, { _csrf: csrf, note: 'not this quarter' }, { ...origin(), cookie });
    expect(denied.status).toBe(303);
    expect(await ledger.approval(id)).toMatchObject({ status: 'denied', decidedBy: 'cli:alice', decisionReason: 'not this quarter' });
    expect(posted).toEqual([]);
  });
});

describe('signing out', () => {
  it('needs the session\'s token, ends the session and clears the cookie', async () => {
    await accounts.ensureOperator('alice');
    const { cookie, csrf } = await signIn('cli:alice');
    expect((await post('/console/sign-out', { _csrf: 'forged' }, { ...origin(), cookie })).status).toBe(403);
    expect((await fetch(`${base}/console`, { headers: { cookie } })).status).toBe(200);
    const out = await post('/console/sign-out', { _csrf: csrf }, { ...origin(), cookie });
    expect(out.status).toBe(303);
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
    expect((await fetch(`${base}/console`, { headers: { cookie } })).status).toBe(401);
  });
});
