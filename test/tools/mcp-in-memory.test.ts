/**
 * Every tool through the official SDK client (in-memory transport) against the sandbox: results
 * carry structuredContent that the client validates against outputSchema; spending tools reach
 * Sendoso only through the SpendGate; bad arguments never reach Sendoso; a 429 comes back as an
 * error result carrying ratelimit-limit/-remaining/-reset.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SpendGate, SpendRequest } from '../../src/domain/index.js';
import { META_ERROR } from '../../src/tools/index.js';
import { control } from '../support/sandbox-client.js';
import { startInMemoryMcp } from '../support/mcp.js';
import type { InMemoryMcp } from '../support/mcp.js';

let env: InMemoryMcp;
afterEach(async () => {
  await env?.close();
});

/** A test double for the guard: records what it was asked and lets everything through. */
function dispatchingGate(seen: SpendRequest[]): SpendGate {
  return {
    async submit(request, dispatch) {
      seen.push(request);
      const { body } = await dispatch({ beforeRetry: async () => undefined });
      return { status: 'sent', response: body, intentIds: [`intent-${seen.length}`] };
    },
  };
}

const apiRequests = () => env.sandbox.requestLog.length;
const text = (result: any) => result.content[0].text as string;

describe('reads through MCP', () => {
  it('initializes, lists the twelve Sendoso tools and giftguard\'s three with schemas and annotations', async () => {
    env = await startInMemoryMcp();
    expect(env.mcp.getServerVersion()).toMatchObject({ name: 'giftguard' });
    const { tools } = await env.mcp.listTools();
    expect(tools).toHaveLength(15);
    expect(tools.slice(12).map((t) => t.name)).toEqual(['giftguard_check_approval', 'giftguard_check_spend_request', 'giftguard_group_headroom']);
    const egift = tools.find((t) => t.name === 'create_a_sendoso_egift')!;
    expect(egift.annotations).toMatchObject({ destructiveHint: true, openWorldHint: true, readOnlyHint: false });
    expect(egift.outputSchema).toMatchObject({ type: 'object' });
  });

  it.each([
    ['list_all_sendoso_me', {}, (s: any) => expect(s).toMatchObject({ id: 501, balance: '5000.0' })],
    ['list_all_sendoso_users', { per_page: 3 }, (s: any) => expect(s).toMatchObject({ total_users: 10, per_page: 3 })],
    ['list_all_sendoso_groups', {}, (s: any) => expect(s.groups.map((g: any) => g.name)).toContain('Enterprise Sales')],
    ['list_all_sendoso_team_group_users', { team_group_id: 103 }, (s: any) => expect(s.members).toHaveLength(4)],
    ['list_all_sendoso_campaigns', { delivery_type: 'email' }, (s: any) => expect(s.touches.map((t: any) => t.name)).toContain('Q3 Webinar Attendees')],
    ['get_single_sendoso_campaign_by_id', { id: 8934 }, (s: any) => expect(s.touch.name).toBe('Executive Whiskey Set')],
    ['list_all_sendoso_sends', { page: 1 }, (s: any) => expect(s.total_count).toBe(12)],
    ['create_a_sendoso_user', { first_name: 'Nia', last_name: 'Long', email: 'nia@acme-robotics.example', role: 'regular', team_group_id: 103 }, (s: any) => expect(s).toMatchObject({ invitation_status: 'pending' })],
  ])('%s returns structured content matching its output schema', async (name, args, check) => {
    env = await startInMemoryMcp();
    // callTool validates structuredContent against the tool's outputSchema and throws if it does not match.
    const result = await env.mcp.callTool({ name, arguments: args });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toBeDefined();
    expect(JSON.parse(text(result))).toEqual(result.structuredContent);
    check(result.structuredContent);
  });

  it('asks Sendoso for 100 per page unless told otherwise', async () => {
    env = await startInMemoryMcp();
    await env.mcp.callTool({ name: 'list_all_sendoso_sends', arguments: {} });
    expect(new URL(env.sent.at(-1)!.url).searchParams.get('per_page')).toBe('100');
  });

  it('turns a Sendoso 404 into an error the model can act on, without structuredContent', async () => {
    env = await startInMemoryMcp();
    const result: any = await env.mcp.callTool({ name: 'get_single_sendoso_campaign_by_id', arguments: { id: 4242 } });
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toBeUndefined();
    expect(text(result)).toContain('Sendoso said: "Touch not found"');
    expect(text(result)).toContain('Look the id up with a list tool');
  });
});

describe('spending tools', () => {
  const spends = [
    ['create_a_sendoso_egift', { touch_id: 8937, email: 'ada@example.com', name: 'Ada' }],
    ['create_a_sendoso_physical_gift', { touch_id: 8936, name: 'Sarah Connor', email: 'sarah@cyberdyne.example', address: '1 Tech Way', city: 'Los Angeles', state: 'CA', zip: '90001', country: 'USA' }],
    ['create_a_sendoso_physical_gift_address_collection', { touch_id: 8934, name: 'Sarah Connor', email: 'sarah@cyberdyne.example' }],
    ['create_a_sendoso_egift_links', { touch_id: 8938, recipient_users: [{ email: 'a@example.com' }, { email: 'b@example.com' }] }],
  ] as const;

  it.each(spends)('%s is refused while no spend policy exists, and nothing reaches Sendoso', async (name, args) => {
    env = await startInMemoryMcp();
    const before = apiRequests();
    const result: any = await env.mcp.callTool({ name, arguments: args });
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toBeUndefined();
    expect(text(result)).toContain('No spend policy is configured');
    expect(result._meta[META_ERROR]).toMatchObject({ code: 'denied', reasons: ['no_spend_policy'] });
    expect(apiRequests()).toBe(before);
    expect((await control(env.sandbox, 'GET', '/sends')).sends).toHaveLength(12);
  });

  it.each(spends)('%s hands the gate the exact nested body, and returns the send when the gate dispatches', async (name, args) => {
    const seen: SpendRequest[] = [];
    env = await startInMemoryMcp({ gate: dispatchingGate(seen), group: 'Enterprise Sales' });
    const result: any = await env.mcp.callTool({ name, arguments: args });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ status: 'sent', intent_ids: ['intent-1'] });
    const request = seen[0]!;
    expect(request).toMatchObject({ tool: name, touchId: args.touch_id, group: 'Enterprise Sales', caller: { via: 'mcp', id: 'mcp_test', clientName: 'vitest' } });
    expect(request.body).toEqual({ send: expect.objectContaining({ touch_id: args.touch_id, via_from: 'giftguard-tests' }) });
    expect(env.sent.filter((r) => r.method === 'POST').at(-1)!.body).toEqual(request.body);
    if (name === 'create_a_sendoso_egift_links') {
      expect(request.recipients).toEqual([{ email: 'a@example.com' }, { email: 'b@example.com' }]);
      expect(result.structuredContent.egift_links).toHaveLength(2);
    } else {
      expect(result.structuredContent.tracking_code).toMatch(/^[0-9a-f]{40}$/);
    }
  });

  it('reports a send that needs approval as a clear non-error result', async () => {
    const gate: SpendGate = {
      async submit() {
        return { status: 'pending_approval', approvalId: 'apr_123', reasons: [{ code: 'approval_threshold', message: 'Sends above 100.00 USD need approval.' }], expiresAt: Date.UTC(2026, 0, 20) };
      },
    };
    env = await startInMemoryMcp({ gate });
    const result: any = await env.mcp.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: 8937, email: 'a@example.com' } });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ status: 'pending_approval', approval_id: 'apr_123', approval_expires_at: '2026-01-20T00:00:00.000Z' });
    expect(result.structuredContent.message).toContain('Nothing has been sent yet');
  });
});

describe('bad arguments never reach Sendoso', () => {
  it.each([
    ['wrong types', 'create_a_sendoso_egift', { touch_id: 'eight', email: 'a@example.com' }, /touch_id/],
    ['an unknown field', 'create_a_sendoso_egift', { touch_id: 8937, email: 'a@example.com', amount: 50 }, /Unrecognized key: "amount"/],
    ['expire_after_days 9', 'create_a_sendoso_physical_gift_address_collection', { touch_id: 8934, name: 'S', email: 's@example.com', expire_after_days: 9 }, /<=7[\s\S]*expire_after_days/],
    ['a missing touch_id', 'create_a_sendoso_physical_gift', { name: 'S', email: 's@example.com', address: 'a', city: 'c', state: 's', zip: 'z', country: 'US' }, /touch_id/],
    ['an invalid email', 'create_a_sendoso_egift', { touch_id: 8937, email: 'nope' }, /email/],
    ['per_page 500', 'list_all_sendoso_sends', { per_page: 500 }, /per_page/],
  ])('%s', async (_name, tool, args, message) => {
    const seen: SpendRequest[] = [];
    env = await startInMemoryMcp({ gate: dispatchingGate(seen) });
    const before = apiRequests();
    const result: any = await env.mcp.callTool({ name: tool, arguments: args });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/^Invalid arguments for \w+; nothing was sent to Sendoso\./);
    expect(text(result)).toMatch(message);
    expect(result._meta[META_ERROR]).toMatchObject({ code: 'invalid_arguments' });
    expect(seen).toHaveLength(0);
    expect(apiRequests()).toBe(before);
  });

  it('an unknown tool is a protocol error', async () => {
    env = await startInMemoryMcp();
    await expect(env.mcp.callTool({ name: 'send_money_anywhere', arguments: {} })).rejects.toThrow(/Tool send_money_anywhere not found/);
  });
});

describe('rate limits pass through', () => {
  it('a 429 from the sandbox reaches the client as an error with ratelimit-limit, -remaining and -reset', async () => {
    env = await startInMemoryMcp();
    await control(env.sandbox, 'POST', '/rate-limit', { limit: 2 });
    await env.mcp.callTool({ name: 'list_all_sendoso_me', arguments: {} });
    await env.mcp.callTool({ name: 'list_all_sendoso_me', arguments: {} });
    const result: any = await env.mcp.callTool({ name: 'list_all_sendoso_groups', arguments: {} });
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toBeUndefined();
    expect(result._meta).toMatchObject({ 'ratelimit-limit': 2, 'ratelimit-remaining': 0, 'ratelimit-reset': 1 });
    expect(text(result)).toBe('Sendoso is rate limiting requests. Retry in 1 second.');
  });

  it('a scripted 429 on a send says nothing was sent and when to retry, with epoch-style headers normalized', async () => {
    env = await startInMemoryMcp({ gate: dispatchingGate([]) });
    await control(env.sandbox, 'POST', '/rate-limit', { headerStyle: 'x-epoch-seconds' });
    env.sandbox.injectFault({ kind: 'rate_limit', method: 'POST', retryAfterSeconds: 42 });
    const result: any = await env.mcp.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: 8937, email: 'a@example.com' } });
    expect(result._meta).toMatchObject({ 'ratelimit-reset': 42, 'ratelimit-remaining': expect.any(Number), 'ratelimit-limit': 10_000 });
    expect(text(result)).toBe('Sendoso is rate limiting requests. Nothing was sent. Retry in 42 seconds.');
  });
});

describe('error messages are safe', () => {
  it('an expired Sendoso authorization is reported without details or tokens', async () => {
    env = await startInMemoryMcp();
    const { accessToken, refreshToken } = (await env.store.load())!;
    // Spend the refresh token elsewhere, then let the access token expire.
    await fetch(`${env.sandbox.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken!, client_id: 'giftguard-sandbox', client_secret: 'sandbox-secret' }),
    });
    env.clock.advance(7200 * 1000);
    const result: any = await env.mcp.callTool({ name: 'list_all_sendoso_me', arguments: {} });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/credentials were refused\. An administrator must re-authorize giftguard/);
    expect(text(result)).not.toContain(accessToken);
    expect(text(result)).not.toContain(refreshToken!);
  });

  it('an unknown outcome on a spend tells the model not to repeat it', async () => {
    env = await startInMemoryMcp({ gate: dispatchingGate([]) });
    env.sandbox.injectFault({ kind: 'drop_after_commit', method: 'POST' });
    const result: any = await env.mcp.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: 8937, email: 'a@example.com' } });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain('Do NOT send it again');
    expect(result._meta[META_ERROR]).toMatchObject({ code: 'connection', outcome: 'unknown' });
  });
});
