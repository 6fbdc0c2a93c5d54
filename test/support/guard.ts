/**
 * @module Test support for the guard: policies from YAML text, an in-memory ledger, a fixed
 * campaign directory, and a guard wired over a sandbox.
 */
import { silentLogger } from '../../src/log/index.js';
import { cents } from '../../src/domain/index.js';
import type { CampaignDirectory, CampaignInfo, Clock, SpendRequest } from '../../src/domain/index.js';
import { Guard, SqliteLedger, mergePolicyFiles, parsePolicyText } from '../../src/guard/index.js';
import type { GuardOptions, Policy } from '../../src/guard/index.js';
import { openDatabase } from '../../src/storage/index.js';
import { sendosoCampaignDirectory, sendosoDispatcher } from '../../src/sendoso/index.js';
import type { SandboxWithClient } from './sandbox-client.js';

/** Parses policy YAML (one or more files) or throws with the problems. */
export function policyFrom(...texts: string[]): Policy {
  const files = texts.map((text, i) => {
    const { file, problems } = parsePolicyText(`policy-${i + 1}.yaml`, text);
    if (!file) throw new Error(problems.join('\n'));
    return file;
  });
  return mergePolicyFiles(files);
}

export const whiskey: CampaignInfo = { id: 8934, name: 'Executive Whiskey Set', deliveryType: 'mail', egiftMin: null, egiftMax: null, currency: 'USD' };
export const webinar: CampaignInfo = { id: 8937, name: 'Q3 Webinar Attendees', deliveryType: 'email', egiftMin: cents(2500), egiftMax: cents(2500), currency: 'USD' };
export const coffee: CampaignInfo = { id: 8939, name: 'Coffee eGift', deliveryType: 'email', egiftMin: cents(500), egiftMax: cents(5000), currency: 'USD' };

export function fixedCampaigns(...campaigns: CampaignInfo[]): CampaignDirectory {
  return { find: async (id) => campaigns.find((c) => c.id === id), all: async () => campaigns };
}

/**
 * A Sendoso eGift send of touch 8938 to one recipient, as an MCP caller of Marketing asks for it;
 * `viaFrom` is what the sandbox records the send as coming from.
 */
export function egift(email: string, { viaFrom = 'tests', ...over }: Partial<SpendRequest> & { viaFrom?: string } = {}): SpendRequest {
  return {
    tool: 'create_a_sendoso_egift',
    kind: 'egift',
    touchId: 8938,
    recipients: [{ email }],
    path: '/send',
    body: { send: { touch_id: 8938, email, via: 'single_email_address', via_from: viaFrom } },
    caller: { via: 'mcp', id: 'mcp_test' },
    group: 'Marketing',
    ...over,
  };
}

export function memoryLedger(): SqliteLedger {
  return new SqliteLedger(openDatabase(':memory:'));
}

/** A guard over a sandbox, with the real campaign lookups and dispatcher. */
export function guardOverSandbox(env: SandboxWithClient, policy: Policy, extra: Partial<GuardOptions> = {}): Guard {
  return new Guard({
    ledger: memoryLedger(),
    policy,
    campaigns: sendosoCampaignDirectory(env.gatewayClient, env.clock as Clock),
    dispatcher: sendosoDispatcher(env.gateway),
    clock: env.clock,
    logger: silentLogger(),
    ...extra,
  });
}
