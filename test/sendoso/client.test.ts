/**
 * The real Sendoso client against the embedded sandbox over HTTP: every documented operation,
 * the exact nested request bodies, pagination past 100 items, and money parsed into cents.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { groupId, touchId } from '../../src/domain/index.js';
import { defaultSeed } from '../../src/sandbox/index.js';
import type { Seed } from '../../src/sandbox/index.js';
import { control, startSandboxWithClient } from '../support/sandbox-client.js';
import type { SandboxWithClient } from '../support/sandbox-client.js';
import { egift, physical, addressCollection, egiftLinks } from '../support/sends.js';

let env: SandboxWithClient;
beforeEach(async () => {
  env = await startSandboxWithClient();
});
afterEach(async () => {
  await env.close();
});

const lastBody = () => env.sent.filter((r) => r.method === 'POST').at(-1)?.body;

describe('reads', () => {
  it('GET /me: the API user with balances in cents', async () => {
    const me = await env.client.me.retrieve();
    expect(me).toMatchObject({ id: 501, firstName: 'Jordan', email: 'jordan.lee@acme-robotics.example', role: 'manager', balance: 500_000 });
    expect(Number.isInteger(me.teamBalance)).toBe(true);
  });

  it('GET /users: active users with typed ids', async () => {
    const page = await env.client.users.list({ perPage: 3 });
    expect(page).toMatchObject({ page: 1, perPage: 3, total: 10 });
    expect(page.items).toHaveLength(3);
    expect(page.items[0]).toEqual({ id: 501, firstName: 'Jordan', lastName: 'Lee', email: 'jordan.lee@acme-robotics.example', teamGroupId: 101 });
  });

  it('GET /groups: budgets parsed from integers and strings into cents', async () => {
    const groups = [];
    for await (const g of env.client.groups.listAll()) groups.push(g);
    const enterprise = groups.find((g) => g.name === 'Enterprise Sales');
    expect(enterprise).toMatchObject({ id: 101, budget: 500_000, monthlyBudget: 500_000, oneTimeBudget: null, teamId: 4201 });
    expect(groups.map((g) => g.name)).toEqual(['Enterprise Sales', 'Sales Development', 'New Hires Q3', 'Marketing', 'People Ops']);
  });

  it('GET /groups/{id}/members: the bare array, balances in cents', async () => {
    const members = await env.client.groups.listMembers(groupId(103));
    expect(members.map((m) => m.firstName)).toEqual(['Priya', 'Marcus', 'Elena', 'Tom']);
    expect(members[0]).toMatchObject({ balance: 0, teamGroupId: 103, teamId: 4201, sandbox: false });
    expect(members[0]!.key).toMatch(/^[0-9a-f]{32}$/);
  });

  it('GET /groups/{id}/members for an unknown group: 404 "Group not found!"', async () => {
    await expect(env.client.groups.listMembers(groupId(999))).rejects.toMatchObject({ code: 'not_found', status: 404, upstreamMessage: 'Group not found!' });
  });

  it('GET /touches with the delivery_type filter', async () => {
    const all = await env.client.touches.list();
    const mail = await env.client.touches.list({ deliveryType: 'mail' });
    const email = await env.client.touches.list({ deliveryType: 'email' });
    // Eight campaigns in the seed; the closed Holiday Cookie Tin and the not-yet-open Kickoff Hoodie are not active.
    expect(all.total).toBe(6);
    expect(all.items.map((t) => t.name)).not.toContain('Holiday Cookie Tin 2025');
    expect(all.items.map((t) => t.name)).not.toContain('Q1 Kickoff Hoodie');
    expect(mail.items.every((t) => t.deliveryType === 'mail')).toBe(true);
    expect(email.items.map((t) => t.name)).toEqual(['Q3 Webinar Attendees', 'Amazon eGift 10', 'Coffee eGift']);
    expect(mail.total + email.total).toBe(all.total);
    expect(email.items[0]).toMatchObject({ startingEgiftPrice: 2500, endingEgiftPrice: 2500, currency: 'USD' });
  });

  it('GET /touches/{id}: one campaign, and "Touch not found" for an unknown one', async () => {
    const touch = await env.client.touches.retrieve(touchId(8934));
    expect(touch).toMatchObject({ id: 8934, name: 'Executive Whiskey Set', deliveryType: 'mail', shipToCountries: ['US', 'CA', 'GB'] });
    await expect(env.client.touches.retrieve(touchId(1))).rejects.toMatchObject({ status: 404, upstreamMessage: 'Touch not found' });
    // Closed and future campaigns answer as Sendoso answers a send to them.
    for (const closedOrFuture of [8940, 8941]) {
      await expect(env.client.touches.retrieve(touchId(closedOrFuture))).rejects.toMatchObject({ status: 404, upstreamMessage: 'Touch not found' });
    }
    // The window is judged by the sandbox's clock: once the Hoodie opens, it is listed and found.
    env.clock.advance(31 * 86_400_000);
    expect(await env.client.touches.retrieve(touchId(8941))).toMatchObject({ name: 'Q1 Kickoff Hoodie', status: 'Active' });
  });

  it('GET /send: history newest first, costs in cents, status updates', async () => {
    const page = await env.client.sends.list({ perPage: 100 });
    expect(page.total).toBe(12);
    const created = page.items.map((s) => Date.parse(s.createdAt));
    expect(created).toEqual([...created].sort((a, b) => b - a));
    const priya = page.items.find((s) => s.recipient.email === 'priya.shah@acme-robotics.example')!;
    expect(priya).toMatchObject({ status: 'Delivered', currentTotalCost: 4500, touch: { id: 8935, name: 'Welcome Swag Box' } });
    expect(priya.statusUpdates.map((u) => u.status)).toEqual(['Confirming Address', 'Order Received', 'Processing', 'Shipped', 'Delivered']);
    expect(page.items.filter((s) => s.status === 'Confirming Address')).toHaveLength(3);
  });
});

describe('pagination', () => {
  function seedWithSends(count: number): Seed {
    const seed = defaultSeed();
    const template = seed.sends[0]!;
    const sends = Array.from({ length: count }, (_, i) => ({
      ...template,
      id: 60_000 + i,
      createdAt: `-${i + 1}h`,
      recipient: { name: `Person ${i}`, email: `person${i}@example.com`, companyName: null },
      statusUpdates: undefined,
    }));
    return { ...seed, sends };
  }

  it('walks more than 100 items page by page, each item once', async () => {
    await env.close();
    env = await startSandboxWithClient({ seed: seedWithSends(250) });
    const emails: string[] = [];
    for await (const send of env.client.sends.listAll()) emails.push(send.recipient.email!);
    expect(emails).toHaveLength(250);
    expect(new Set(emails).size).toBe(250);
    const pages = env.sent.filter((r) => r.url.includes('/send?')).map((r) => new URL(r.url).searchParams.get('page'));
    expect(pages).toEqual(['1', '2', '3']);
    expect(env.sent.every((r) => !r.url.includes('/send?') || new URL(r.url).searchParams.get('per_page') === '100')).toBe(true);
  });

  it('does not repeat an item when a send is created between pages', async () => {
    await env.close();
    env = await startSandboxWithClient({ seed: seedWithSends(150) });
    const ids: number[] = [];
    for await (const send of env.client.sends.listAll()) {
      ids.push(send.id);
      if (ids.length === 1) await egift(env.client, { touch_id: 8938, email: 'late@example.com' });
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(150);
  });
});

describe('POST /send in its three shapes', () => {
  it('eGift: single_email_address with the exact nested body, charged at the eGift price', async () => {
    const before = (await env.client.groups.list()).items.find((g) => g.id === 101)!.budget;
    const { data } = await egift(env.client, { touch_id: 8937, email: 'attendee@example.com', name: 'Ada Attendee', custom_message: 'Thanks for joining!' });
    expect(lastBody()).toEqual({
      send: {
        touch_id: 8937,
        email: 'attendee@example.com',
        name: 'Ada Attendee',
        custom_message: 'Thanks for joining!',
        via: 'single_email_address',
        via_from: 'giftguard-tests',
      },
    });
    expect(data.trackingCode).toMatch(/^[0-9a-f]{40}$/);
    expect(data.trackingUrl).toContain(data.trackingCode);
    expect(data.message).toBe('EGifts send Successfully');
    const after = (await env.client.groups.list()).items.find((g) => g.id === 101)!.budget;
    expect(before - after).toBe(2500);
  });

  it('physical with address: single_person_or_company, confirm_address false', async () => {
    const { data } = await physical(env.client, {
      touch_id: 8934,
      name: 'Sarah Connor',
      email: 'sarah@cyberdyne.example',
      address: '639 Front St, Floor 3',
      city: 'San Francisco',
      state: 'CA',
      zip: '94111',
      country: 'USA',
      custom_message: 'Looking forward to working together',
    });
    expect(lastBody()).toEqual({
      send: {
        touch_id: 8934,
        name: 'Sarah Connor',
        email: 'sarah@cyberdyne.example',
        address: '639 Front St, Floor 3',
        city: 'San Francisco',
        state: 'CA',
        zip: '94111',
        country: 'USA',
        custom_message: 'Looking forward to working together',
        confirm_address: false,
        via: 'single_person_or_company',
        via_from: 'giftguard-tests',
      },
    });
    expect(data.message).toBe('Gift send Successfully');
    const sends = await env.client.sends.list();
    expect(sends.items[0]).toMatchObject({ status: 'Order Received', currentTotalCost: 15_000, recipient: { email: 'sarah@cyberdyne.example' } });
  });

  it('physical with address collection: no_address and confirm_address true', async () => {
    await addressCollection(env.client, { touch_id: 8934, name: 'Sarah Connor', email: 'sarah@cyberdyne.example', expire_after_days: 7 });
    expect(lastBody()).toEqual({
      send: {
        touch_id: 8934,
        name: 'Sarah Connor',
        email: 'sarah@cyberdyne.example',
        no_address: true,
        confirm_address: true,
        address_confirmation_via: 'email',
        resume_with_unconfirmed_address: false,
        expire_after_days: 7,
        hide_product_info: false,
        via: 'single_person_or_company',
        via_from: 'giftguard-tests',
      },
    });
    const sends = await env.client.sends.list();
    expect(sends.items[0]).toMatchObject({ status: 'Confirming Address', touch: { name: 'Executive Whiskey Set' } });
  });

  it('link-mode address collection returns the confirmation link', async () => {
    const { data } = await addressCollection(env.client, {
      touch_id: 8936,
      name: 'Miles Dyson',
      email: 'miles@cyberdyne.example',
      expire_after_days: 3,
      address_confirmation_via: 'link',
    });
    expect(data.addressConfirmationLink).toMatch(/confirm-address\/[0-9a-f]{40}$/);
  });

  it('a non-US address without mobile_no is refused and not sent', async () => {
    const before = (await env.client.sends.list()).total;
    await expect(
      physical(env.client, { touch_id: 8934, name: 'Kim', email: 'kim@example.ca', address: '1 Rue', city: 'Montréal', state: 'QC', zip: 'H2X', country: 'CA' }),
    ).rejects.toMatchObject({ status: 400, upstreamMessage: 'mobile_no is required for addresses outside the US', outcome: 'not_sent' });
    expect((await env.client.sends.list()).total).toBe(before);
  });
});

describe('POST /send/generate_egift_links', () => {
  it('posts recipient_users as {email} objects and returns one link per recipient', async () => {
    const { data } = await egiftLinks(env.client, 8938, ['a@example.com', 'b@example.com']);
    expect(lastBody()).toEqual({
      send: { touch_id: 8938, via: 'generate_egift_links', via_from: 'giftguard-tests', recipient_users: [{ email: 'a@example.com' }, { email: 'b@example.com' }] },
    });
    expect(data.message).toBe('Success! Here are your 2 eGift Card links:');
    expect(data.links.map((l: any) => l.recipient)).toEqual(['a@example.com', 'b@example.com']);
    expect(data.links.every((l: any) => /^https:\/\/sendo\.so\/g\/\S+$/.test(l.link))).toBe(true);
    expect(data.expirationDays).toBe(30);
  });

  it('refuses a physical campaign', async () => {
    await expect(egiftLinks(env.client, 8934, ['a@example.com'])).rejects.toMatchObject({
      status: 400,
      upstreamMessage: 'This touch is not an eGift campaign',
    });
  });
});

describe('POST /users', () => {
  it('invites a user into a group (201, pending) who then is not yet listed', async () => {
    const invitation = await env.client.users.invite({ firstName: 'Nia', lastName: 'Long', email: 'nia@acme-robotics.example', role: 'regular', teamGroupId: groupId(103) });
    expect(invitation).toMatchObject({ receiverEmail: 'nia@acme-robotics.example', teamGroupId: 103, role: 'regular', invitationStatus: 'pending' });
    expect(lastBody()).toEqual({ user: { first_name: 'Nia', last_name: 'Long', email: 'nia@acme-robotics.example', role: 'regular', team_group_id: 103 } });
    expect((await env.client.users.list()).total).toBe(10);
  });

  it('uses Sendoso\'s documented messages for a bad role and an unknown group', async () => {
    const base = { firstName: 'A', lastName: 'B', email: 'ab@example.com', teamGroupId: groupId(101) } as const;
    await expect(env.client.users.invite({ ...base, role: 'owner' as 'regular' })).rejects.toMatchObject({ upstreamMessage: 'Role can be one of these: manager,regular' });
    await expect(env.client.users.invite({ ...base, role: 'regular', teamGroupId: groupId(9) })).rejects.toMatchObject({ upstreamMessage: 'Please enter a valid team group' });
  });
});

describe('campaign windows', () => {
  it('honours start and end dates: "Touch not found" outside them', async () => {
    await expect(physical(env.client, { touch_id: 8940, name: 'A', email: 'a@example.com', address: '1 Main', city: 'X', state: 'NY', zip: '1', country: 'US' })).rejects.toMatchObject({
      status: 404,
      upstreamMessage: 'Touch not found',
    });
    const future = { touch_id: 8941, name: 'A', email: 'a@example.com', expire_after_days: 3 };
    await expect(addressCollection(env.client, future)).rejects.toMatchObject({ status: 404, upstreamMessage: 'Touch not found' });
    await control(env.sandbox, 'POST', '/clock/advance', { days: 31 });
    await expect(addressCollection(env.client, future)).resolves.toBeDefined();
  });
});

describe('control endpoints', () => {
  it('are off unless enabled', async () => {
    await env.close();
    env = await startSandboxWithClient({ control: false });
    const response = await fetch(`${env.sandbox.url}/__sandbox/sends`);
    expect(response.status).toBe(404);
  });
});
