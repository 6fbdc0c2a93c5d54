/**
 * @module The spend-policy file format (policies/*.yaml), validated with zod. Data only: caps,
 * allowed and blocked campaigns and recipients, approval thresholds, kill switches, dry-run and the
 * declared cost of physical campaigns. Amounts are written in currency units (150 or "150.00") and
 * become integer cents here; unknown fields are errors, so a typo cannot silently disable a cap.
 */
import { z } from 'zod';
import { parseUnitsToCents } from '../domain/index.js';
import type { Cents } from '../domain/index.js';
import type { RecipientIdentityRules } from './recipient-identity.js';
import { isValidTimeZone } from './time-windows.js';

/** A non-negative amount in currency units, as cents. */
const amount = z.union([z.number(), z.string()]).transform((value, ctx): Cents => {
  const cents = parseUnitsToCents(value);
  if (cents === undefined) {
    ctx.addIssue({ code: 'custom', message: `not an amount: ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  if (cents < 0) {
    ctx.addIssue({ code: 'custom', message: 'must not be negative' });
    return z.NEVER;
  }
  return cents;
});

const timeZone = z.string().refine(isValidTimeZone, { message: 'unknown IANA timezone (e.g. America/New_York, Europe/Berlin, UTC)' });

/** A campaign named by Sendoso touch id or by its exact name. */
const touchRef = z.union([z.number().int().positive(), z.string().min(1)]);

const domain = z
  .string()
  .min(2)
  .transform((d) => d.toLowerCase())
  .describe('A domain or suffix: "example.com" or ".gov"');

const recipientRules = z.strictObject({
  blocked_domains: z.array(domain).default([]),
  blocked_addresses: z.array(z.email().transform((e) => e.toLowerCase())).default([]),
});

const groupPolicy = z.strictObject({
  /** The Sendoso team group, by name (case-insensitive) or id. */
  group: z.union([z.string().min(1), z.number().int().positive()]),
  kill_switch: z.boolean().default(false),
  dry_run: z.boolean().default(false),
  timezone: timeZone.optional(),
  caps: z
    .strictObject({
      per_send: amount.optional(),
      per_day: amount.optional(),
      per_week: amount.optional(),
      per_month: amount.optional(),
      per_campaign_total: z.array(z.strictObject({ touch: touchRef, cap: amount })).default([]),
    })
    .default({ per_campaign_total: [] }),
  per_recipient: z
    .strictObject({
      max_value_per_year: amount.optional(),
      max_sends: z.strictObject({ count: z.number().int().min(1), per_days: z.number().int().min(1).max(3650) }).optional(),
    })
    .default({}),
  touches: z.strictObject({ allow: z.array(touchRef).optional(), block: z.array(touchRef).default([]) }).default({ block: [] }),
  recipients: recipientRules.default({ blocked_domains: [], blocked_addresses: [] }),
  approval: z
    .strictObject({
      /** Sends costing more than this need a person's approval. */
      above: amount.optional(),
      /** Who may approve (Slack user ids or names; used by the Slack trigger). */
      approvers: z.array(z.string().min(1)).default([]),
    })
    .default({ approvers: [] }),
  /**
   * Send this group's gifts as another connected sender (a Sendoso team group name or a user's
   * email) when none of its own people is connected. Sendoso then charges that sender's group.
   */
  fallback_sender: z.string().min(1).optional(),
  /** Who may start sends for this group from Slack (user ids or names). */
  triggers: z.strictObject({ slack_users: z.array(z.string().min(1)).default([]) }).default({ slack_users: [] }),
});

/** One policy file. Every file may hold groups; global settings may appear in one file only. */
export const policyFileSchema = z.strictObject({
  version: z.literal(1),
  timezone: timeZone.optional(),
  kill_switch: z.boolean().optional(),
  dry_run: z.boolean().optional(),
  /** Group charged when a caller names none (e.g. an MCP server not bound to a group). */
  default_group: z.union([z.string().min(1), z.number().int().positive()]).optional(),
  global: z.strictObject({ per_day: amount.optional() }).optional(),
  compliance: recipientRules.optional(),
  costs: z
    .array(z.strictObject({ touch: touchRef, cost: amount, currency: z.string().length(3).default('USD') }))
    .optional(),
  approvals: z.strictObject({ expire_after_hours: z.number().positive().max(24 * 30) }).optional(),
  /**
   * Sends made outside giftguard (Sendoso's web app, other tools, before giftguard): imported from
   * Sendoso's send history as observed spend, and counted by every cap and per-recipient rule.
   */
  outside_sends: z
    .strictObject({
      count: z.boolean().default(true),
      lookback_days: z.number().int().min(1).max(3650).default(365),
    })
    .optional(),
  /** How addresses fold into one person for per-recipient rules (see recipient-identity.ts). */
  recipient_identity: z
    .strictObject({
      ignore_plus_tags: z.boolean().default(true),
      dotless_domains: z.array(domain).default(['gmail.com', 'googlemail.com']),
      domain_aliases: z.record(domain, domain).default({ 'googlemail.com': 'gmail.com' }),
    })
    .optional(),
  holds: z.strictObject({ expire_after_minutes: z.number().positive().max(24 * 60) }).optional(),
  groups: z.array(groupPolicy).default([]),
});

export type PolicyFile = z.output<typeof policyFileSchema>;
export type GroupPolicy = z.output<typeof groupPolicy>;
export type TouchRef = z.output<typeof touchRef>;

/** Every policy file merged: what the guard evaluates against. */
export interface Policy {
  readonly timezone: string;
  readonly killSwitch: boolean;
  readonly dryRun: boolean;
  readonly defaultGroup: string | number | undefined;
  readonly globalPerDay: Cents | undefined;
  readonly compliance: { readonly blockedDomains: readonly string[]; readonly blockedAddresses: readonly string[] };
  readonly costs: readonly { readonly touch: TouchRef; readonly cost: Cents; readonly currency: string }[];
  readonly approvalLifetimeMs: number;
  readonly holdLifetimeMs: number;
  /** How addresses fold into one person; blocked addresses are already folded with it. */
  readonly recipientIdentity: RecipientIdentityRules;
  /** Whether sends made outside giftguard count, and how far back the history is read for them. */
  readonly outsideSends: { readonly count: boolean; readonly lookbackDays: number };
  readonly groups: readonly GroupPolicy[];
  /** Where each group was declared, for messages. */
  readonly sources: readonly string[];
  /** Every campaign named by name, with where it was named (`file:line: field`), for resolution. */
  readonly touchRefs: readonly { readonly name: string; readonly where: string }[];
  /**
   * Set once every campaign reference is a touch id resolved against the account (see
   * policy-touches.ts): what each id was called, for messages.
   */
  readonly touchLabels?: Readonly<Record<number, string>>;
}
