/**
 * @module The ledger's rows as both stores return them (same column names and types: BIGINT comes
 * back from PostgreSQL as a number, JSON is kept as text in both) and their mapping to the port's
 * types, written once for the two adapters.
 */
import { cents } from '../domain/index.js';
import type { DecisionReason, SpendKind } from '../domain/index.js';
import type { RecentObserved } from './ledger-storage.js';
import type { Approval, ApprovalStatus, GuardAuditEvent, GuardEventEntry, Intent, IntentStatus, StoredRequest } from './ledger-port.js';

export interface IntentRow {
  id: string;
  key: string;
  batch_id: string;
  status: IntentStatus;
  group_name: string;
  touch_id: number;
  touch_name: string;
  recipient_email: string;
  recipient_given: string | null;
  kind: SpendKind;
  amount_cents: number;
  currency: string;
  request: string;
  payload_hash: string;
  approval_id: string | null;
  created_at: number;
  dispatched_at: number | null;
  tracking_code: string | null;
  sendoso_send_id: number | null;
  sendoso_send_gid: string | null;
  response: string | null;
  detail: string | null;
  captured: number | null;
}

export interface ApprovalRow {
  id: string;
  status: ApprovalStatus;
  payload_hash: string;
  request_key: string;
  group_name: string;
  touch_id: number;
  touch_name: string;
  recipients: string;
  kind: SpendKind;
  amount_cents: number;
  currency: string;
  reasons: string;
  request: string;
  created_at: number;
  expires_at: number;
  decided_at: number | null;
  decided_by: string | null;
  decision_reason: string | null;
}

export interface GuardAuditRow {
  id: number;
  at: number;
  event: string;
  group_name: string | null;
  touch_id: number | null;
  recipients: number | null;
  amount_cents: number | null;
  outcome: string;
  reasons: string | null;
  caller: string | null;
  intent_ids: string | null;
  approval_id: string | null;
  recipient_ids: string | null;
}

/** Observed sends that reached their recipient (not cancelled, refunded…): a send that never did is no gift to count. */
export const REACHED = `status NOT IN ('Address Confirmation - Cancelled', 'Cancelled', 'Expired and Credited', 'Bounced and Credited', 'Refunded', 'Failed')`;

/** The intent columns every read selects: the intent and what was captured for it. */
export const INTENT_SELECT = 'SELECT i.*, c.amount_cents AS captured FROM intents i LEFT JOIN captures c ON c.intent_id = i.id';

/** An observed send as the per-recipient reads select it (touch_name, cost_cents, created_at, status). */
export interface RecentObservedRow {
  touch_name: string;
  cost_cents: number;
  created_at: number;
  status: string;
}

export const toRecentObserved = (o: RecentObservedRow): RecentObserved => ({ touchName: o.touch_name, cost: cents(o.cost_cents), createdAt: o.created_at, status: o.status });

const jsonList = (text: string | null): string[] => (text === null ? [] : (JSON.parse(text) as string[]));

export const toGuardEvent = (r: GuardAuditRow): GuardEventEntry => ({
  id: r.id,
  at: r.at,
  event: r.event,
  group: r.group_name,
  touchId: r.touch_id,
  recipients: r.recipients,
  recipientIdentities: jsonList(r.recipient_ids),
  amount: r.amount_cents === null ? null : cents(r.amount_cents),
  outcome: r.outcome,
  reasons: jsonList(r.reasons),
  caller: r.caller,
  intentIds: jsonList(r.intent_ids),
  approvalId: r.approval_id,
});

/**
 * The guard_audit columns of an event, in the order both stores insert them (at … recipient_ids):
 * the inverse of toGuardEvent, so the two adapters cannot write an entry differently.
 */
export const auditColumns = (event: GuardAuditEvent): (string | number | null)[] => [
  event.at,
  event.event,
  event.group ?? null,
  event.touchId ?? null,
  event.recipients ?? null,
  event.amount ?? null,
  event.outcome,
  event.reasons ? JSON.stringify(event.reasons) : null,
  event.caller ?? null,
  event.intentIds ? JSON.stringify(event.intentIds) : null,
  event.approvalId ?? null,
  event.recipientIdentities && event.recipientIdentities.length > 0 ? JSON.stringify(event.recipientIdentities) : null,
];

export const toIntent = (r: IntentRow): Intent => ({
  id: r.id,
  key: r.key,
  batchId: r.batch_id,
  status: r.status,
  group: r.group_name,
  touchId: r.touch_id,
  touchName: r.touch_name,
  recipient: r.recipient_email,
  recipientGiven: r.recipient_given ?? r.recipient_email,
  kind: r.kind,
  amount: cents(r.amount_cents),
  currency: r.currency,
  approvalId: r.approval_id,
  payloadHash: r.payload_hash,
  createdAt: r.created_at,
  dispatchedAt: r.dispatched_at,
  sendosoSendId: r.sendoso_send_id,
  trackingCode: r.tracking_code,
  capturedAmount: r.captured === null ? null : cents(r.captured),
  response: r.response === null ? null : (JSON.parse(r.response) as unknown),
  detail: r.detail,
  request: JSON.parse(r.request) as StoredRequest,
});

export const toApproval = (r: ApprovalRow): Approval => ({
  id: r.id,
  status: r.status,
  payloadHash: r.payload_hash,
  key: r.request_key,
  group: r.group_name,
  touchId: r.touch_id,
  touchName: r.touch_name,
  recipients: JSON.parse(r.recipients) as string[],
  kind: r.kind,
  amount: cents(r.amount_cents),
  currency: r.currency,
  reasons: JSON.parse(r.reasons) as DecisionReason[],
  request: JSON.parse(r.request) as StoredRequest,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  decidedAt: r.decided_at,
  decidedBy: r.decided_by,
  decisionReason: r.decision_reason,
});
