/**
 * No path spends around the gateway, and no answer lies (DESIGN.md invariants 1, 2 and 6): an
 * unexpected throw once a send may have been written keeps the budget held (fail closed); an
 * outside MCP client waits its bounded turn instead of getting an avoidable 429; the twin of a
 * call that Sendoso refused is told it was not sent; an approved send that met a 429 stays
 * approved and goes out later, once; and the policy files are followed while the process runs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { SpendRequest } from '../../src/domain/index.js';
import { Guard, LivePolicy } from '../../src/guard/index.js';
import type { SqliteLedger } from '../../src/guard/index.js';
import { silentLogger } from '../../src/log/index.js';
import { sendosoCampaignDirectory, sendosoDispatcher } from '../../src/sendoso/index.js';
import { createMcpServer } from '../../src/tools/index.js';
import { egift as supportEgift, memoryLedger, policyFrom } from '../support/guard.js';
import { allTools, testRuntime } from '../support/mcp.js';
import { control, startSandboxWithClient } from '../support/sandbox-client.js';
import type { SandboxWithClient } from '../support/sandbox-client.js';

let env: SandboxWithClient | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

const POLICY = policyFrom(`
version: 1
costs:
  - { touch: Executive Whiskey Set, cost: 150 }
groups:
  - group: Marketing
    caps: { per_month: 1000 }
  - group: Enterprise Sales
    caps: { per_month: 1000 }
    approval: { above: 100, approvers: [U0APPROVER1] }
`);

function guardOver(e: SandboxWithClient, ledger: SqliteLedger, policy: ConstructorParameters<typeof Guard>[0]['policy'] = POLICY) {
  return new Guard({
    ledger,
    policy,
    campaigns: sendosoCampaignDirectory(e.gatewayClient, e.clock),
    dispatcher: sendosoDispatcher(e.gateway),
    clock: e.clock,
    logger: silentLogger(),
  });
}

/** An eGift as the MCP tools send it, so the sandbox counts it among giftguard's sends. */
const egift = (email: string): SpendRequest => supportEgift(email, { viaFrom: 'giftguard' });

async function mcpOver(e: SandboxWithClient, guard: Guard, waitMs: number, group = 'Marketing') {
  const server = createMcpServer({ serverId: 'mcp_agent', serverName: 'agent', tools: allTools, runtime: { ...testRuntime(e, guard, waitMs), viaFrom: 'giftguard' }, clock: e.clock, logger: silentLogger(), group, version: 'test' });
  const [a, b] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'agent', version: '1' });
  await Promise.all([server.connect(b), client.connect(a)]);
  return client;
}

const giftguardSends = (e: SandboxWithClient) => e.sandbox.state.sends.filter((s) => s.viaFrom === 'giftguard');
const settle = (ms = 20) => new Promise((r) => setTimeout(r, ms));

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !condition(); i++) await settle(2);
  if (!condition()) throw new Error('condition not reached');
}

describe('fail closed', () => {
  it('an unexpected throw once the request may have been written keeps the budget held for reconciliation', async () => {
    env = await startSandboxWithClient();
    const ledger = memoryLedger();
    const guard = guardOver(env, ledger);
    const outcome = await guard.submit(egift('ada@example.com'), async () => {
      throw new TypeError('a bug somewhere below the guard');
    });
    expect(outcome).toMatchObject({ status: 'outcome_unknown' });
    expect(await ledger.intent((outcome as { intentIds: readonly string[] }).intentIds[0]!)).toMatchObject({ status: 'UNKNOWN' });
    const month = (await ledger.budget('Marketing', POLICY, env.clock.now())).find((l) => l.window === 'month')!;
    expect(month).toMatchObject({ held: 1000, captured: 0 });
  });
});

describe('outside MCP clients', () => {
  it('wait their bounded turn through a 429 instead of getting an error the gateway could avoid', async () => {
    env = await startSandboxWithClient();
    const e = env;
    const client = await mcpOver(e, guardOver(e, memoryLedger()), 5000);
    e.sandbox.injectFault({ kind: 'rate_limit', method: 'POST', path: '/send', retryAfterSeconds: 2 });
    const call = client.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: 8938, email: 'ada@example.com' } });
    await until(() => e.pacer.pausedUntil > 0);
    e.clock.advance(2000);
    const result: any = await call;
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ status: 'sent' });
    expect(giftguardSends(e)).toHaveLength(1);
  });

  it('past their bound get "rate limited, retry in N s" with ratelimit-* in _meta, and nothing is sent', async () => {
    env = await startSandboxWithClient();
    const e = env;
    const client = await mcpOver(e, guardOver(e, memoryLedger()), 5000);
    e.sandbox.injectFault({ kind: 'rate_limit', method: 'POST', path: '/send', retryAfterSeconds: 30 });
    const result: any = await client.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: 8938, email: 'ada@example.com' } });
    expect(result.isError).toBe(true);
    expect(result.content[0].text).toMatch(/rate limiting requests\. Nothing was sent\. Retry in \d+ seconds?\./);
    expect(result._meta).toMatchObject({ 'ratelimit-remaining': 0, 'ratelimit-reset': expect.any(Number) });
    expect(giftguardSends(e)).toHaveLength(0);
  });

  it('the twin of an identical call that Sendoso refused is told it was not sent, not "in progress"', async () => {
    env = await startSandboxWithClient();
    const e = env;
    const client = await mcpOver(e, guardOver(e, memoryLedger()), 0);
    e.sandbox.injectFault({ kind: 'rate_limit', method: 'POST', path: '/send', retryAfterSeconds: 30 });
    const args = { touch_id: 8938, email: 'ada@example.com' };
    const [first, twin]: any[] = await Promise.all([client.callTool({ name: 'create_a_sendoso_egift', arguments: args }), client.callTool({ name: 'create_a_sendoso_egift', arguments: args })]);
    for (const result of [first, twin]) {
      expect(result.isError).toBe(true);
      expect(result.content[0].text).toContain('Nothing was sent');
      expect(result.content[0].text).not.toContain('in progress');
    }
    expect(giftguardSends(e)).toHaveLength(0);
    // And it can simply be asked again once the pause is over.
    e.clock.advance(30_000);
    const again: any = await client.callTool({ name: 'create_a_sendoso_egift', arguments: args });
    expect(again.structuredContent).toMatchObject({ status: 'sent' });
    expect(giftguardSends(e)).toHaveLength(1);
  });
});

describe('approved sends', () => {
  it('a 429 does not fail the approval: it stays approved and goes out once, later', async () => {
    env = await startSandboxWithClient();
    const e = env;
    const ledger = memoryLedger();
    const guard = guardOver(e, ledger);
    const request: SpendRequest = {
      ...egift('sarah@cyberdyne.example'),
      tool: 'create_a_sendoso_physical_gift_address_collection',
      kind: 'address_collection',
      touchId: 8934,
      group: 'Enterprise Sales',
      body: { send: { touch_id: 8934, name: 'Sarah', email: 'sarah@cyberdyne.example', no_address: true, confirm_address: true, address_confirmation_via: 'email', resume_with_unconfirmed_address: false, expire_after_days: 7, hide_product_info: false, via: 'single_person_or_company', via_from: 'giftguard' } },
    };
    const pending = await guard.submit(request, async () => {
      throw new Error('not dispatched before approval');
    });
    expect(pending.status).toBe('pending_approval');
    const approvalId = (pending as { approvalId: string }).approvalId;
    expect(await guard.approve(approvalId, { identity: 'slack:U0APPROVER1' })).toMatchObject({ status: 'approved' });

    // Sendoso rate-limits for longer than the gateway's patience for this send: not sent, not failed.
    await control(e.sandbox, 'POST', '/faults', { kind: 'rate_limit', count: 1000, method: 'POST', path: '/send', retryAfterSeconds: 60 });
    let finished = false;
    const first = guard.dispatchApproved().finally(() => (finished = true));
    while (!finished) {
      await until(() => finished || e.pacer.pausedUntil > 0);
      if (!finished) e.clock.advance(60_000);
    }
    expect(await first).toBe(0);
    expect(await ledger.approval(approvalId)).toMatchObject({ status: 'approved' });
    expect(giftguardSends(e)).toHaveLength(0);

    await control(e.sandbox, 'DELETE', '/faults');
    e.clock.advance(60_000);
    expect(await guard.dispatchApproved()).toBe(1);
    expect(await ledger.approval(approvalId)).toMatchObject({ status: 'sent' });
    expect(await guard.dispatchApproved()).toBe(0);
    expect(giftguardSends(e)).toHaveLength(1);
  });
});

describe('the policy follows its files while the process runs', () => {
  it('a kill switch applies to the next spend; a broken file refuses every spend with file:line; a fixed file sends again', async () => {
    env = await startSandboxWithClient();
    const e = env;
    const dir = mkdtempSync(join(tmpdir(), 'giftguard-live-policy-'));
    const file = join(dir, 'policy.yaml');
    const good = 'version: 1\ngroups:\n  - group: Marketing\n    caps: { per_month: 1000 }\n';
    writeFileSync(file, good);
    const live = new LivePolicy({ paths: [dir], missingOk: false, clock: e.clock, logger: silentLogger() });
    const guard = guardOver(e, memoryLedger(), live);
    const send = (email: string) => guard.submit(egift(email), async ({ beforeRetry: _ }) => ({ body: (await e.gateway.request({ method: 'POST', path: '/send', body: egift(email).body })).body }));

    expect(await send('a@example.com')).toMatchObject({ status: 'sent' });

    writeFileSync(file, `kill_switch: true\n${good}`);
    e.clock.advance(1000);
    expect(await send('b@example.com')).toMatchObject({ status: 'denied', reasons: expect.arrayContaining([expect.objectContaining({ code: 'kill_switch_global' })]) });

    writeFileSync(file, 'version: 1\ngroups:\n  - group: Marketing\n    caps: { per_month: -5 }\n');
    e.clock.advance(1000);
    const broken = await send('c@example.com');
    expect(broken).toMatchObject({ status: 'denied', reasons: [expect.objectContaining({ code: 'policy_invalid' })] });
    expect((broken as { reasons?: readonly { message: string }[] }).reasons![0]!.message).toContain(`${file}:4`);

    rmSync(file);
    e.clock.advance(1000);
    expect(await send('d@example.com')).toMatchObject({ status: 'denied', reasons: [expect.objectContaining({ code: 'no_spend_policy' })] });

    writeFileSync(file, good);
    e.clock.advance(1000);
    expect(await send('e@example.com')).toMatchObject({ status: 'sent' });
    expect(giftguardSends(e).map((s) => s.recipient.email)).toEqual(['a@example.com', 'e@example.com']);
  });
});
