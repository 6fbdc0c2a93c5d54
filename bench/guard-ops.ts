/**
 * @module What the guard bench measures, shared by the bench and its caller processes: the policy
 * (every rule a real one has: caps, per-recipient value and frequency, an approval threshold) and
 * one decision with its reservation for a new recipient.
 */
import { cents } from '../src/domain/index.js';
import type { CampaignInfo } from '../src/domain/index.js';
import { mergePolicyFiles, parsePolicyText } from '../src/guard/index.js';
import type { LedgerPort, Policy } from '../src/guard/index.js';

const POLICY_TEXT = `
version: 1
timezone: America/New_York
global: { per_day: 100000000 }
compliance: { blocked_domains: [".gov", ".mil"] }
groups:
  - group: Marketing
    caps: { per_send: 50, per_day: 100000000, per_week: 100000000, per_month: 100000000 }
    per_recipient: { max_value_per_year: 400, max_sends: { count: 1, per_days: 30 } }
    approval: { above: 45 }
`;

export const BENCH_POLICY = (): Policy => mergePolicyFiles([parsePolicyText('bench.yaml', POLICY_TEXT).file!]);

export const webinar: CampaignInfo = { id: 8937, name: 'Q3 Webinar Attendees', deliveryType: 'email', egiftMin: cents(2500), egiftMax: cents(2500), currency: 'USD' };

/** Decision + reservation for a new recipient each call (unique per `prefix`), as the guard does it. */
export function benchReserve(ledger: LedgerPort, policy: Policy, prefix: string): () => Promise<void> {
  let j = 0;
  return async () => {
    j += 1;
    const email = `${prefix}-decide${j}@example.com`;
    const result = await ledger.reserve({
      candidate: { kind: 'egift', group: 'Marketing', touch: webinar, recipients: [email] },
      policy,
      keys: [`${prefix}-decide-${j}`],
      requestKey: `${prefix}-decide-${j}`,
      payloadHash: 'bench',
      request: { tool: 'create_a_sendoso_egift', path: '/send', body: { send: { touch_id: 8937, email } }, caller: { via: 'workflow', id: 'bench' } },
      now: Date.now(),
      caller: 'bench',
    });
    if (result.kind !== 'reserved') throw new Error(`unexpected ${result.kind}`);
  };
}
