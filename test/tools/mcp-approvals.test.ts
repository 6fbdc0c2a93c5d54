/**
 * Approvals through MCP (issue 14), with the official SDK client against a running endpoint over the
 * sandbox and the shipped policy: a send that needs a person answers a client that declared
 * URL-mode elicitation with -32042 and the console page of that approval — over stateless HTTP
 * (the capability remembered from the token's initialize), stateful HTTP, SSE and the SDK Server
 * stdio runs on — and every other caller, giftguard's own workflows included, with a
 * `pending_approval` result that now carries the same URL. giftguard's own read tools report an
 * approval before and after a person decides it, a spend request by its intent id, and a group's
 * headroom exactly as the ledger has it; an outside client sees only the group it charges.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { ErrorCode, UrlElicitationRequiredError } from '@modelcontextprotocol/sdk/types.js';
import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { formatMoney } from '../../src/domain/index.js';
import type { Cents } from '../../src/domain/index.js';
import { createApprovals, loadPolicy } from '../../src/guard/index.js';
import type { Approvals, Guard, SqliteLedger } from '../../src/guard/index.js';
import { silentLogger } from '../../src/log/index.js';
import { inProcessToolClient } from '../../src/orchestrator/index.js';
import { openDatabase } from '../../src/storage/index.js';
import { McpHttpEndpoint, SqliteMcpRegistry, SqliteToolAuditLog, createMcpServer } from '../../src/tools/index.js';
import type { McpRegistry, ToolAuditLog } from '../../src/tools/index.js';
import type { McpSessionMode, ToolRuntime } from '../../src/tools/index.js';
import { startHttpServer } from '../../src/triggers/index.js';
import { guardOverSandbox, memoryLedger } from '../support/guard.js';
import { rawPost } from '../support/mcp-http.js';
import { allTools, testRuntime } from '../support/mcp.js';
import { control, startSandboxWithClient } from '../support/sandbox-client.js';
import type { SandboxWithClient } from '../support/sandbox-client.js';

const URL_MODE: ClientCapabilities = { elicitation: { url: {} } };
const COFFEE = { touch_id: 8939, email: 'vp@example.com' }; // 50.00 USD; Sales Development asks a person above 40.00
const SDR = 'Sales Development';

interface Bench {
  readonly env: SandboxWithClient;
  readonly guard: Guard;
  readonly ledger: SqliteLedger;
  readonly approvals: Approvals;
  readonly registry: McpRegistry;
  readonly audit: ToolAuditLog;
  readonly runtime: ToolRuntime;
  readonly base: string;
  /** The console page of an approval, as the endpoint's runtime names it. */
  page(id: string): string;
  /** A server's secret URL. */
  server(name: string, group?: string): Promise<{ url: string; id: string }>;
  connect(url: string, options?: { capabilities?: ClientCapabilities; transport?: 'streamable' | 'sse' }): Promise<Client>;
  sends(): Promise<any[]>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

/** The sandbox, the guard under the shipped policy, and the MCP endpoint on a real port whose runtime knows the console. */
async function start(mode: McpSessionMode = 'stateless', options: { knowsConsole?: boolean } = {}): Promise<Bench> {
  const env = await startSandboxWithClient();
  cleanups.push(() => env.close());
  const ledger = memoryLedger();
  const guard = guardOverSandbox(env, (await loadPolicy(['policies']))!, { ledger });
  const approvals = createApprovals({ ledger, clock: env.clock, guard });
  const db = openDatabase(':memory:');
  cleanups.push(async () => void db.close());
  const registry = new SqliteMcpRegistry(db, Buffer.alloc(32, 7), env.clock);
  const audit = new SqliteToolAuditLog(db);
  let endpoint: McpHttpEndpoint | undefined;
  const http = await startHttpServer({ host: '127.0.0.1', port: 0, handlers: [(req, res) => endpoint!.handle(req, res)], logger: silentLogger(), info: () => ({ name: 'giftguard' }) });
  cleanups.push(() => http.close());
  const base = `http://127.0.0.1:${http.port}`;
  const page = (id: string) => `${base}/console/approvals/${id}`;
  const runtime: ToolRuntime = {
    ...testRuntime(env, guard),
    ...(options.knowsConsole !== false && { approvalUrl: page }),
    giftguard: { approvals, ledger, policy: () => guard.policy },
  };
  endpoint = new McpHttpEndpoint({
    registry,
    tools: allTools,
    runtime,
    audit,
    clock: env.clock,
    logger: silentLogger(),
    version: 'test',
    mode,
    allowedHosts: [`127.0.0.1:${http.port}`],
    allowedOrigins: [base],
  });
  const mcp = endpoint;
  cleanups.push(() => mcp.close());
  return {
    env,
    guard,
    ledger,
    approvals,
    registry,
    audit,
    runtime,
    base,
    page,
    async server(name, group) {
      const { server, token } = await registry.createServer({ name, scope: {}, group });
      return { url: `${base}/mcp/${token}`, id: server.id };
    },
    async connect(url, connectOptions = {}) {
      const client = new Client({ name: 'vitest-approvals', version: '1.0.0' }, { capabilities: connectOptions.capabilities ?? {} });
      await client.connect(connectOptions.transport === 'sse' ? new SSEClientTransport(new URL(`${url}/sse`)) : new StreamableHTTPClientTransport(new URL(url)));
      cleanups.push(() => client.close());
      // Listing caches each tool's output schema: every structuredContent below is checked against it.
      await client.listTools();
      return client;
    },
    sends: async () => (await control(env.sandbox, 'GET', '/sends')).sends.filter((s: any) => s.via_from === 'giftguard-tests'),
  };
}

/** The rejection of a call that must fail. */
async function refusal(call: Promise<unknown>): Promise<any> {
  const outcome = await call.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected the call to fail; it answered ${JSON.stringify(outcome.value)}`);
  return outcome.error;
}

const structured = (result: any) => {
  expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
  return result.structuredContent as any;
};

describe.each([
  ['stateless', 'streamable'],
  ['stateful', 'streamable'],
  ['stateful', 'sse'],
] as const)('a send that needs approval, over %s HTTP (%s)', (mode, transport) => {
  it('a client that declared URL elicitation is answered -32042 with the console page of that approval, and nothing is sent', async () => {
    const b = await start(mode);
    const { url, id: serverId } = await b.server('sdr agent', SDR);
    const client = await b.connect(url, { capabilities: URL_MODE, transport });

    const error = await refusal(client.callTool({ name: 'create_a_sendoso_egift', arguments: COFFEE }));
    expect(error).toBeInstanceOf(UrlElicitationRequiredError);
    expect(error.code).toBe(ErrorCode.UrlElicitationRequired);
    expect(error.code).toBe(-32042);
    const elicitations = (error as UrlElicitationRequiredError).elicitations;
    expect(elicitations).toHaveLength(1);
    const [elicitation] = elicitations;
    const pending = await b.approvals.pending();
    expect(pending.map((a) => a.id)).toEqual([elicitation!.elicitationId]);
    const approvalId = pending[0]!.id;
    expect(elicitation).toEqual({ mode: 'url', elicitationId: approvalId, url: b.page(approvalId), message: expect.any(String) });
    // What the person approves: the cost, the campaign, the recipient, the group paying, and why a person.
    expect(elicitation!.message).toContain(`Approve a gift: 50.00 USD — Coffee eGift (touch 8939) to vp@example.com, charged to ${SDR}.`);
    expect(elicitation!.message).toContain('40.00 USD');
    expect(elicitation!.message).toContain('nothing has been sent');
    expect(error.message).toContain('A person must approve this send first: open the link');

    expect(await b.sends()).toHaveLength(0);
    expect((await b.audit.list({ serverId })).map((row) => [row.tool, row.outcome, row.clientName])).toEqual([['create_a_sendoso_egift', 'pending_approval', 'vitest-approvals']]);

    // Asking again is the same request: the same approval, elicited again.
    const again = await refusal(client.callTool({ name: 'create_a_sendoso_egift', arguments: COFFEE }));
    expect((again as UrlElicitationRequiredError).elicitations[0]!.elicitationId).toBe(approvalId);
    expect(await b.approvals.pending()).toHaveLength(1);
  });

  it('a client without it (or with form elicitation only) gets pending_approval carrying the same URL', async () => {
    const b = await start(mode);
    for (const [name, capabilities] of [
      ['no elicitation', {}],
      ['form only', { elicitation: { form: {} } }],
    ] as const) {
      const { url } = await b.server(name, SDR);
      const client = await b.connect(url, { capabilities, transport });
      const result = structured(await client.callTool({ name: 'create_a_sendoso_egift', arguments: { ...COFFEE, email: `${name.replace(/ /g, '-')}@example.com` } }));
      expect(result).toMatchObject({ status: 'pending_approval', approval_id: expect.stringMatching(/^apr_/), reasons: [expect.objectContaining({ message: expect.stringContaining('40.00 USD') })] });
      expect(result.approval_url).toBe(b.page(result.approval_id));
      expect(result.message).toContain(`An approver decides it at ${b.page(result.approval_id)}.`);
    }
    expect(await b.approvals.pending()).toHaveLength(2);
    expect(await b.sends()).toHaveLength(0);
  });
});

describe('stateless HTTP remembers what each token\'s client declared at initialize', () => {
  const initialize = (capabilities: ClientCapabilities) => ({
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities, clientInfo: { name: 'raw', version: '1' } },
  });
  const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'create_a_sendoso_egift', arguments: COFFEE } };

  it('the next tools/call after an initialize with URL mode is the -32042 error; after one without, a result', async () => {
    const b = await start('stateless');
    const { url } = await b.server('raw agent', SDR);
    expect((await rawPost(url, initialize(URL_MODE))).status).toBe(200);
    const elicited = JSON.parse((await rawPost(url, call)).text);
    expect(elicited.error).toMatchObject({ code: -32042, data: { elicitations: [{ mode: 'url', url: expect.stringMatching(/\/console\/approvals\/apr_/) }] } });
    const approvalId = elicited.error.data.elicitations[0].elicitationId as string;
    expect(elicited.error.data.elicitations[0].url).toBe(b.page(approvalId));

    expect((await rawPost(url, initialize({ elicitation: {} }))).status).toBe(200);
    const answered = JSON.parse((await rawPost(url, call)).text);
    expect(answered.error).toBeUndefined();
    expect(answered.result.structuredContent).toMatchObject({ status: 'pending_approval', approval_id: approvalId, approval_url: b.page(approvalId) });
  });
});

describe('without a known console address', () => {
  it('no URL and no elicitation, even for a client that declared URL mode', async () => {
    const b = await start('stateless', { knowsConsole: false });
    const { url } = await b.server('sdr agent', SDR);
    const client = await b.connect(url, { capabilities: URL_MODE });
    const result = structured(await client.callTool({ name: 'create_a_sendoso_egift', arguments: COFFEE }));
    expect(result.status).toBe('pending_approval');
    expect(result).not.toHaveProperty('approval_url');
    expect(result.message).not.toContain('/console/');
    // The read tool says the same: no page to point to.
    expect(structured(await client.callTool({ name: 'giftguard_check_approval', arguments: { approval_id: result.approval_id } }))).not.toHaveProperty('approval_url');
  });
});

describe('callers that are not outside MCP clients', () => {
  it('a workflow, through the in-process tool client, gets pending_approval with the URL, never the error', async () => {
    const b = await start();
    const tools = await inProcessToolClient({ tools: allTools, runtime: b.runtime, clock: b.env.clock, logger: silentLogger(), version: 'test', runnerId: 'orchestrator:test' });
    cleanups.push(() => tools.close());
    const answer = await tools.call('create_a_sendoso_egift', { touch_id: 8939, email: 'attendee@example.com' }, { group: SDR, idempotencyKey: 'run_1/item_1', runId: 'run_1' });
    expect(answer.ok).toBe(true);
    const data = (answer as { data: any }).data;
    expect(data).toMatchObject({ status: 'pending_approval', approval_id: expect.stringMatching(/^apr_/) });
    expect(data.approval_url).toBe(b.page(data.approval_id));
    expect((await b.approvals.get(data.approval_id))?.runId).toBe('run_1');
  });

  it('the SDK Server (what stdio serves) elicits for a URL-capable outside client, and never for a workflow caller', async () => {
    const b = await start();
    const connectInMemory = async (callerVia: 'mcp' | 'workflow') => {
      const server = createMcpServer({ serverId: `mcp_${callerVia}`, serverName: callerVia, tools: allTools, runtime: b.runtime, clock: b.env.clock, logger: silentLogger(), group: SDR, callerVia, version: 'test' });
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      const client = new Client({ name: 'claude-desktop', version: '1' }, { capabilities: URL_MODE });
      await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
      cleanups.push(async () => {
        await client.close();
        await server.close();
      });
      return client;
    };
    const outside = await connectInMemory('mcp');
    const error = await refusal(outside.callTool({ name: 'create_a_sendoso_egift', arguments: COFFEE }));
    expect(error).toBeInstanceOf(UrlElicitationRequiredError);
    expect((error as UrlElicitationRequiredError).elicitations[0]!.url).toMatch(/\/console\/approvals\/apr_/);
    const workflow = await connectInMemory('workflow');
    const result = structured(await workflow.callTool({ name: 'create_a_sendoso_egift', arguments: { ...COFFEE, email: 'other@example.com' } }));
    expect(result).toMatchObject({ status: 'pending_approval', approval_url: b.page(result.approval_id) });
  });
});

describe("giftguard's own read tools", () => {
  it('check an approval before and after it is approved and sent, its spend request, and the headroom, as the ledger has them', async () => {
    const b = await start();
    const { url, id: serverId } = await b.server('sdr agent', SDR);
    const client = await b.connect(url);
    const headroomNow = async () => {
      const lines = await b.ledger.budget(SDR, b.guard.policy!, b.env.clock.now());
      return lines.map((l) => ({
        window: l.window,
        cap: l.cap === undefined ? null : formatMoney(l.cap),
        captured: formatMoney(l.captured),
        held: formatMoney(l.held),
        observed: formatMoney(l.observed),
        available: l.available === undefined ? null : formatMoney(l.available),
      }));
    };

    const before = structured(await client.callTool({ name: 'giftguard_group_headroom', arguments: {} }));
    expect(before.windows).toEqual(await headroomNow());
    expect(before).toMatchObject({
      group: SDR,
      can_send: true,
      available: '300.00 USD',
      binding: { window: 'day', rule: 'caps.per_day' },
      per_send_cap: '50.00 USD',
      approval_above: '40.00 USD',
      observed_counted: true,
    });
    expect(before.windows).toEqual([
      { window: 'day', cap: '300.00 USD', captured: '0.00 USD', held: '0.00 USD', observed: '0.00 USD', available: '300.00 USD' },
      { window: 'week', cap: null, captured: '0.00 USD', held: '0.00 USD', observed: '0.00 USD', available: null },
      { window: 'month', cap: '2,000.00 USD', captured: '0.00 USD', held: '0.00 USD', observed: '0.00 USD', available: '2,000.00 USD' },
    ]);
    expect(before.message).toContain('its per-day cap (300.00 USD) is the one that binds');
    expect(before.message).toContain('Sends above 40.00 USD wait for a person');

    const waiting = structured(await client.callTool({ name: 'create_a_sendoso_egift', arguments: COFFEE }));
    const approvalId = waiting.approval_id as string;
    const pending = structured(await client.callTool({ name: 'giftguard_check_approval', arguments: { approval_id: approvalId } }));
    expect(pending).toMatchObject({
      approval_id: approvalId,
      status: 'pending',
      group: SDR,
      campaign: 'Coffee eGift',
      touch_id: 8939,
      recipients: ['vp@example.com'],
      amount_per_send: '50.00 USD',
      total: '50.00 USD',
      requested_by: { via: 'mcp', id: serverId, name: 'sdr agent', client: 'vitest-approvals' },
      approval_url: b.page(approvalId),
      expires_at: new Date(b.env.clock.now() + 72 * 3_600_000).toISOString(),
      group_available: '300.00 USD',
    });
    expect(pending.reasons.map((r: any) => r.message).join(' ')).toContain('40.00 USD');
    expect(pending).not.toHaveProperty('tracking_code');
    expect(pending).not.toHaveProperty('decided_by');
    expect(pending.message).toContain(`An approver decides it at ${b.page(approvalId)}`);

    expect(await b.approvals.approve(approvalId, { identity: 'slack:U0APPROVER1' })).toMatchObject({ status: 'approved', sent: true });
    const sandboxSends = await b.sends();
    expect(sandboxSends.map((s) => [s.recipient_email, s.touch_id])).toEqual([['vp@example.com', 8939]]);
    const [intent] = await b.ledger.intentsOfApproval(approvalId);
    // The tracking code the read tools report is the one Sendoso (the sandbox) gave this send.
    expect(intent?.trackingCode).toBe(sandboxSends[0].tracking_code);

    const sent = structured(await client.callTool({ name: 'giftguard_check_approval', arguments: { approval_id: approvalId } }));
    expect(sent).toMatchObject({ status: 'sent', tracking_code: intent!.trackingCode, decided_by: 'slack:U0APPROVER1', group_available: '250.00 USD' });
    expect(sent.message).toBe(`Approved by slack:U0APPROVER1 and sent; tracking code ${intent!.trackingCode}.`);
    expect(sent).not.toHaveProperty('approval_url');

    const request = structured(await client.callTool({ name: 'giftguard_check_spend_request', arguments: { intent_id: intent!.id } }));
    expect(request).toMatchObject({
      intent_id: intent!.id,
      status: 'sent',
      tracking_code: intent!.trackingCode,
      approval_id: approvalId,
      batch_id: intent!.batchId,
      group: SDR,
      campaign: 'Coffee eGift',
      recipient: 'vp@example.com',
      amount: '50.00 USD',
    });

    const after = structured(await client.callTool({ name: 'giftguard_group_headroom', arguments: { group: 'sales development' } }));
    expect(after.windows).toEqual(await headroomNow());
    expect(after.windows[0]).toEqual({ window: 'day', cap: '300.00 USD', captured: '50.00 USD', held: '0.00 USD', observed: '0.00 USD', available: '250.00 USD' });
    expect(after).toMatchObject({ available: '250.00 USD', binding: { window: 'day', rule: 'caps.per_day' } });
    expect(after.message).toContain(`${SDR} can spend 250.00 USD more today`);
    // Reading changed nothing upstream.
    expect(await b.sends()).toHaveLength(1);
  });

  it('report a sent spend request of a direct send, a denied approval with its note, an expired one, and unknown ids', async () => {
    const b = await start();
    const { url } = await b.server('sdr agent', SDR);
    const client = await b.connect(url);
    const direct = structured(await client.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: 8938, email: 'lead@example.com' } }));
    expect(direct.status).toBe('sent');
    const request = structured(await client.callTool({ name: 'giftguard_check_spend_request', arguments: { intent_id: direct.intent_ids[0] } }));
    expect(request).toMatchObject({ status: 'sent', tracking_code: direct.tracking_code, amount: formatMoney(1000 as Cents) });
    expect(request).not.toHaveProperty('approval_id');

    const first = structured(await client.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: 8939, email: 'one@example.com' } }));
    const second = structured(await client.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: 8939, email: 'two@example.com' } }));
    await b.approvals.deny(first.approval_id, { identity: 'cli:operator' }, 'Not this quarter');
    const denied = structured(await client.callTool({ name: 'giftguard_check_approval', arguments: { approval_id: first.approval_id } }));
    expect(denied).toMatchObject({ status: 'denied', decided_by: 'cli:operator', decision_note: 'Not this quarter' });
    expect(denied.message).toBe('Denied by cli:operator: Not this quarter. Nothing was sent.');

    b.env.clock.advance(72 * 3_600_000);
    const expired = structured(await client.callTool({ name: 'giftguard_check_approval', arguments: { approval_id: second.approval_id } }));
    expect(expired).toMatchObject({ status: 'expired' });
    expect(expired).not.toHaveProperty('approval_url');

    const unknown: any = await client.callTool({ name: 'giftguard_check_approval', arguments: { approval_id: 'apr_nope' } });
    expect(unknown.isError).toBe(true);
    expect(unknown.content[0].text).toContain('No approval apr_nope that this caller can see');
    const mixedUp: any = await client.callTool({ name: 'giftguard_check_spend_request', arguments: { intent_id: first.approval_id } });
    expect(mixedUp.isError).toBe(true);
    expect(mixedUp.content[0].text).toContain('is an approval id: check it with giftguard_check_approval');
    expect((await b.audit.list()).filter((r) => r.tool === 'giftguard_check_approval').map((r) => r.outcome)).toEqual(['not_found', 'ok', 'ok']);
  });

  it('show an outside client only the group it charges', async () => {
    const b = await start();
    const sdr = await b.connect((await b.server('sdr agent', SDR)).url);
    const waiting = structured(await sdr.callTool({ name: 'create_a_sendoso_egift', arguments: COFFEE }));

    const marketing = await b.connect((await b.server('marketing agent', 'Marketing')).url);
    const hidden: any = await marketing.callTool({ name: 'giftguard_check_approval', arguments: { approval_id: waiting.approval_id } });
    expect(hidden.isError).toBe(true);
    expect(hidden.content[0].text).toContain(`No approval ${waiting.approval_id} that this caller can see`);
    const otherBudget: any = await marketing.callTool({ name: 'giftguard_group_headroom', arguments: { group: SDR } });
    expect(otherBudget.isError).toBe(true);
    expect(otherBudget.content[0].text).toContain('sees only the budget of the group it charges');
    expect(structured(await marketing.callTool({ name: 'giftguard_group_headroom', arguments: {} }))).toMatchObject({ group: 'Marketing', approval_above: '45.00 USD' });

    // A server without a group charges the policy's default group, and sees that one.
    const unbound = await b.connect((await b.server('unbound agent')).url);
    expect(structured(await unbound.callTool({ name: 'giftguard_group_headroom', arguments: {} }))).toMatchObject({ group: 'Enterprise Sales', available: '1,500.00 USD' });
    expect((await unbound.callTool({ name: 'giftguard_check_approval', arguments: { approval_id: waiting.approval_id } })).isError).toBe(true);
  });

  it('say so when the server was started without giftguard\'s records', async () => {
    const b = await start();
    const server = createMcpServer({ serverId: 'mcp_bare', serverName: 'bare', tools: allTools, runtime: testRuntime(b.env, b.guard), clock: b.env.clock, logger: silentLogger(), version: 'test' });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const client = new Client({ name: 'bare', version: '1' });
    await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
    cleanups.push(async () => {
      await client.close();
      await server.close();
    });
    const result: any = await client.callTool({ name: 'giftguard_group_headroom', arguments: {} });
    expect(result.isError).toBe(true);
    expect(result.content[0].text).toBe("giftguard_group_headroom is not available here: this server was started without giftguard's records.");
  });
});
