/**
 * @module The ledger port: budget holds, captures, send intents and approvals, as the guard and
 * the triggers see them. One implementation, `Ledger` (ledger.ts), holds the budget logic over a
 * store's primitives (ledger-storage.ts, which also states the concurrency contract: never over a
 * cap, one live intent per key, totals equal to the raw rows); SQLite and PostgreSQL are stores.
 *
 * Intent lifecycle: PENDING (hold taken) → DISPATCHING (claimed by exactly one worker) → SENT
 * (hold captured) | FAILED (hold released) | UNKNOWN (hold kept until reconciled). A PENDING intent
 * whose hold expires becomes EXPIRED.
 */
import type { Cents, DecisionReason, SpendCaller, SpendKind } from '../domain/index.js';
import type { Decision, LedgerView, SpendCandidate } from './evaluate.js';
import type { Policy } from './policy-schema.js';

export type IntentStatus = 'PENDING' | 'DISPATCHING' | 'SENT' | 'FAILED' | 'UNKNOWN' | 'EXPIRED';

export interface Intent {
  readonly id: string;
  readonly key: string;
  readonly batchId: string;
  readonly status: IntentStatus;
  readonly group: string;
  readonly touchId: number;
  readonly touchName: string;
  /** The recipient's identity (what per-recipient rules count by). */
  readonly recipient: string;
  /** The address as the request gave it (what was sent to, and what the audit shows). */
  readonly recipientGiven: string;
  readonly kind: SpendKind;
  readonly amount: Cents;
  readonly currency: string;
  readonly approvalId: string | null;
  /** Hash of the exact payload this intent was reserved for. */
  readonly payloadHash: string;
  readonly createdAt: number;
  readonly dispatchedAt: number | null;
  readonly sendosoSendId: number | null;
  readonly trackingCode: string | null;
  readonly capturedAmount: Cents | null;
  readonly response: unknown;
  readonly detail: string | null;
  /** The stored request: where and what to POST, and who asked. */
  readonly request: StoredRequest;
}

/** A spend request as the ledger keeps it, enough to dispatch it later (after an approval). */
export interface StoredRequest {
  readonly tool: string;
  readonly path: string;
  readonly body: unknown;
  readonly caller: SpendCaller;
  /** The workflow run that asked, if one did. */
  readonly runId?: string;
}

/** Every state an approval can be in; a status from outside (a console's filter) is checked against it. */
export const APPROVAL_STATUSES = ['pending', 'approved', 'denied', 'expired', 'voided', 'sent', 'failed'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

/** Which approvals to list: every filter optional, newest first; no limit lists them all. */
export interface ApprovalQuery {
  readonly status?: ApprovalStatus | undefined;
  /** The group that would pay, as the policy names it (case-insensitive). */
  readonly group?: string | undefined;
  readonly limit?: number | undefined;
}

export interface Approval {
  readonly id: string;
  readonly status: ApprovalStatus;
  readonly payloadHash: string;
  readonly key: string;
  readonly group: string;
  readonly touchId: number;
  readonly touchName: string;
  readonly recipients: readonly string[];
  readonly kind: SpendKind;
  readonly amount: Cents;
  readonly currency: string;
  readonly reasons: readonly DecisionReason[];
  readonly request: StoredRequest;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly decidedAt: number | null;
  readonly decidedBy: string | null;
  readonly decisionReason: string | null;
}

/** Everything `reserve` needs; it evaluates and reserves in one transaction. */
export interface ReserveInput {
  readonly candidate: SpendCandidate;
  readonly policy: Policy;
  /** One idempotency key per recipient (same order as candidate.recipients). */
  readonly keys: readonly string[];
  /** The approval's dedupe key (the caller's key for the whole request). */
  readonly requestKey: string;
  readonly payloadHash: string;
  readonly request: StoredRequest;
  readonly now: number;
  /** Set when a person approved this payload: satisfies the approval threshold only. */
  readonly approvalId?: string;
  /**
   * The caller dispatches at once: intents are created already claimed (DISPATCHING) in the
   * reserving transaction, which is the claim. Without it they wait as PENDING (approved sends).
   */
  readonly dispatchNow?: boolean;
  /** Who asked, for the audit log. */
  readonly caller: string;
  /**
   * Also treat as the same request any live or sent intent for the same campaign and recipient
   * created at or after this time, whatever its key: one gift per person per campaign (batches).
   */
  readonly onePerRecipientSince?: number;
}

export type ReserveResult =
  /** Intents already exist for these keys: the request was seen before. */
  | { readonly kind: 'existing'; readonly intents: readonly Intent[] }
  | { readonly kind: 'decided'; readonly decision: Decision; readonly view: LedgerView }
  | { readonly kind: 'approval'; readonly decision: Decision; readonly approval: Approval }
  | { readonly kind: 'reserved'; readonly decision: Decision; readonly intents: readonly Intent[] };

/** Budget figures for one group, for `giftguard budget`. */
export interface BudgetLine {
  readonly window: string;
  readonly cap: Cents | undefined;
  /** What Sendoso charged for giftguard's sends (once known; the declared cost until then). */
  readonly captured: Cents;
  /** What those sends were declared (reserved) to cost. */
  readonly declared: Cents;
  readonly held: Cents;
  /** Sends made outside giftguard (Sendoso's web app, other tools), at what Sendoso charged. */
  readonly observed: Cents;
  readonly available: Cents | undefined;
}

/** A send from Sendoso's history, ready for the ledger. */
export interface HistorySend {
  readonly id: number;
  readonly sendGid: string | null;
  readonly trackingCode: string | null;
  readonly touchId: number;
  readonly touchName: string;
  /** The recipient's identity (as per-recipient rules count), and the address as Sendoso lists it. */
  readonly recipient: string;
  readonly recipientGiven: string;
  readonly senderId: number | null;
  /** The policy group (or Sendoso group) whose budget the sender spends; null when unknown. */
  readonly senderGroup: string | null;
  readonly cost: Cents;
  readonly currency: string;
  readonly status: string;
  readonly createdAt: number;
}

/** What one page of history did to the ledger. */
export interface HistoryImport {
  /** giftguard's own sends (linked to their send id, booked at what Sendoso charged). */
  readonly ours: number;
  /** Sends made outside giftguard, now counted as observed spend. */
  readonly imported: number;
  /** Observed sends whose cost or status changed. */
  readonly updated: number;
  /** giftguard sends re-booked at a cost different from what was captured. */
  readonly rebooked: number;
  /** Left to reconciliation: they may be giftguard's own sends whose answer was lost. */
  readonly skipped: number;
}

export interface LedgerPort {
  /** Evaluates the policy against current usage and, when allowed, records intents and holds — atomically. */
  reserve(input: ReserveInput): Promise<ReserveResult>;
  /** PENDING → DISPATCHING for a whole batch; false if another worker got it or its holds expired. */
  claim(batchId: string, now: number): Promise<boolean>;
  /** DISPATCHING → SENT: holds captured at their amount (reconciliation may adjust to the actual cost). */
  markSent(batchId: string, response: unknown, now: number): Promise<void>;
  /** DISPATCHING → FAILED: definitely not sent; holds released. `code` is the error code, for the audit log. */
  markFailed(batchId: string, code: string, detail: string, now: number): Promise<void>;
  /** DISPATCHING → UNKNOWN: may have been sent; holds kept until reconciliation decides. */
  markUnknown(batchId: string, code: string, detail: string, now: number): Promise<void>;
  /** The gateway is about to repeat a batch's POST (nothing was sent before): its dispatch time is now. */
  redispatch(batchId: string, now: number): Promise<void>;
  /** DISPATCHING → PENDING, hold kept: certainly not sent, to be tried again (approved sends). */
  unclaim(batchId: string, detail: string, now: number): Promise<void>;
  /** UNKNOWN or stale DISPATCHING intents, oldest first. */
  unresolved(now: number, staleDispatchMs: number): Promise<Intent[]>;
  /**
   * Reconciliation found the send: SENT, captured at its actual cost. False when the intent was
   * no longer open or the send is already another intent's (someone else settled it meanwhile).
   */
  resolveSent(intentId: string, found: { sendId: number; cost: Cents; trackingCode: string | null }, now: number): Promise<boolean>;
  /** Reconciliation proved it absent: FAILED, hold released. False when it was no longer open. */
  resolveFailed(intentId: string, detail: string, now: number): Promise<boolean>;
  /** Send ids already matched to intents (so reconciliation never matches one twice). */
  matchedSendIds(): Promise<Set<number>>;
  /** SENT intents to these recipients created at or after `since`: each accounts for one upstream send. */
  sentTo(recipients: readonly string[], since: number): Promise<Intent[]>;
  /** Releases holds of PENDING intents past their expiry; returns how many. */
  expireHolds(now: number): Promise<number>;
  intent(id: string): Promise<Intent | undefined>;
  /** PENDING intents created by approvals, waiting for a dispatcher. */
  approvedPending(): Promise<Intent[]>;
  approval(id: string): Promise<Approval | undefined>;
  /** The intents an approval produced (once approved). */
  intentsOfApproval(approvalId: string): Promise<Intent[]>;
  /** Approvals newest first: all, those in one status, or as a query asks (status, group, limit). */
  approvals(query?: ApprovalStatus | ApprovalQuery): Promise<Approval[]>;
  /**
   * Records a decision on an approval (and its audit entry), only from the status it may follow
   * (a decision from pending; sent or failed from approved): false when the approval was no
   * longer there, so of two processes deciding at once only the first one's decision stands.
   */
  decideApproval(id: string, status: ApprovalStatus, by: string | null, reason: string | null, now: number): Promise<boolean>;
  /** How many approvals wait for a person at `now` (a read: nothing is expired). */
  countPendingApprovals(now: number): Promise<number>;
  /** Marks pending approvals past their expiry as expired; returns how many. */
  expireApprovals(now: number): Promise<number>;
  /** Current usage for `policy explain` and `giftguard budget`. */
  view(candidate: SpendCandidate, policy: Policy, now: number): Promise<LedgerView>;
  budget(group: string, policy: Policy, now: number): Promise<BudgetLine[]>;
  /**
   * Appends to the guard's own log of decisions (guard_audit; not the MCP tool-call log). Every
   * state change above writes its own entry in the same transaction; this is for decisions that
   * change nothing (an unknown campaign).
   */
  recordGuardEvent(event: GuardAuditEvent): Promise<void>;
  /**
   * Reads the guard's log back, newest first, one page at a time: by group, recipient (an
   * identity, as per-recipient rules count), event, outcome and time. A page never reads the whole
   * log: a recipient's entries come from their own index, a time range is an id range, and other
   * filters search at most a window of entries per page (the page says how far it searched).
   */
  guardEvents(query: GuardEventQuery): Promise<GuardEventPage>;
  /**
   * Brings one page of Sendoso's send history into the ledger, in one transaction: giftguard's own
   * sends are tied to their send id and booked at what Sendoso charged; sends made outside
   * giftguard become observed spend (per group, campaign and recipient); sends that may be
   * giftguard's own with a lost answer are left to reconciliation.
   */
  importHistory(sends: readonly HistorySend[], policy: Policy, now: number): Promise<HistoryImport>;
  /** giftguard's intents for one Sendoso send (by its send_gid, once the history sync has linked it). */
  intentsBySendGid(sendGid: string): Promise<Intent[]>;
  /** Keeps a send's status updates; returns those not seen before (each also in the audit log). */
  recordDeliveries(intentId: string, updates: readonly { status: string; at: number }[], now: number): Promise<{ status: string; at: number }[]>;
  /** Every status update kept for an intent's send, oldest first. */
  deliveries(intentId: string): Promise<{ status: string; at: number }[]>;
  /** A named mark the history sync keeps (epoch ms). */
  syncMark(name: string): Promise<number | undefined>;
  setSyncMark(name: string, value: number): Promise<void>;
  /** Campaign names in policies and the touch id each first resolved to (lower-cased name → id). */
  touchPins(): Promise<Map<string, number>>;
  /** Keeps name → id bindings; a name already pinned keeps its first id. */
  pinTouches(pins: ReadonlyMap<string, number>, now: number): Promise<void>;
}

export interface GuardAuditEvent {
  readonly at: number;
  readonly event: string;
  readonly group?: string | undefined;
  readonly touchId?: number | undefined;
  readonly recipients?: number | undefined;
  readonly amount?: Cents | undefined;
  readonly outcome: string;
  readonly reasons?: readonly string[] | undefined;
  readonly caller?: string | undefined;
  readonly intentIds?: readonly string[] | undefined;
  readonly approvalId?: string | undefined;
  /** The recipients' identities the entry concerns (what the trail is searched by). */
  readonly recipientIdentities?: readonly string[] | undefined;
}

/** Which guard log entries to read, newest first; every filter optional. */
export interface GuardEventQuery {
  /** The group, as the policy names it (case-insensitive). */
  readonly group?: string | undefined;
  /** A recipient's identity (see recipient-identity.ts). */
  readonly recipient?: string | undefined;
  readonly event?: string | undefined;
  readonly outcome?: string | undefined;
  /** Entries at or after this time (epoch ms). */
  readonly since?: number | undefined;
  /** Entries before this time (epoch ms). */
  readonly until?: number | undefined;
  /** Entries older than this one: where the page before ended (its `older`). */
  readonly before?: number | undefined;
  readonly limit: number;
}

/** One entry of the guard's log as it reads back. */
export interface GuardEventEntry {
  readonly id: number;
  readonly at: number;
  readonly event: string;
  readonly group: string | null;
  readonly touchId: number | null;
  /** How many recipients the request had. */
  readonly recipients: number | null;
  /** Their identities, for entries written since the trail recorded them. */
  readonly recipientIdentities: readonly string[];
  readonly amount: Cents | null;
  readonly outcome: string;
  readonly reasons: readonly string[];
  readonly caller: string | null;
  readonly intentIds: readonly string[];
  readonly approvalId: string | null;
}

/** One page of the guard's log. */
export interface GuardEventPage {
  readonly entries: readonly GuardEventEntry[];
  /** Where the next, older page starts (pass it as `before`); absent when there is nothing older. */
  readonly older?: number | undefined;
  /**
   * Set when the page stopped at its search window rather than at the oldest entry: entries before
   * this time were not searched yet (the next page searches them).
   */
  readonly searchedBackTo?: number | undefined;
}
