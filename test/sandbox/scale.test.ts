/**
 * The sandbox's own cost does not grow with its history: a request reads the sends it answers
 * with and the sends whose lifecycle steps fell due, not every send it remembers; GET /send pages
 * come newest first in exactly the order a full sort gives, same-millisecond sends included; and
 * lifecycle steps alone do not rewrite the state file. Structural checks, no wall-clock timing:
 * reads of `state.sends` are counted through a proxy, and the pending-step heap is inspected.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/index.js';
import { defaultSeedText, newWebhookSecret, parseSeed, startSandbox } from '../../src/sandbox/index.js';
import type { RunningSandbox, SandboxSend, SandboxState, Seed } from '../../src/sandbox/index.js';
import { sendIndex } from '../../src/sandbox/send-index.js';
import { stateFromSeed } from '../../src/sandbox/state.js';
import { control, startSandboxWithClient } from '../support/sandbox-client.js';
import type { SandboxWithClient } from '../support/sandbox-client.js';
import { addressCollection, egift } from '../support/sends.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let env: SandboxWithClient | undefined;
let hook: Server | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
  await new Promise((resolve) => (hook ? hook.close(resolve) : resolve(undefined)));
  hook = undefined;
});

/** A deterministic shuffle, so seeds list their sends out of time order. */
function shuffled<T>(items: T[]): T[] {
  let x = 42;
  for (let i = items.length - 1; i > 0; i--) {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    const j = x % (i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/**
 * The built-in seed plus `finished` sends that are over (Redeemed eGifts, many sharing a minute),
 * in shuffled order, plus `pending` address collections still waiting, the k-th lapsing k hours
 * after the seed is loaded (the built-in seed's own lapse days later).
 */
function bigSeed(finished: number, pending = 0): Seed {
  const json = JSON.parse(defaultSeedText());
  const sends = [];
  for (let i = 0; i < finished; i++) {
    sends.push({ id: 100_000 + i, touchId: 8938, kind: 'egift', senderId: 502, cost: '10.00', createdAt: `-${1 + (i % 997)}m`, recipient: { name: `R${i}`, email: `r${i}@example.com` }, status: 'Redeemed' });
  }
  for (let k = 1; k <= pending; k++) {
    sends.push({ id: 200_000 + k, touchId: 8934, kind: 'address_collection', senderId: 501, cost: '150.00', createdAt: `-${7 * 24 - k}h`, recipient: { name: `P${k}`, email: `p${k}@example.com` }, status: 'Confirming Address', expireAfterDays: 7 });
  }
  json.sends.push(...shuffled(sends));
  return parseSeed(json);
}

/** Counts reads of elements of `state.sends` from here on. */
function countReads(state: SandboxState): { readonly count: number; reset(): void } {
  let count = 0;
  state.sends = new Proxy(state.sends, {
    get(target, key, receiver) {
      if (typeof key === 'string' && /^\d+$/.test(key)) count++;
      return Reflect.get(target, key, receiver);
    },
  });
  return {
    get count() {
      return count;
    },
    reset: () => (count = 0),
  };
}

/** Sendoso's order, computed the slow way: a stable sort of every send. */
const referenceOrder = (state: SandboxState) => [...state.sends].sort((a, b) => b.createdAt - a.createdAt || b.id - a.id).map((s) => s.id);

async function allPagesNewestFirst(sandbox: RunningSandbox, token: string, perPage: number): Promise<number[]> {
  const ids: number[] = [];
  for (let page = 1; ; page++) {
    const response = await fetch(`${sandbox.apiBaseUrl}/send?page=${page}&per_page=${perPage}`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await response.json()) as { total_count: number; sends: { id: number }[] };
    expect(body.total_count).toBe(sandbox.state.sends.length);
    if (body.sends.length === 0) return ids;
    ids.push(...body.sends.map((s) => s.id));
  }
}

/** A webhook endpoint that accepts everything. */
async function acceptingEndpoint(): Promise<string> {
  hook = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(204).end());
  });
  await new Promise<void>((resolve) => hook!.listen(0, '127.0.0.1', resolve));
  const address = hook.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
}

/** What the heap should hold, computed the slow way. */
function pendingTheSlowWay(state: SandboxState) {
  const pending = state.sends.filter((s) => s.plan.length > 0);
  return { count: pending.length, nextAt: pending.length === 0 ? undefined : Math.min(...pending.map((s) => s.plan[0]!.at)) };
}

describe('per-request cost', () => {
  it('a request reads the sends it answers with and the ones due, not all 20,000', async () => {
    env = await startSandboxWithClient({ seed: bigSeed(20_000, 5) });
    const { sandbox, client, clock } = env;
    sandbox.configureWebhooks({ url: await acceptingEndpoint(), secret: newWebhookSecret() });
    const index = sendIndex(sandbox.state);
    expect(index.pendingCount).toBe(8); // the built-in seed's three waiting collections and our five
    const reads = countReads(sandbox.state);

    const page = await client.sends.list({ page: 7, perPage: 10 });
    expect(page.items).toHaveLength(10);
    expect(reads.count).toBeLessThanOrEqual(10 + 5);

    reads.reset();
    await egift(client, { touch_id: 8938, email: 'new@example.com' });
    expect(reads.count).toBeLessThanOrEqual(20);
    expect(index.pendingCount).toBe(9);

    // 3.5 hours: collections 1–3 lapse and the new eGift is opened and clicked, each step on its
    // own timer (webhooks are on) — and each wake-up reads only what fell due.
    reads.reset();
    const delivered = sandbox.webhookDeliveries().length;
    clock.advance(3.5 * HOUR);
    await client.sends.list({ perPage: 1 });
    expect(reads.count).toBeLessThanOrEqual(40);
    const byEmail = (email: string) => sandbox.state.sends.find((s) => s.recipient.email === email)!;
    expect([1, 2, 3, 4, 5].map((k) => byEmail(`p${k}@example.com`).status)).toEqual([
      'Address Confirmation - Cancelled',
      'Address Confirmation - Cancelled',
      'Address Confirmation - Cancelled',
      'Confirming Address',
      'Confirming Address',
    ]);
    expect(byEmail('new@example.com').status).toBe('Clicked');
    const announced = sandbox.webhookDeliveries().slice(delivered).map((d) => d.status);
    expect(announced.sort()).toEqual(['Address Confirmation - Cancelled', 'Address Confirmation - Cancelled', 'Address Confirmation - Cancelled', 'Clicked', 'Opened']);
    expect(index.pendingCount).toBe(6);
  });

  it('the pending-step heap holds exactly the sends with future steps, through confirmations and expiries', async () => {
    env = await startSandboxWithClient({ seed: bigSeed(2_000, 4) });
    const { sandbox, client, clock } = env;
    const index = sendIndex(sandbox.state);
    const check = () => {
      const slow = pendingTheSlowWay(sandbox.state);
      expect(index.pendingCount).toBe(slow.count);
      expect(index.nextDueAt()).toBe(slow.nextAt);
    };
    check();
    for (let i = 0; i < 3; i++) await egift(client, { touch_id: 8938, email: `e${i}@example.com` });
    await addressCollection(client, { touch_id: 8934, name: 'Sarah Connor', email: 'sarah@cyberdyne.example', expire_after_days: 7 });
    check();

    // Confirming moves the send's next step from its lapse (7 days) to Processing (1 day): the old
    // heap entry goes stale, the send is counted once, and it is Processing a day later.
    const sarah = sandbox.state.sends.find((s) => s.recipient.email === 'sarah@cyberdyne.example')!;
    await control(sandbox, 'POST', `/sends/${sarah.id}/confirm-address`, {});
    check();
    clock.advance(DAY);
    await client.sends.list({ perPage: 1 });
    expect(sarah.status).toBe('Processing');
    check();

    clock.advance(2 * HOUR); // collection 1 of the seed lapses
    await client.sends.list({ perPage: 1 });
    check();
    clock.advance(100 * DAY);
    await client.sends.list({ perPage: 1 });
    check();
    expect(index.pendingCount).toBe(0);
    expect(index.heapSize).toBe(0);
  });
});

describe('GET /send order', () => {
  it('pages newest first exactly as a full sort of every send would, same-millisecond sends included', async () => {
    env = await startSandboxWithClient({ seed: bigSeed(2_500, 3) });
    const { sandbox, client, clock } = env;
    // Thirty sends in one millisecond of the virtual clock, then some more a minute later.
    for (let i = 0; i < 30; i++) await egift(client, { touch_id: 8938, email: `same${i}@example.com` });
    clock.advance(60_000);
    for (let i = 0; i < 5; i++) await egift(client, { touch_id: 8939, email: `later${i}@example.com` });
    const token = sandbox.issueToken().access_token;

    const expected = referenceOrder(sandbox.state);
    expect(new Set(sandbox.state.sends.filter((s) => s.recipient.email.startsWith('same')).map((s) => s.createdAt)).size).toBe(1);
    expect(await allPagesNewestFirst(sandbox, token, 100)).toEqual(expected);
    expect(await allPagesNewestFirst(sandbox, token, 7)).toEqual(expected);
    const beyond = await fetch(`${sandbox.apiBaseUrl}/send?page=100000&per_page=100`, { headers: { authorization: `Bearer ${token}` } });
    expect(((await beyond.json()) as { sends: unknown[] }).sends).toEqual([]);
  });

  it('keeps the full-sort order for a send older than the newest (a clock stepped back) and for duplicate keys', () => {
    const state = stateFromSeed(bigSeed(500), Date.UTC(2026, 0, 15));
    const index = sendIndex(state);
    const newest = () => index.newestFirst(0, state.sends.length).map((s) => s.id);
    expect(newest()).toEqual(referenceOrder(state));

    const like = (send: SandboxSend, id: number, createdAt: number): SandboxSend => ({ ...send, id, createdAt, statusUpdates: [], plan: [] });
    const some = state.sends[17]!;
    state.sends.push(like(some, 900_001, state.sends[3]!.createdAt - 1));
    state.sends.push(like(some, 900_002, state.sends[3]!.createdAt));
    state.sends.push(like(some, some.id, some.createdAt)); // a hand-edited state file's duplicate
    expect(newest()).toEqual(referenceOrder(state));
    expect(index.newestFirst(5, 3).map((s) => s.id)).toEqual(referenceOrder(state).slice(5, 8));
    expect(index.byId(900_002)!.id).toBe(900_002);
    expect(index.byId(some.id)).toBe(some); // the first with that id, as a search from the start finds
  });
});

describe('the state file', () => {
  it('is written before a send is answered, not for lifecycle steps alone; a restart re-derives them and close writes them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'giftguard-scale-'));
    const file = join(dir, 'sandbox.json');
    env = await startSandboxWithClient({ stateFile: file });
    const { sandbox, client, clock } = env;
    const stored = () => JSON.parse(readFileSync(file, 'utf8')) as SandboxState;
    const storedSend = (email: string) => stored().sends.find((s) => s.recipient.email === email);

    await addressCollection(client, { touch_id: 8934, name: 'Sarah Connor', email: 'sarah@cyberdyne.example', expire_after_days: 2 });
    expect(storedSend('sarah@cyberdyne.example')?.status).toBe('Confirming Address');

    clock.advance(3 * DAY);
    const listed = await client.sends.list({ perPage: 100 });
    expect(listed.items.find((s) => s.recipient.email === 'sarah@cyberdyne.example')!.status).toBe('Address Confirmation - Cancelled');
    expect(storedSend('sarah@cyberdyne.example')?.status).toBe('Confirming Address');

    // A restart from that file at the same moment tells the same story, refund included.
    const copy = join(dir, 'copy.json');
    copyFileSync(file, copy);
    const again = await startSandbox({ stateFile: copy, clock: new ManualClock(clock.now()) });
    try {
      const response = await fetch(`${again.apiBaseUrl}/send?per_page=100`, { headers: { authorization: `Bearer ${again.issueToken().access_token}` } });
      const live = await client.transport.request({ method: 'GET', path: '/send', query: { per_page: 100 } });
      expect(await response.json()).toEqual(live.body);
      expect(again.state.groups.map((g) => g.budget)).toEqual(sandbox.state.groups.map((g) => g.budget));
    } finally {
      await again.close();
    }

    await env.close();
    env = undefined;
    expect(storedSend('sarah@cyberdyne.example')?.status).toBe('Address Confirmation - Cancelled');
  });
});
