/**
 * @module Sandbox records rendered in Sendoso's wire format, typed against the input side of the
 * client's zod schemas so the sandbox cannot emit a shape the client would reject.
 */
import type { z } from 'zod';
import { centsToSendosoString } from '../domain/index.js';
import type { Cents, groupMemberWire, groupWire, meWire, sendWire, touchWire, userWire } from '../domain/index.js';
import type { SandboxGroup, SandboxSend, SandboxState, SandboxTouch, SandboxUser } from './state.js';

/** Sendoso renders times as ISO 8601; the sandbox uses UTC. */
export const iso = (ms: number): string => new Date(ms).toISOString();

/** Whole currency units as a JSON number, for the fields Sendoso sends as integers. */
const units = (amount: Cents): number => amount / 100;

export function renderMe(state: SandboxState, user: SandboxUser): z.input<typeof meWire> {
  const teamBalance = state.users.filter((u) => u.active).reduce((sum, u) => sum + u.balance, 0);
  return {
    id: user.id,
    first_name: user.firstName,
    last_name: user.lastName,
    email: user.email,
    role: user.role,
    balance: centsToSendosoString(user.balance),
    team_balance: units(teamBalance as Cents),
  };
}

export function renderUser(user: SandboxUser): z.input<typeof userWire> {
  return {
    id: String(user.id),
    first_name: user.firstName,
    last_name: user.lastName,
    email: user.email,
    team_group_id: user.teamGroupId,
  };
}

export function renderGroup(state: SandboxState, group: SandboxGroup): z.input<typeof groupWire> {
  return {
    id: group.id,
    budget: units(group.budget),
    created_at: iso(group.createdAt),
    monthly_budget: group.monthlyBudget === null ? null : String(units(group.monthlyBudget)),
    name: group.name,
    one_time_budget: group.oneTimeBudget === null ? null : units(group.oneTimeBudget),
    rollover: group.rollover,
    team_id: state.team.id,
    updated_at: iso(group.updatedAt),
  };
}

export function renderMember(state: SandboxState, user: SandboxUser): z.input<typeof groupMemberWire> {
  return {
    id: user.id,
    first_name: user.firstName,
    last_name: user.lastName,
    email: user.email,
    balance: centsToSendosoString(user.balance),
    sandbox: user.sandbox,
    team_group_id: user.teamGroupId,
    team_id: state.team.id,
    key: user.key,
  };
}

export function renderTouch(touch: SandboxTouch): z.input<typeof touchWire> {
  return {
    id: touch.id,
    name: touch.name,
    start_date: touch.startDate === null ? null : iso(touch.startDate),
    end_date: touch.endDate === null ? null : iso(touch.endDate),
    description: touch.description,
    created_at: iso(touch.createdAt),
    user_id: touch.createdBy,
    gift_id: touch.giftId,
    starting_egift_price: touch.egiftMin === null ? null : units(touch.egiftMin),
    ending_egift_price: touch.egiftMax === null ? null : units(touch.egiftMax),
    status: touch.status,
    is_default_price: touch.egiftMin === null || touch.egiftMin === touch.egiftMax,
    delivery_type: touch.deliveryType,
    hubspot_key: null,
    ship_to_countries: touch.shipToCountries,
    currency: touch.currency,
  };
}

export function renderSend(state: SandboxState, send: SandboxSend): z.input<typeof sendWire> {
  const sender = state.users.find((u) => u.id === send.senderId);
  return {
    id: send.id,
    send_gid: send.sendGid,
    type: send.type,
    subtype: send.subtype,
    currency: send.currency,
    current_total_cost: centsToSendosoString(send.cost),
    status: send.status,
    created_at: iso(send.createdAt),
    touch: { id: send.touchId, name: send.touchName },
    recipient: { name: send.recipient.name, email: send.recipient.email, company_name: send.recipient.companyName },
    sender: {
      id: send.senderId,
      name: sender ? `${sender.firstName} ${sender.lastName}` : null,
      email: sender?.email ?? null,
      team_id: state.team.id,
      team_name: state.team.name,
    },
    sent_via: send.sentVia,
    tracking_code: send.trackingCode,
    status_updates: send.statusUpdates.map((u) => ({ status: u.status, occurred_at: iso(u.at) })),
  };
}
