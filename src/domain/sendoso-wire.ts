/**
 * @module Sendoso API v3 wire shapes, validated with zod at the boundary. Each schema accepts what
 * Sendoso sends (snake_case, money as strings or integers, ids that are sometimes numeric strings)
 * and outputs giftguard's domain shape (camelCase, integer cents, branded ids). The client parses
 * responses with them; the sandbox types its responses with their input side, so the two cannot
 * drift apart silently.
 */
import { z } from 'zod';
import { parseUnitsToCents } from './money.js';
import type { Cents } from './money.js';
import type { GroupId, SendId, TouchId, TrackingCode, UserId } from './ids.js';

/** An integer id that Sendoso may render as a number or a numeric string. */
const wireInt = z.union([z.number().int(), z.string().regex(/^-?\d+$/).transform(Number)]);

/** An amount in whole currency units ("45.0", 25) converted to cents. */
export const wireMoney = z.union([z.number(), z.string()]).transform((value, ctx): Cents => {
  const parsed = parseUnitsToCents(value);
  if (parsed === undefined) {
    ctx.addIssue({ code: 'custom', message: `not an amount: ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return parsed;
});

const nullableMoney = wireMoney.nullable().optional().transform((v) => v ?? null);

// ---------------------------------------------------------------- users

export const meWire = z
  .object({
    id: wireInt,
    first_name: z.string(),
    last_name: z.string(),
    email: z.string(),
    role: z.string(),
    balance: wireMoney,
    team_balance: wireMoney,
  })
  .transform((w) => ({
    id: w.id as UserId,
    firstName: w.first_name,
    lastName: w.last_name,
    email: w.email,
    role: w.role,
    balance: w.balance,
    teamBalance: w.team_balance,
  }));
export type Me = z.output<typeof meWire>;

export const userWire = z
  .object({
    id: wireInt,
    first_name: z.string(),
    last_name: z.string(),
    email: z.string(),
    team_group_id: wireInt,
  })
  .transform((w) => ({
    id: w.id as UserId,
    firstName: w.first_name,
    lastName: w.last_name,
    email: w.email,
    teamGroupId: w.team_group_id as GroupId,
  }));
export type User = z.output<typeof userWire>;

export const userInvitationWire = z
  .object({
    success: z.boolean(),
    message: z.string(),
    receiver_email: z.string(),
    team_group_id: wireInt,
    user_role: z.string(),
    invitation_status: z.enum(['pending', 'accepted', 'expired']),
    expires_at: z.string(),
  })
  .transform((w) => ({
    message: w.message,
    receiverEmail: w.receiver_email,
    teamGroupId: w.team_group_id as GroupId,
    role: w.user_role,
    invitationStatus: w.invitation_status,
    expiresAt: w.expires_at,
  }));
export type UserInvitation = z.output<typeof userInvitationWire>;

// ---------------------------------------------------------------- groups

export const groupWire = z
  .object({
    id: wireInt,
    name: z.string(),
    budget: wireMoney,
    monthly_budget: nullableMoney,
    one_time_budget: nullableMoney,
    rollover: z.boolean().nullable().optional(),
    team_id: wireInt,
    created_at: z.string(),
    updated_at: z.string(),
  })
  .transform((w) => ({
    id: w.id as GroupId,
    name: w.name,
    budget: w.budget,
    monthlyBudget: w.monthly_budget,
    oneTimeBudget: w.one_time_budget,
    rollover: w.rollover ?? false,
    teamId: w.team_id,
    createdAt: w.created_at,
    updatedAt: w.updated_at,
  }));
export type Group = z.output<typeof groupWire>;

export const groupMemberWire = z
  .object({
    id: wireInt,
    first_name: z.string(),
    last_name: z.string(),
    email: z.string(),
    balance: wireMoney,
    sandbox: z.boolean().optional(),
    team_group_id: wireInt,
    team_id: wireInt,
    // Declared an integer, shown as a 32-hex string: accept both, keep it as text.
    key: z.union([z.string(), z.number()]).nullable().optional(),
  })
  .transform((w) => ({
    id: w.id as UserId,
    firstName: w.first_name,
    lastName: w.last_name,
    email: w.email,
    balance: w.balance,
    sandbox: w.sandbox ?? false,
    teamGroupId: w.team_group_id as GroupId,
    teamId: w.team_id,
    key: w.key == null ? null : String(w.key),
  }));
export type GroupMember = z.output<typeof groupMemberWire>;

// ---------------------------------------------------------------- touches

export const deliveryTypes = ['mail', 'email'] as const;
export type DeliveryType = (typeof deliveryTypes)[number];

export const touchWire = z
  .object({
    id: wireInt,
    name: z.string(),
    start_date: z.string().nullable().optional(),
    end_date: z.string().nullable().optional(),
    description: z.string().nullable().optional(),
    created_at: z.string(),
    user_id: wireInt.nullable().optional(),
    gift_id: wireInt.nullable().optional(),
    starting_egift_price: nullableMoney,
    ending_egift_price: nullableMoney,
    status: z.string(),
    is_default_price: z.boolean().nullable().optional(),
    delivery_type: z.enum(deliveryTypes),
    hubspot_key: z.unknown().optional(),
    ship_to_countries: z.array(z.string()).nullable().optional(),
    currency: z.string(),
  })
  .transform((w) => ({
    id: w.id as TouchId,
    name: w.name,
    startDate: w.start_date ?? null,
    endDate: w.end_date ?? null,
    description: w.description ?? '',
    createdAt: w.created_at,
    userId: (w.user_id ?? null) as UserId | null,
    giftId: w.gift_id ?? null,
    startingEgiftPrice: w.starting_egift_price,
    endingEgiftPrice: w.ending_egift_price,
    status: w.status,
    isDefaultPrice: w.is_default_price ?? true,
    deliveryType: w.delivery_type,
    shipToCountries: w.ship_to_countries ?? [],
    currency: w.currency,
  }));
export type Touch = z.output<typeof touchWire>;

export const touchEnvelopeWire = z.object({ success: z.boolean().optional(), touch: touchWire });

// ---------------------------------------------------------------- sends

export const statusUpdateWire = z
  .object({ status: z.string(), occurred_at: z.string() })
  .transform((w) => ({ status: w.status, occurredAt: w.occurred_at }));

export const sendWire = z
  .object({
    id: wireInt,
    send_gid: z.string().nullable().optional(),
    type: z.string().nullable().optional(),
    subtype: z.string().nullable().optional(),
    currency: z.string(),
    current_total_cost: wireMoney,
    status: z.string(),
    created_at: z.string(),
    touch: z.object({ id: wireInt, name: z.string() }),
    recipient: z.object({
      name: z.string().nullable().optional(),
      email: z.string().nullable().optional(),
      company_name: z.string().nullable().optional(),
    }),
    sender: z
      .object({
        id: wireInt,
        name: z.string().nullable().optional(),
        email: z.string().nullable().optional(),
        team_id: wireInt.nullable().optional(),
        team_name: z.string().nullable().optional(),
      })
      .nullable()
      .optional(),
    sent_via: z.string().nullable().optional(),
    // Not in Sendoso's field list for GET /send; kept when present so reports can show it.
    tracking_code: z.string().nullable().optional(),
    status_updates: z.array(statusUpdateWire).nullable().optional(),
  })
  .transform((w) => ({
    id: w.id as SendId,
    sendGid: w.send_gid ?? null,
    type: w.type ?? null,
    subtype: w.subtype ?? null,
    currency: w.currency,
    currentTotalCost: w.current_total_cost,
    status: w.status,
    createdAt: w.created_at,
    touch: { id: w.touch.id as TouchId, name: w.touch.name },
    recipient: {
      name: w.recipient.name ?? null,
      email: w.recipient.email ?? null,
      companyName: w.recipient.company_name ?? null,
    },
    sender: w.sender
      ? {
          id: w.sender.id as UserId,
          name: w.sender.name ?? null,
          email: w.sender.email ?? null,
          teamId: w.sender.team_id ?? null,
          teamName: w.sender.team_name ?? null,
        }
      : null,
    sentVia: w.sent_via ?? null,
    trackingCode: (w.tracking_code ?? null) as TrackingCode | null,
    statusUpdates: w.status_updates ?? [],
  }));
export type Send = z.output<typeof sendWire>;

export const sendCreatedWire = z
  .object({
    success: z.boolean(),
    message: z.string(),
    tracking_code: z.string(),
    tracking_url: z.string().optional(),
    // Undocumented: Sendoso says link-mode address collection "provides a link in the response"
    // without naming the field. The sandbox uses this name; a real response may lack it.
    address_confirmation_link: z.string().optional(),
  })
  .transform((w) => ({
    message: w.message,
    trackingCode: w.tracking_code as TrackingCode,
    trackingUrl: w.tracking_url ?? null,
    addressConfirmationLink: w.address_confirmation_link ?? null,
  }));
export type SendCreated = z.output<typeof sendCreatedWire>;

export const egiftLinksCreatedWire = z
  .object({
    success: z.boolean(),
    message: z.string(),
    egift_links: z.array(z.object({ egift_link: z.string(), recipient_email_or_phone_number: z.string() })),
    expiration_days: z.number().int().optional(),
  })
  .transform((w) => ({
    message: w.message,
    links: w.egift_links.map((l) => ({ link: l.egift_link, recipient: l.recipient_email_or_phone_number })),
    expirationDays: w.expiration_days ?? null,
  }));
export type EgiftLinksCreated = z.output<typeof egiftLinksCreatedWire>;

// ---------------------------------------------------------------- lists

/** How each paginated list names its items and its total. */
export const listShapes = {
  users: { itemsKey: 'users', totalKey: 'total_users', item: userWire },
  groups: { itemsKey: 'groups', totalKey: 'total_groups', item: groupWire },
  touches: { itemsKey: 'touches', totalKey: 'total_posts', item: touchWire },
  sends: { itemsKey: 'sends', totalKey: 'total_count', item: sendWire },
} as const;
export type ListName = keyof typeof listShapes;

// ---------------------------------------------------------------- errors

/** Any of Sendoso's three documented error bodies. */
export const errorBodyWire = z
  .object({
    success: z.boolean().optional(),
    message: z.string().optional(),
    description: z.string().optional(),
    expired: z.boolean().optional(),
  })
  .loose();

// ---------------------------------------------------------------- OAuth

export const tokenResponseWire = z.object({
  access_token: z.string().min(1),
  token_type: z.string(),
  expires_in: z.number().int().positive().optional(),
  refresh_token: z.string().min(1).optional(),
  scope: z.string().optional(),
  created_at: z.number().int().optional(),
});
export type TokenResponseWire = z.output<typeof tokenResponseWire>;

// ---------------------------------------------------------------- request bodies (send bodies come from the tool catalogue)

/** The invite-user body. */
export interface InviteUserBody {
  user: {
    first_name: string;
    last_name: string;
    email: string;
    role: 'regular' | 'manager';
    team_group_id: number;
  };
}
