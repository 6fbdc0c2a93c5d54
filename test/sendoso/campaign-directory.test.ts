/**
 * Campaign lookups spend the account's rate limit like sends do (DESIGN.md invariant 6), so the
 * guard's campaign directory asks Sendoso once per campaign a minute: a burst of spend calls on one
 * campaign — 60 MCP calls at once in the scale-out test — shares one GET /touches/{id} instead of
 * each taking a turn; a lookup that failed is asked again by the next caller, not remembered.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sendosoCampaignDirectory } from '../../src/sendoso/index.js';
import { startSandboxWithClient } from '../support/sandbox-client.js';
import type { SandboxWithClient } from '../support/sandbox-client.js';

let env: SandboxWithClient | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

const lookups = (e: SandboxWithClient, touchId: number) => e.sandbox.requestLog.filter((r) => r.method === 'GET' && r.path === `/touches/${touchId}`).length;

describe('sendosoCampaignDirectory', () => {
  it('twenty concurrent lookups of one campaign make one request, and the answer holds for a minute', async () => {
    env = await startSandboxWithClient();
    const directory = sendosoCampaignDirectory(env.client, env.clock);
    const found = await Promise.all(Array.from({ length: 20 }, () => directory.find(8938)));
    expect(found.map((c) => c?.name)).toEqual(Array.from({ length: 20 }, () => 'Amazon eGift 10'));
    expect(lookups(env, 8938)).toBe(1);

    env.clock.advance(59_000);
    await directory.find(8938);
    expect(lookups(env, 8938)).toBe(1);
    env.clock.advance(1_000);
    await directory.find(8938);
    expect(lookups(env, 8938)).toBe(2);
  });

  it('callers waiting on a lookup that fails all see the failure; the next caller asks again', async () => {
    env = await startSandboxWithClient();
    env.sandbox.injectFault({ kind: 'server_error', count: 1, method: 'GET', path: '/touches/8938' });
    const directory = sendosoCampaignDirectory(env.client, env.clock);
    const [first, second] = await Promise.allSettled([directory.find(8938), directory.find(8938)]);
    expect(first.status).toBe('rejected');
    expect(second.status).toBe('rejected');
    expect(lookups(env, 8938)).toBe(1);
    expect(await directory.find(8938)).toMatchObject({ id: 8938, name: 'Amazon eGift 10' });
    expect(lookups(env, 8938)).toBe(2);
  });

  it('an unknown campaign is undefined, and remembered as unknown like any answer', async () => {
    env = await startSandboxWithClient();
    const directory = sendosoCampaignDirectory(env.client, env.clock);
    expect(await Promise.all([directory.find(4242), directory.find(4242)])).toEqual([undefined, undefined]);
    expect(lookups(env, 4242)).toBe(1);
  });
});
