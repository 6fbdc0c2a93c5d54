/**
 * The onboarding audit and the webinar eGift batch against the sandbox: the seed's New Hires Q3
 * audit reports three gifted members and one missing; --fix sends the missing one through the
 * guard. A batch validates every row, pre-checks the caps before sending anything, skips the
 * already gifted, and sends each attendee once.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { control } from '../support/sandbox-client.js';
import { policyFrom } from '../support/guard.js';
import { startOrchestration } from '../support/orchestration.js';
import type { Orchestration } from '../support/orchestration.js';

let env: Orchestration;
afterEach(async () => {
  await env?.close();
});

const DAY = 86_400_000;
const audit = (over: object = {}) => ({ group: 'New Hires Q3', campaign: 'Welcome Swag Box', since: env.clock.now() - 90 * DAY, stuckAfterDays: 3, fix: false, confirm: false, expireAfterDays: 7, now: env.clock.now(), ...over });
const giftguardSends = async () => (await control(env.sandbox, 'GET', '/sends')).sends.filter((s: any) => s.via_from === 'giftguard');

function csv(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'giftguard-csv-')), 'attendees.csv');
  writeFileSync(path, text);
  return path;
}

describe('onboarding audit', () => {
  it('reports three gifted members of New Hires Q3 and one missing', async () => {
    env = await startOrchestration();
    const run = await (await env.orchestrator.start('audit', audit())).finished;
    expect(run.status).toBe('done');
    const output = run.output as any;
    expect(output.lines.map((l: any) => [l.name, l.gifted, l.status ?? null])).toEqual([
      ['Priya Shah', true, 'Delivered'],
      ['Marcus Chen', true, 'Shipped'],
      ['Elena Rossi', true, 'Delivered'],
      ['Tom Becker', false, null],
    ]);
    expect(output.lines[0].trackingCode).toMatch(/^[0-9a-f]{40}$/);
    expect(run.summary).toBe('New Hires Q3: 3 of 4 members got Welcome Swag Box; 1 missing (Tom Becker).');
    expect(await giftguardSends()).toHaveLength(0);
  });

  it('--fix proposes, and --fix --yes sends the missing member an address collection through the guard, once', async () => {
    env = await startOrchestration();
    const proposed = await (await env.orchestrator.start('audit', audit({ fix: true }))).finished;
    expect(proposed.summary).toContain('Proposed: 1 address-collection send(s) of Welcome Swag Box; run again with --fix --yes to start them.');
    expect(await giftguardSends()).toHaveLength(0);
    const fixed = await (await env.orchestrator.start('audit', audit({ fix: true, confirm: true }))).finished;
    expect(fixed.summary).toContain('Started 1 address-collection send(s); 0 wait for approval; 0 failed.');
    const sent = await giftguardSends();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ recipient_email: 'tom.becker@acme-robotics.example', kind: 'address_collection', touch_name: 'Welcome Swag Box' });
  });

  it('flags sends stuck in Confirming Address past the threshold', async () => {
    env = await startOrchestration();
    const run = await (await env.orchestrator.start('audit', audit({ group: 'Enterprise Sales', campaign: 'Executive Whiskey Set', stuckAfterDays: 3 }))).finished;
    expect((run.output as any).stuck.map((s: any) => s.email)).toEqual(['kyle.reese@techcom.example']);
  });

  it('an unknown group stops with the closest names', async () => {
    env = await startOrchestration();
    const run = await (await env.orchestrator.start('audit', audit({ group: 'New Hires' }))).finished;
    expect(run).toMatchObject({ status: 'failed', summary: 'No team group called "New Hires". Did you mean "New Hires Q3"?' });
  });
});

describe('webinar eGift batch', () => {
  it('validates every row, skips the already gifted, and sends each valid attendee once', async () => {
    env = await startOrchestration();
    const path = csv(
      [
        'Email,Name,Company',
        'ada@example.com,Ada Lovelace,Analytical',
        'grace@example.com,Grace Hopper,Navy',
        'not-an-email,Bad Row,Nowhere',
        'ADA@example.com,Ada Again,Analytical',
        'dana.scully@fbi.example,Dana Scully,Bureau',
        'eve@example.com,Eve,Org,one column too many',
        'linus@example.com,Linus,Kernel',
      ].join('\n'),
    );
    const run = await (await env.orchestrator.start('batch', { campaign: 'Q3 Webinar Attendees', group: 'Marketing', csvPath: path, partial: false })).finished;
    expect(run.status).toBe('done');
    const output = run.output as any;
    expect(output.loaded.invalid.map((i: any) => i.line)).toEqual([4, 7]);
    expect(output.loaded.duplicates).toEqual([{ line: 5, email: 'ADA@example.com' }]);
    expect(output.progress).toEqual({ sent: 3, alreadySent: 0, pendingApproval: 0, refused: 0, retrying: 0, unknown: 0, skipped: 1 });
    const sent = await giftguardSends();
    expect(sent.map((s: any) => s.recipient_email).sort()).toEqual(['ada@example.com', 'grace@example.com', 'linus@example.com']);
    expect(run.summary).toBe('4 valid attendee(s), 3 row(s) rejected; Q3 Webinar Attendees from Marketing. Sent 3, waiting for approval 0, refused 0, skipped as already gifted 1.');
  });

  it('stops before sending anything when the batch does not fit the caps, and --partial sends what fits', async () => {
    const policy = policyFrom(`
version: 1
groups:
  - group: Marketing
    caps: { per_day: 100 }
`);
    env = await startOrchestration({ policy });
    const rows = ['email', ...Array.from({ length: 6 }, (_, i) => `attendee${i}@example.com`)].join('\n');
    const refused = await (await env.orchestrator.start('batch', { campaign: 'Q3 Webinar Attendees', group: 'Marketing', csvPath: csv(rows), partial: false })).finished;
    expect(refused.status).toBe('failed');
    expect(refused.summary).toBe('The batch does not fit the spend policy: only 4 of 6 sends fit right now. Marketing has 100.00 USD left today, room for 4 send(s) of 25.00 USD. Nothing was sent; use --partial to send the 4 that fit.');
    expect(await giftguardSends()).toHaveLength(0);
    const partial = await (await env.orchestrator.start('batch', { campaign: 'Q3 Webinar Attendees', group: 'Marketing', csvPath: csv(rows), partial: true })).finished;
    expect((partial.output as any).progress).toMatchObject({ sent: 4, refused: 2 });
    expect(await giftguardSends()).toHaveLength(4);
  });

  it.each([
    ['a missing email column', 'name,company\nAda,Analytical\n', 'has no "email" column (its columns are: name, company); nothing was sent.'],
    ['an empty file', '', 'is empty: it needs a header row with an "email" column'],
    ['no valid rows', 'email\nnope\nalso-nope\n', 'No valid attendee rows in the CSV (2 invalid, 0 duplicates); nothing was sent.'],
  ])('refuses a CSV with %s', async (_name, text, message) => {
    env = await startOrchestration();
    const run = await (await env.orchestrator.start('batch', { campaign: 'Q3 Webinar Attendees', group: 'Marketing', csvPath: csv(text), partial: false })).finished;
    expect(run.status).toBe('failed');
    expect(run.summary).toContain(message);
  });

  it('refuses a physical campaign for an eGift batch', async () => {
    env = await startOrchestration();
    const run = await (await env.orchestrator.start('batch', { campaign: 'Branded Yeti Mug', group: 'Marketing', csvPath: csv('email\na@example.com\n'), partial: false })).finished;
    expect(run.summary).toBe('Branded Yeti Mug (touch 8936) is a physical campaign; this needs an eGift campaign (delivery type "email").');
  });
});
