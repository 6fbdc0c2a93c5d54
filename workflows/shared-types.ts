/**
 * What the workflows' named actors take and return. Shared by the machines and the orchestrator
 * that implements them; data only. Money is the domain's `Cents`, and a spending step's outcome the
 * domain's `RunSpendResult`, so nothing here copies a type the rest of giftguard defines.
 */
import type { Cents } from '../src/domain/index.js';

export interface GroupFound {
  readonly id: number;
  readonly name: string;
  /** What Sendoso says the group has available. */
  readonly budgetCents: Cents;
}

export interface BudgetCheck {
  readonly sendosoAvailableCents: Cents;
  /** What the spend policy still allows in its tightest window, or null when no cap covers the group. */
  readonly guardHeadroomCents: Cents | null;
  /** That window (absent in runs recorded before it was kept). */
  readonly guardHeadroomWindow?: 'day' | 'week' | 'month' | null;
}

export interface CampaignFound {
  readonly id: number;
  readonly name: string;
  readonly deliveryType: 'mail' | 'email';
  /** What one send reserves (eGift top price or declared physical cost), when known. */
  readonly costCents: Cents | null;
}

/** How a wait for a person (or for reconciliation) ended. */
export interface SettledResult {
  readonly status: 'sent' | 'denied' | 'expired' | 'voided' | 'failed' | 'not_sent';
  readonly message: string;
  readonly trackingCode?: string | undefined;
}

export interface Address {
  readonly address: string;
  readonly city: string;
  readonly state: string;
  readonly zip: string;
  readonly country: string;
}
