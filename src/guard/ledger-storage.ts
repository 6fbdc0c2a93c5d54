/**
 * @module The ledger's storage port: the primitives a store offers (read and move running totals,
 * insert intents, holds and approvals, conditional status updates, the audit trail) and the
 * transaction they run in. The budget logic — scopes, the view, the reserve flow, captures and
 * releases, history import — lives once above it, in ledger.ts; SQLite (sqlite-ledger.ts) and
 * PostgreSQL (pg-ledger-storage.ts) implement only this.
 *
 * ## The concurrency contract
 *
 * Everything the ledger changes happens inside `transaction(work)`. A store guarantees:
 *
 * 1. **All or nothing.** `work`'s writes commit together when it resolves, and none of them when
 *    it throws. Nothing outside the transaction (another process, or another call of this
 *    process) ever sees part of it.
 * 2. **Same scope, one at a time.** Two transactions that both call `lockTotals` on a budget scope
 *    (a group's day, a campaign, the global day, a recipient's year) never interleave: the second
 *    reads the totals only after the first committed or rolled back, so check-and-reserve sees
 *    every hold taken before it and can never reserve past a cap. What a transaction read through
 *    `lockTotals` (and the intents of the recipients whose year scope it locked) stays true until
 *    it commits. `lockRecipients` is such a lock with the reads a reservation makes under it.
 *    A transaction may instead bump a scope it read without a lock, under ceilings it gives
 *    `limitTotals`: the bump takes the lock, and the transaction commits only if the totals, with
 *    its bumps, are within them then (else TotalsMovedError, and nothing kept).
 * 3. **Never two live intents for one key.** `insertIntent` fails (the transaction rolls back)
 *    rather than create a second PENDING/DISPATCHING/SENT/UNKNOWN intent for a key, whatever
 *    raced it; the store may instead run `work` again from the start, which then finds the first.
 * 4. **Totals equal the raw rows.** `bumpTotals` is an increment, applied in the same transaction
 *    as the hold, capture or observed send it accounts for, so the running totals always equal
 *    what the holds, captures and observed sends add up to.
 * 5. **Conditional updates decide races.** A status change names the status it moves from
 *    (`claimBatch`, `decideApproval`, `closeHold`…) and reports whether it happened, so of two
 *    processes racing, exactly one wins and the other is told.
 *
 * A store may run `work` more than once (PostgreSQL retries a deadlock), so `work` has no effect
 * outside the transaction except through its result.
 *
 * How each store provides it:
 * - **SQLite**: the whole database is the lock. `BEGIN IMMEDIATE` takes the write lock at the
 *   start (other processes wait on `busy_timeout`), so every transaction runs alone. Because the
 *   logic above is async and better-sqlite3 is one synchronous connection, the store also queues
 *   its transactions and reads per connection: no other ledger statement of this process runs
 *   while a transaction is open. `lockTotals` is a plain read; ceilings are checked before COMMIT.
 * - **PostgreSQL** (READ COMMITTED): `lockTotals` upserts the scopes' rows of `spend_totals` and
 *   locks them (`FOR UPDATE`-equivalent) in one canonical order — recipients' year scopes first,
 *   then the shared ones, each sorted — so contenders for a scope take turns and cannot deadlock
 *   each other (the ledger locks a request's recipients before its shared scopes, matching it);
 *   `lockRecipients` is one statement that re-reads under the lock when a writer got in while it
 *   waited, and the ceilings of `limitTotals` are checked on what the bump returns; the partial unique index on `intents(key)`
 *   for live statuses is the last line for (3); a deadlock or serialization failure elsewhere is
 *   retried by running `work` again. See pg-ledger-storage.ts.
 */
import type { Cents } from '../domain/index.js';
import type { Usage } from './evaluate.js';
import type {
  Approval,
  ApprovalQuery,
  ApprovalStatus,
  GuardAuditEvent,
  GuardEventEntry,
  HistorySend,
  Intent,
  IntentStatus,
} from './ledger-port.js';

/** A running-total row: its scope name and the start of its window (0 for no window). */
export type Scope = readonly [scope: string, windowStart: number];

/** One scope's running totals. */
export type ScopeTotals = Required<Usage> & { readonly declared: Cents };

/** What to add to the running totals of each scope (negative to take away). */
export interface TotalsDelta {
  readonly held?: number;
  readonly captured?: number;
  readonly observed?: number;
  readonly declared?: number;
}

export type HoldStatus = 'active' | 'captured' | 'released';

export interface HoldRecord {
  readonly amount: Cents;
  /** The running totals it counted against when it was taken (released from those, whatever the window now). */
  readonly scopes: readonly Scope[];
  readonly status: HoldStatus;
}

/** A send observed outside giftguard, as the ledger keeps it. */
export interface ObservedRecord {
  readonly cost: Cents;
  readonly status: string;
  readonly scopes: readonly Scope[];
}

/** An observed send of a recipient, for the per-recipient rules. */
export interface RecentObserved {
  readonly touchName: string;
  readonly cost: Cents;
  readonly createdAt: number;
  readonly status: string;
}

/** What a reservation reads about its recipients, with their year scopes locked (`lockRecipients`). */
export interface RecipientsQuery {
  /** The recipients' year scopes: locked as by `lockTotals`. */
  readonly lock: readonly Scope[];
  /** Scopes whose totals are read as well, without a lock: they may move before the commit. */
  readonly read: readonly Scope[];
  /** Request keys whose live intents are wanted. */
  readonly keys: readonly string[];
  /** Recipients whose recent sends are wanted… */
  readonly recipients: readonly string[];
  /** …since this time; undefined when no rule needs them. */
  readonly since: number | undefined;
}

/** What `lockRecipients` found, each list in the order it was asked for. */
export interface RecipientsRead {
  readonly locked: ScopeTotals[];
  readonly read: ScopeTotals[];
  /** Live intents of the keys, key by key. */
  readonly live: Intent[];
  /** Per recipient: `recentSendCount` and `observedRecent` (0 and none when `since` is undefined). */
  readonly recent: { readonly sends: number; readonly observed: RecentObserved[] }[];
}

/**
 * The most a scope's totals may come to, once this transaction's own bumps are added, for the
 * transaction to commit (`limitTotals`).
 */
export interface TotalsCeiling {
  /** For held + captured. */
  readonly heldCaptured: number;
  /** For held + captured + observed. */
  readonly all: number;
}

/**
 * A transaction given ceilings (`limitTotals`) found the totals moved past one of them when it
 * came to bump them; it was rolled back and nothing of it was kept.
 */
export class TotalsMovedError extends Error {
  constructor(scope: string) {
    super(`the running totals of ${scope} moved past what this transaction allowed for`);
    this.name = 'TotalsMovedError';
  }
}

/** A guard log page's filters, already turned into an id range by the ledger. */
export interface AuditPageFilter {
  /** Ids at or above this one… */
  readonly floor: number;
  /** …and below this one. */
  readonly high: number;
  readonly limit: number;
  readonly recipient?: string | undefined;
  readonly group?: string | undefined;
  readonly event?: string | undefined;
  readonly outcome?: string | undefined;
  readonly since?: number | undefined;
  readonly until?: number | undefined;
}

/** What may be read, inside a transaction or outside one. */
export interface LedgerReader {
  /** Running totals of these scopes, in the same order (zero for a scope never written). */
  totals(scopes: readonly Scope[]): Promise<ScopeTotals[]>;
  /** Live (PENDING, DISPATCHING, SENT, UNKNOWN) intents with this key: one at most. */
  liveIntentsByKey(key: string): Promise<Intent[]>;
  intent(id: string): Promise<Intent | undefined>;
  /** A batch's intents, in id order. */
  batch(batchId: string): Promise<Intent[]>;
  /** Live or sent intents to a recipient for a campaign created at or after `since`. */
  liveForRecipient(recipient: string, touchId: number, since: number): Promise<Intent[]>;
  /** How many live or sent intents a recipient has had since `since`. */
  recentSendCount(recipient: string, since: number): Promise<number>;
  /** Observed sends to a recipient since `since` that reached them (not cancelled, refunded…), newest first. */
  observedRecent(recipient: string, since: number): Promise<RecentObserved[]>;
  hold(intentId: string): Promise<HoldRecord | undefined>;
  /** What was captured for an intent, if anything. */
  captured(intentId: string): Promise<Cents | undefined>;
  /** The intent that owns a Sendoso send id, or the SENT one with this tracking code; with its send gid. */
  intentForSend(sendId: number, trackingCode: string | null): Promise<{ intent: Intent; sendGid: string | null } | undefined>;
  /** Whether some intent already owns this Sendoso send id. */
  sendTaken(sendId: number): Promise<boolean>;
  /** How many intents may have made this send without being tied to it yet (open, or SENT untied). */
  claimantCount(recipient: string, touchId: number, since: number): Promise<number>;
  observed(sendId: number): Promise<ObservedRecord | undefined>;
  /** UNKNOWN intents and DISPATCHING ones dispatched at or before `dispatchedBefore`, oldest first. */
  unresolved(dispatchedBefore: number): Promise<Intent[]>;
  matchedSendIds(): Promise<number[]>;
  /** SENT intents to a recipient created at or after `since`, in dispatch order. */
  sentTo(recipient: string, since: number): Promise<Intent[]>;
  /** Intents whose active hold expires at or before `now`, soonest first, at most `limit`. */
  expiringHolds(now: number, limit: number): Promise<string[]>;
  approvedPending(): Promise<Intent[]>;
  intentsOfApproval(approvalId: string): Promise<Intent[]>;
  intentsBySendGid(sendGid: string): Promise<Intent[]>;
  approval(id: string): Promise<Approval | undefined>;
  /** The pending approval for this request key and payload. */
  pendingApproval(requestKey: string, payloadHash: string): Promise<Approval | undefined>;
  approvals(query: ApprovalQuery): Promise<Approval[]>;
  countPendingApprovals(now: number): Promise<number>;
  /** The guard log's first and last ids; undefined when it is empty. */
  auditBounds(): Promise<{ first: number; last: number } | undefined>;
  /** The time of the first guard log entry at or after this id. */
  auditAtOrAfter(id: number): Promise<number | undefined>;
  /** Guard log entries in the filter's id range that match it, newest first, at most `limit`. */
  auditPage(filter: AuditPageFilter): Promise<GuardEventEntry[]>;
  deliveries(intentId: string): Promise<{ status: string; at: number }[]>;
  syncMark(name: string): Promise<number | undefined>;
  touchPins(): Promise<Map<string, number>>;
}

/** What a transaction may do besides reading. */
export interface LedgerTransaction extends LedgerReader {
  /**
   * The running totals of these scopes, locked against every other transaction that locks any of
   * them until this one ends (contract point 2). Same order as given.
   */
  lockTotals(scopes: readonly Scope[]): Promise<ScopeTotals[]>;
  /**
   * `lockTotals(query.lock)`, then — as read once that lock is held — `totals(query.read)` (not
   * locked), `liveIntentsByKey` of each key and `recentSendCount` and `observedRecent` of each
   * recipient: what a reservation needs to know about its recipients, in one go (one round trip
   * on PostgreSQL when nothing raced it).
   */
  lockRecipients(query: RecipientsQuery): Promise<RecipientsRead>;
  /** Adds `delta` to each scope's running totals (creating the row at zero first). */
  bumpTotals(scopes: readonly Scope[], delta: TotalsDelta): Promise<void>;
  /** Records a new intent (its status, dispatch time and all); fails on a second live intent for its key. */
  insertIntent(intent: Intent): Promise<void>;
  /**
   * The transaction commits only if, with all its bumps of these scopes added, each scope's totals
   * stay within its ceiling as they are when the bump takes the scope's lock; otherwise it fails
   * with TotalsMovedError and nothing of it is kept. What lets a reservation decide on totals it
   * read without a lock (see Ledger.reserve): the store checks numbers, the ledger chose them.
   */
  limitTotals(scopes: readonly Scope[], ceilings: readonly TotalsCeiling[]): Promise<void>;
  insertHold(intentId: string, amount: Cents, scopes: readonly Scope[], now: number, expiresAt: number | null): Promise<void>;
  /** Active → `status`; false when the hold was not active. */
  closeHold(intentId: string, status: Exclude<HoldStatus, 'active'>, now: number): Promise<boolean>;
  /** The hold never lapses on its own (the outcome may be unknown from now on). */
  keepHold(intentId: string): Promise<void>;
  /** Released → captured, for a send that turned out to have happened; false when it was not released. */
  reopenHoldAsCaptured(intentId: string, now: number): Promise<boolean>;
  insertCapture(intentId: string, amount: Cents, now: number): Promise<void>;
  /** A capture re-booked from `from` to `to` cents; false when it no longer was `from`. */
  rebookCapture(intentId: string, from: Cents, to: Cents, now: number): Promise<boolean>;
  /**
   * PENDING → DISPATCHING for every intent of the batch whose hold is active and unexpired at
   * `now`; returns how many moved.
   */
  claimBatch(batchId: string, now: number): Promise<number>;
  /** DISPATCHING → PENDING (dispatch time cleared); returns how many moved. */
  unclaimBatch(batchId: string, detail: string, now: number): Promise<number>;
  /** A DISPATCHING batch's dispatch time moves to `now`. */
  redispatchBatch(batchId: string, now: number): Promise<void>;
  /** Moves an intent to `status` only from one of `from`; false when it was in none of them. */
  setStatus(intentId: string, status: IntentStatus, from: readonly IntentStatus[], now: number, detail: string | null): Promise<boolean>;
  /**
   * SENT from one of `from`, keeping any tracking code, send id or response already known where
   * these are null; false when the intent was in none of them.
   */
  setSent(intentId: string, from: readonly IntentStatus[], now: number, sent: { trackingCode: string | null; sendId: number | null; response: string | null; detail?: string }): Promise<boolean>;
  /**
   * FAILED → SENT for a late answer; false (and nothing changed) when it is no longer FAILED or a
   * retry of the same key is live meanwhile, since two live intents for one key cannot be.
   */
  reviveAsSent(intentId: string, now: number, sent: { trackingCode: string | null; response: string; detail: string }): Promise<boolean>;
  /** Ties an intent to its Sendoso send (each only where not yet known). */
  linkSend(intentId: string, sendId: number | null, sendGid: string | null): Promise<void>;
  /** A new pending approval, unless one is already pending for the same request key and payload. */
  insertApproval(approval: Approval): Promise<void>;
  /** Moves an approval to `status` only from one of `from`; false when it was in none of them. */
  decideApproval(id: string, status: ApprovalStatus, from: readonly ApprovalStatus[], by: string | null, reason: string | null, now: number): Promise<boolean>;
  /** Pending approvals past their expiry become expired; returns how many. */
  expireApprovals(now: number): Promise<number>;
  insertObserved(send: HistorySend, scopes: readonly Scope[], now: number): Promise<void>;
  /** An observed send's cost and status move from `from` to `to`; false when it no longer was `from`. */
  updateObserved(sendId: number, from: { cost: Cents; status: string }, to: { cost: Cents; status: string }, now: number): Promise<boolean>;
  /** Keeps a delivery update; false when it was already kept. */
  insertDelivery(intentId: string, status: string, at: number, now: number): Promise<boolean>;
  setSyncMark(name: string, value: number): Promise<void>;
  /** Pins a campaign name to a touch id unless it is pinned already. */
  pinTouch(name: string, touchId: number, now: number): Promise<void>;
  /** Appends to the guard's log (and its index by recipient). */
  audit(event: GuardAuditEvent): Promise<void>;
}

/** A store of the ledger: reads, and transactions that keep the contract above. */
export interface LedgerStorage {
  /** Runs `work` in one transaction (see the module comment); its result once committed. */
  transaction<T>(work: (tx: LedgerTransaction) => Promise<T>): Promise<T>;
  /** Runs reads that need no transaction (each sees committed data). */
  read<T>(work: (reader: LedgerReader) => Promise<T>): Promise<T>;
}
