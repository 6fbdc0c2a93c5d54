/**
 * @module Seed files: the JSON that fills a fresh sandbox. Validated with zod; times may be
 * absolute ISO 8601 or relative to the sandbox's start ("-34d", "+30d", "-3h", "now") so a seed
 * keeps telling the same story ("a send from last month") whenever it is loaded.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { GiftingError, parseUnitsToCents } from '../domain/index.js';
import type { Cents } from '../domain/index.js';
import defaultSeedJson from './seed/default-seed.json' with { type: 'json' };

const RELATIVE = /^([+-])(\d+)([dhms])$/;
const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;

/** A seed time as written: ISO 8601, "now", or a signed offset such as "-34d". */
const seedTime = z.string().refine((s) => s === 'now' || RELATIVE.test(s) || !Number.isNaN(Date.parse(s)), {
  message: 'expected an ISO 8601 time, "now", or an offset such as "-34d", "+3h"',
});

/** Resolves a seed time against the moment the sandbox was seeded. */
export function resolveSeedTime(value: string, nowMs: number): number {
  if (value === 'now') return nowMs;
  const match = RELATIVE.exec(value);
  if (match) {
    const [, sign, amount, unit] = match as unknown as [string, '+' | '-', string, keyof typeof UNIT_MS];
    return nowMs + (sign === '-' ? -1 : 1) * Number(amount) * UNIT_MS[unit];
  }
  return Date.parse(value);
}

const seedMoney = z.union([z.string(), z.number()]).transform((v, ctx): Cents => {
  const parsed = parseUnitsToCents(v);
  if (parsed === undefined) {
    ctx.addIssue({ code: 'custom', message: `not an amount: ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return parsed;
});

const recipient = z.strictObject({
  name: z.string(),
  email: z.string(),
  companyName: z.string().nullable().optional(),
});

export const sendKinds = ['egift', 'physical', 'address_collection', 'egift_link'] as const;
export type SendKind = (typeof sendKinds)[number];

export const seedSchema = z.strictObject({
  $comment: z.string().optional(),
  team: z.strictObject({ id: z.number().int(), name: z.string() }),
  oauthClients: z
    .array(
      z.strictObject({
        clientId: z.string().min(1),
        clientSecret: z.string().min(1),
        redirectUris: z.array(z.string()).default([]),
      }),
    )
    .min(1),
  /** The user whose account the sandbox's OAuth tokens act for. */
  apiUserId: z.number().int(),
  groups: z.array(
    z.strictObject({
      id: z.number().int(),
      name: z.string().min(1),
      budget: seedMoney,
      monthlyBudget: seedMoney.nullable().default(null),
      oneTimeBudget: seedMoney.nullable().default(null),
      rollover: z.boolean().default(false),
      createdAt: seedTime.default('-365d'),
    }),
  ),
  users: z.array(
    z.strictObject({
      id: z.number().int(),
      firstName: z.string(),
      lastName: z.string(),
      email: z.string(),
      role: z.enum(['regular', 'manager', 'admin']).default('regular'),
      balance: seedMoney,
      teamGroupId: z.number().int(),
      sandbox: z.boolean().default(false),
    }),
  ),
  touches: z.array(
    z.strictObject({
      id: z.number().int(),
      name: z.string().min(1),
      deliveryType: z.enum(['mail', 'email']),
      description: z.string().default(''),
      /** What a physical send costs (Sendoso does not publish it; the sandbox charges it). */
      cost: seedMoney.optional(),
      /** eGift denomination range; a fixed price has min = max. */
      egiftPrice: z.strictObject({ min: seedMoney, max: seedMoney }).optional(),
      startDate: seedTime.nullable().default(null),
      endDate: seedTime.nullable().default(null),
      status: z.string().default('Active'),
      shipToCountries: z.array(z.string()).default(['US']),
      currency: z.string().default('USD'),
      giftId: z.number().int().nullable().default(null),
      createdBy: z.number().int().nullable().default(null),
      createdAt: seedTime.default('-365d'),
      type: z.string().default('Inventoried Sends'),
      subtype: z.string().default('Custom'),
    }),
  ),
  sends: z
    .array(
      z.strictObject({
        id: z.number().int(),
        touchId: z.number().int(),
        kind: z.enum(sendKinds),
        senderId: z.number().int(),
        cost: seedMoney,
        createdAt: seedTime,
        recipient,
        status: z.string(),
        statusUpdates: z.array(z.strictObject({ status: z.string(), at: seedTime })).optional(),
        /** For an address collection still "Confirming Address": when the form lapses. */
        expireAfterDays: z.number().int().min(1).optional(),
        sentVia: z.string().default('Sendoso.com'),
      }),
    )
    .default([]),
});

export type Seed = z.output<typeof seedSchema>;

/** The seed that ships with giftguard: the stories in the README. */
export function defaultSeed(): Seed {
  return parseSeed(defaultSeedJson, 'the built-in seed');
}

/** The built-in seed as JSON text, for users who want a starting point for their own. */
export function defaultSeedText(): string {
  return `${JSON.stringify(defaultSeedJson, null, 2)}\n`;
}

/** Validates seed JSON, checking cross-references (a send's touch exists, ids are unique). */
export function parseSeed(json: unknown, source = 'seed'): Seed {
  const parsed = seedSchema.safeParse(json);
  if (!parsed.success) {
    throw new GiftingError('config', `${source} is not a valid sandbox seed:\n${z.prettifyError(parsed.error)}`);
  }
  const seed = parsed.data;
  const problems: string[] = [];
  const unique = (label: string, ids: number[]) => {
    const seen = new Set<number>();
    for (const id of ids) {
      if (seen.has(id)) problems.push(`${label} id ${id} appears twice`);
      seen.add(id);
    }
    return seen;
  };
  const groups = unique('group', seed.groups.map((g) => g.id));
  const users = unique('user', seed.users.map((u) => u.id));
  const touches = unique('touch', seed.touches.map((t) => t.id));
  unique('send', seed.sends.map((s) => s.id));
  if (!users.has(seed.apiUserId)) problems.push(`apiUserId ${seed.apiUserId} is not a user`);
  for (const u of seed.users) if (!groups.has(u.teamGroupId)) problems.push(`user ${u.id} names unknown group ${u.teamGroupId}`);
  for (const t of seed.touches) {
    if (t.deliveryType === 'email' && !t.egiftPrice) problems.push(`eGift touch ${t.id} needs egiftPrice`);
    if (t.deliveryType === 'mail' && t.cost === undefined) problems.push(`physical touch ${t.id} needs cost`);
  }
  for (const s of seed.sends) {
    if (!touches.has(s.touchId)) problems.push(`send ${s.id} names unknown touch ${s.touchId}`);
    if (!users.has(s.senderId)) problems.push(`send ${s.id} names unknown sender ${s.senderId}`);
  }
  if (problems.length > 0) throw new GiftingError('config', `${source} is not a valid sandbox seed:\n- ${problems.join('\n- ')}`);
  return seed;
}

/** Reads and validates a seed file. */
export async function loadSeedFile(path: string): Promise<Seed> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new GiftingError('config', `Cannot read seed file ${path}: ${(cause as Error).message}`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new GiftingError('config', `Seed file ${path} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  return parseSeed(json, path);
}
