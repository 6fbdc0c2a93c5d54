/**
 * @module Send lifecycles on the virtual clock. Each send carries its future steps with absolute
 * times; they are applied lazily whenever the sandbox is asked anything, so advancing the clock by
 * a week and listing sends shows exactly what a week of real time would have produced.
 *
 * eGift:               Sent → Opened → Clicked → Redeemed (or → Expired for recipients who never redeem)
 * address collection:  Confirming Address → (recipient confirms) Order Received → Processing → Shipped → Delivered
 *                      or, after expire_after_days, Address Confirmation - Cancelled (charge refunded)
 * physical w/ address: Order Received → Processing → Shipped → Delivered
 */
import { createHash } from 'node:crypto';
import { cents } from '../domain/index.js';
import { sendIndex } from './send-index.js';
import type { SandboxSend, SandboxState, ShippingAddress, StatusStep } from './state.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Statuses after which nothing more happens to a send. */
export const FINAL_STATUSES = new Set(['Delivered', 'Redeemed', 'Expired', 'Address Confirmation - Cancelled']);

/**
 * Whether this recipient redeems an eGift. Decided by a hash of the address so runs are
 * repeatable: about three in four redeem, the rest let the offer lapse.
 */
export function redeems(email: string): boolean {
  const first = createHash('sha256').update(email.toLowerCase()).digest()[0] ?? 0;
  return first >= 64;
}

/** The steps after "Sent" for an eGift created at `t`. */
export function egiftPlan(t: number, email: string): StatusStep[] {
  const opened = [
    { status: 'Opened', at: t + 2 * HOUR },
    { status: 'Clicked', at: t + 3 * HOUR },
  ];
  return redeems(email) ? [...opened, { status: 'Redeemed', at: t + 26 * HOUR }] : [...opened, { status: 'Expired', at: t + 90 * DAY }];
}

/** The fulfilment steps of a physical gift whose address is known at `t`. */
export function fulfilmentPlan(t: number): StatusStep[] {
  return [
    { status: 'Processing', at: t + 1 * DAY },
    { status: 'Shipped', at: t + 2 * DAY },
    { status: 'Delivered', at: t + 5 * DAY },
  ];
}

/** The only future step of an unconfirmed address collection: cancellation at expiry. */
export function addressCollectionPlan(expiresAt: number): StatusStep[] {
  return [{ status: 'Address Confirmation - Cancelled', at: expiresAt, refund: true }];
}

/**
 * Applies every step due by `nowMs`; returns true if anything changed. Only sends with a step due
 * are looked at (they come off the index's heap), however many sends the sandbox holds.
 */
export function applyDueSteps(state: SandboxState, nowMs: number): boolean {
  const index = sendIndex(state);
  let changed = false;
  for (;;) {
    const send = index.takeDue(nowMs);
    if (!send) return changed;
    index.change(send, () => {
      // Every step due, not just the first: the send goes back on the heap at its next future step.
      while (send.plan.length > 0 && send.plan[0]!.at <= nowMs) {
        const step = send.plan.shift()!;
        send.status = step.status;
        send.statusUpdates.push({ status: step.status, at: step.at });
        if (step.refund) refund(state, send);
        changed = true;
      }
    });
  }
}

/**
 * The recipient filled in the address form. Allowed only while the send is still
 * "Confirming Address"; fulfilment starts at once.
 */
export function confirmAddress(state: SandboxState, send: SandboxSend, address: ShippingAddress, nowMs: number): void {
  sendIndex(state).change(send, () => {
    send.address = address;
    send.status = 'Order Received';
    send.statusUpdates.push({ status: 'Order Received', at: nowMs });
    send.plan = fulfilmentPlan(nowMs);
    send.expiresAt = null;
  });
}

/** Returns the charge to the group and sender that paid it, and zeroes the send's cost. */
function refund(state: SandboxState, send: SandboxSend): void {
  if (send.cost === 0) return;
  const group = state.groups.find((g) => g.id === send.chargedGroupId);
  const sender = state.users.find((u) => u.id === send.senderId);
  if (group) group.budget = cents(group.budget + send.cost);
  if (sender) sender.balance = cents(sender.balance + send.cost);
  send.cost = cents(0);
}
