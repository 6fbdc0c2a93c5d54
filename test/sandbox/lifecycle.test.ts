/**
 * Send lifecycles run on the sandbox's virtual clock: advancing it shows exactly what that much
 * real time would have produced, including address-collection expiry and its refund.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { groupId } from '../../src/domain/index.js';
import { control, startSandboxWithClient } from '../support/sandbox-client.js';
import type { SandboxWithClient } from '../support/sandbox-client.js';
import { egift, physical, addressCollection } from '../support/sends.js';

let env: SandboxWithClient;
beforeEach(async () => {
  env = await startSandboxWithClient();
});
afterEach(async () => {
  await env.close();
});

const DAY = 86_400_000;
const sendTo = async (email: string) => (await env.client.sends.list({ perPage: 100 })).items.find((s) => s.recipient.email === email)!;
const budget = async (id: number) => (await env.client.groups.list()).items.find((g) => g.id === id)!.budget;

describe('address collection', () => {
  it('expires to "Address Confirmation - Cancelled" once the clock passes expire_after_days, and refunds', async () => {
    env.clock.advance(4 * DAY); // let the seed's own pending collections lapse first
    const before = await budget(101);
    await addressCollection(env.client, { touch_id: 8934, name: 'Sarah Connor', email: 'sarah@cyberdyne.example', expire_after_days: 3 });
    expect(await budget(101)).toBe(before - 15_000);

    env.clock.advance(3 * DAY - 1);
    expect((await sendTo('sarah@cyberdyne.example')).status).toBe('Confirming Address');

    env.clock.advance(1);
    const expired = await sendTo('sarah@cyberdyne.example');
    expect(expired.status).toBe('Address Confirmation - Cancelled');
    expect(expired.statusUpdates.map((u) => u.status)).toEqual(['Confirming Address', 'Address Confirmation - Cancelled']);
    expect(expired.currentTotalCost).toBe(0);
    expect(await budget(101)).toBe(before);
  });

  it('the control endpoint advances the virtual clock the same way', async () => {
    await addressCollection(env.client, { touch_id: 8936, name: 'Miles', email: 'miles@cyberdyne.example', expire_after_days: 2 });
    await control(env.sandbox, 'POST', '/clock/advance', { days: 2 });
    expect((await sendTo('miles@cyberdyne.example')).status).toBe('Address Confirmation - Cancelled');
  });

  it('a confirmed address moves on to Order Received → Processing → Shipped → Delivered', async () => {
    await addressCollection(env.client, { touch_id: 8934, name: 'Sarah Connor', email: 'sarah@cyberdyne.example', expire_after_days: 7 });
    const id = (await sendTo('sarah@cyberdyne.example')).id;
    env.clock.advance(DAY);
    await control(env.sandbox, 'POST', `/sends/${id}/confirm-address`, { address: '1 Tech Way', city: 'Los Angeles', state: 'CA', zip: '90001', country: 'US' });
    expect((await sendTo('sarah@cyberdyne.example')).status).toBe('Order Received');
    env.clock.advance(10 * DAY);
    const delivered = await sendTo('sarah@cyberdyne.example');
    expect(delivered.statusUpdates.map((u) => u.status)).toEqual(['Confirming Address', 'Order Received', 'Processing', 'Shipped', 'Delivered']);
    expect(delivered.currentTotalCost).toBe(15_000);
  });

  it('cannot be confirmed after it expired', async () => {
    await addressCollection(env.client, { touch_id: 8934, name: 'S', email: 's@example.com', expire_after_days: 2 });
    const id = (await sendTo('s@example.com')).id;
    env.clock.advance(3 * DAY);
    await expect(control(env.sandbox, 'POST', `/sends/${id}/confirm-address`, {})).rejects.toThrow(/409/);
  });

  it('seeded sends stuck in Confirming Address expire on their own schedule', async () => {
    expect((await sendTo('kyle.reese@techcom.example')).status).toBe('Confirming Address');
    env.clock.advance(2 * DAY); // created 5 days ago with 7 days to confirm
    expect((await sendTo('kyle.reese@techcom.example')).status).toBe('Address Confirmation - Cancelled');
    expect((await sendTo('miles.dyson@cyberdyne.example')).status).toBe('Confirming Address');
  });
});

describe('eGifts and physical sends', () => {
  it('an eGift goes Sent → Opened → Clicked and then Redeemed or Expired', async () => {
    const emails = ['e1@example.com', 'e2@example.com', 'e3@example.com', 'e4@example.com', 'e5@example.com', 'e6@example.com'];
    for (const email of emails) await egift(env.client, { touch_id: 8938, email });
    expect((await sendTo('e1@example.com')).status).toBe('Sent');
    env.clock.advance(2 * 3_600_000);
    expect((await sendTo('e1@example.com')).status).toBe('Opened');
    env.clock.advance(91 * DAY);
    const finals = await Promise.all(emails.map(sendTo));
    for (const send of finals) {
      expect(send.statusUpdates.map((u) => u.status).slice(0, 3)).toEqual(['Sent', 'Opened', 'Clicked']);
      expect(['Redeemed', 'Expired']).toContain(send.status);
    }
    expect(new Set(finals.map((s) => s.status)).size).toBe(2); // both fates occur
  });

  it('a physical send with an address is delivered within five days', async () => {
    await physical(env.client, { touch_id: 8936, name: 'P', email: 'p@example.com', address: '1 Main', city: 'Austin', state: 'TX', zip: '73301', country: 'US' });
    env.clock.advance(5 * DAY);
    expect((await sendTo('p@example.com')).statusUpdates.map((u) => u.status)).toEqual(['Order Received', 'Processing', 'Shipped', 'Delivered']);
  });
});

describe('charges', () => {
  it('charge the sender\'s group budget and personal balance', async () => {
    const me = await env.client.me.retrieve();
    const members = await env.client.groups.listMembers(groupId(101));
    const before = { group: await budget(101), balance: me.balance, member: members.find((m) => m.id === me.id)!.balance };
    await egift(env.client, { touch_id: 8939, email: 'coffee@example.com' });
    const after = await env.client.me.retrieve();
    expect(before.group - (await budget(101))).toBe(5_000); // the top of the 5–50 range
    expect(before.balance - after.balance).toBe(5_000);
    expect((await sendTo('coffee@example.com')).currentTotalCost).toBe(5_000);
  });

  it('a send the group cannot afford is held, not charged', async () => {
    env.clock.advance(4 * DAY); // let the seed's own pending collections lapse and refund first
    let sent = 0;
    while ((await budget(101)) >= 15_000) {
      await addressCollection(env.client, { touch_id: 8934, name: `N${sent}`, email: `n${sent}@example.com`, expire_after_days: 7 });
      sent += 1;
    }
    const left = await budget(101);
    expect(sent).toBeGreaterThan(30);
    await addressCollection(env.client, { touch_id: 8934, name: 'Over', email: 'over@example.com', expire_after_days: 7 });
    expect(await sendTo('over@example.com')).toMatchObject({ status: 'On Hold - Insufficient Funds', currentTotalCost: 0 });
    expect(await budget(101)).toBe(left);
  });
});
