/**
 * What the workflows' named actors take and return. Shared by the machines and the orchestrator
 * that implements them; data only.
 */

export interface GroupFound {
  readonly id: number;
  readonly name: string;
  /** What Sendoso says the group has available, in cents. */
  readonly budgetCents: number;
}

export interface BudgetCheck {
  readonly sendosoAvailableCents: number;
  /** What the spend policy still allows in its tightest window, or null when no cap covers the group. */
  readonly guardHeadroomCents: number | null;
  /** That window (absent in runs recorded before it was kept). */
  readonly guardHeadroomWindow?: 'day' | 'week' | 'month' | null;
}

export interface CampaignFound {
  readonly id: number;
  readonly name: string;
  readonly deliveryType: 'mail' | 'email';
  /** What one send reserves (eGift top price or declared physical cost), when known. */
  readonly costCents: number | null;
}

/** The outcome of one spending tool call, as the workflows see it. */
export interface SpendResult {
  readonly status: 'sent' | 'pending_approval' | 'outcome_unknown' | 'dry_run';
  readonly message: string;
  readonly trackingCode?: string | undefined;
  readonly confirmationLink?: string | undefined;
  readonly approvalId?: string | undefined;
  /** Epoch ms at which a pending approval lapses. */
  readonly approvalExpiresAt?: number | undefined;
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
