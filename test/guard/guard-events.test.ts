/**
 * The guard tells its observer (serve's metrics) what it decided and what became of each send —
 * an allow that was sent, a refusal with the rule behind it, a request that needs approval, and a
 * send whose answer was lost: counted unknown at dispatch, then sent once reconciliation finds it
 * in Sendoso — and an observer that throws never changes what a caller is told. Over the sandbox.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SpendRequest } from '../../src/domain/index.js';
import { Guard } from '../../src/guard/index.js';
import type { GuardEvent } from '../../src/guard/index.js';
import { silentLogger } from '../../src/log/index.js';
import { sendosoCampaignDirectory, sendosoDispatcher, sendosoSendHistory } from '../../src/sendoso/index.js';
import { startSandboxWithClient } from '../support/sandbox-client.js';
import type { SandboxWithClient } from '../support/sandbox-client.js';
import { egift, memoryLedger, policyFrom } from '../support/guard.js';

const POLICY = policyFrom(`
version: 1
timezone: UTC
costs:
  - { touch: Executive Whiskey Set, cost: 150 }
groups:
  - group: Enterprise Sales
    caps: { per_month: 1000 }
    approval: { above: 100, approvers: ['cli:dana'] }
  - group: Marketing
    caps: { per_month: 100 }
`);

let env: SandboxWithClient;
beforeEach(async () => {
  env = await startSandboxWithClient();
});
afterEach(async () => {
  await env.close();
});

function observedGuard(onEvent: (event: GuardEvent) => void): Guard {
  return new Guard({
    ledger: memoryLedger(),
    policy: POLICY,
    campaigns: sendosoCampaignDirectory(env.client, env.clock),
    dispatcher: sendosoDispatcher(env.http),
    clock: env.clock,
    logger: silentLogger(),
    settleMs: 0,
    staleDispatchMs: 0,
    onEvent,
  });
}

const dispatch = (req: SpendRequest) => async () => ({ body: (await env.http.request({ method: 'POST', path: req.path, body: req.body })).body });

describe('the guard\'s observer', () => {
  it('hears each decision with its rules and each send\'s outcome with its group and reserved cents', async () => {
    const events: GuardEvent[] = [];
    const guard = observedGuard((e) => events.push(e));

    const sent = egift('ana@example.com');
    expect((await guard.submit(sent, dispatch(sent))).status).toBe('sent');
    const whiskey = egift('sarah@cyberdyne.example', { touchId: 8934, kind: 'address_collection', group: 'Enterprise Sales' });
    expect((await guard.submit(whiskey, dispatch(whiskey))).status).toBe('pending_approval');
    const invented = egift('bo@example.com', { touchId: 1 });
    expect((await guard.submit(invented, dispatch(invented))).status).toBe('denied');

    expect(events).toEqual([
      { kind: 'decision', result: 'allow', rules: [], group: 'Marketing' },
      { kind: 'send', outcome: 'sent', group: 'Marketing', sends: 1, cents: 1000, settledBy: 'dispatch' },
      { kind: 'decision', result: 'needs_approval', rules: ['approval_threshold'], group: 'Enterprise Sales' },
      { kind: 'decision', result: 'deny', rules: ['touch_not_found'], group: 'Marketing' },
    ]);
  });

  it('a lost answer is counted unknown, then sent when reconciliation finds the send; a throwing observer changes no outcome', async () => {
    const events: GuardEvent[] = [];
    const guard = observedGuard((e) => {
      events.push(e);
      throw new Error('a broken observer');
    });
    env.sandbox.injectFault({ kind: 'drop_after_commit', count: 1, method: 'POST', path: '/send' });
    const lost = egift('cy@example.com');
    expect((await guard.submit(lost, dispatch(lost))).status).toBe('outcome_unknown');
    expect(await guard.reconcile(sendosoSendHistory(env.client, env.clock))).toMatchObject({ checked: 1, sent: 1 });
    expect(events.filter((e) => e.kind === 'send')).toEqual([
      { kind: 'send', outcome: 'unknown', group: 'Marketing', sends: 1, cents: 1000, settledBy: 'dispatch' },
      { kind: 'send', outcome: 'sent', group: 'Marketing', sends: 1, cents: 1000, settledBy: 'reconciliation' },
    ]);
  });
});
