/**
 * @module What happened to a send after it went out, in words people act on: Sendoso's status
 * updates (from its webhooks, or read from its send history) become milestones — address
 * confirmed, shipped, delivered — and problems to surface to whoever started the send: on hold
 * for insufficient funds, expired, cancelled.
 */
import type { SpendKind } from '../domain/index.js';

export interface Milestone {
  /** e.g. "address confirmed", "delivered", "on hold — insufficient funds". */
  readonly words: string;
  /** Something a person should act on (funds, an expired offer, a cancelled send). */
  readonly problem: boolean;
}

/**
 * The milestone a status update means for a send of this kind, or undefined for steps not worth
 * telling anyone (opened, clicked, processing). `before` is the status it came from.
 */
export function milestoneOf(kind: SpendKind, status: string, before: string | undefined): Milestone | undefined {
  switch (status) {
    case 'Order Received':
      // For an address collection, "Order Received" after "Confirming Address" is the recipient's answer.
      return kind === 'address_collection' && before === 'Confirming Address' ? { words: 'address confirmed', problem: false } : undefined;
    case 'Shipped':
      return { words: 'shipped', problem: false };
    case 'Delivered':
      return { words: 'delivered', problem: false };
    case 'Redeemed':
      return { words: 'redeemed', problem: false };
    case 'Expired':
    case 'Expired and Credited':
      return { words: 'expired without being redeemed', problem: true };
    case 'Address Confirmation - Cancelled':
      return { words: 'address never confirmed: cancelled and refunded', problem: true };
    case 'On Hold - Insufficient Funds':
      return { words: 'on hold — insufficient funds (a Sendoso admin must approve or cancel it)', problem: true };
    case 'Cancelled':
      return { words: 'cancelled', problem: true };
    case 'Failed':
    case 'Undeliverable':
      return { words: status.toLowerCase(), problem: true };
    default:
      return undefined;
  }
}
