/**
 * @module The SQLite ledger (better-sqlite3, WAL). Check-and-reserve runs inside one
 * BEGIN IMMEDIATE transaction, so concurrent callers — threads of this process or other processes
 * on the same file — take turns and can never reserve past a cap. Usage per window is kept in
 * running totals (`spend_totals`) updated in the same transactions as holds and captures, so a
 * decision costs the same with ten or a million ledger rows.
 */
import { randomBytes } from 'node:crypto';
import { GiftingError, cents } from '../domain/index.js';
import type { Cents, DecisionReason, SpendKind } from '../domain/index.js';
import type { SqliteDatabase } from '../storage/index.js';
import { evaluate, findGroupPolicy } from './evaluate.js';
import type { LedgerView, SpendCandidate, Usage } from './evaluate.js';
import type {
  Approval,
  ApprovalQuery,
  ApprovalStatus,
  BudgetLine,
  GuardAuditEvent,
  GuardEventEntry,
  GuardEventPage,
  GuardEventQuery,
  HistoryImport,
  HistorySend,
  Intent,
  IntentStatus,
  LedgerPort,
  ReserveInput,
  ReserveResult,
  StoredRequest,
} from './ledger-port.js';
import type { Policy } from './policy-schema.js';
import { windowAt } from './time-windows.js';

const DAY_MS = 86_400_000;
/**
 * How many guard log entries one page searches at most when filtered by anything but a recipient:
 * a filter that matches little does not read the whole log for one page (the page says how far
 * back it searched, and the next searches on).
 */
const GUARD_LOG_SEARCH_WINDOW = 50_000;
/** How far before a send an intent may have been created and still be the one that made it. */
const CLAIM_SKEW_MS = 3_600_000;
const ZERO: Usage = { captured: cents(0), held: cents(0), observed: cents(0) };

type Scope = readonly [scope: string, windowStart: number];

/** Ids: a random per-process prefix and a counter — unique across processes, cheap to make. */
const processTag = randomBytes(4).toString('hex');
let sequence = 0;
const newId = (prefix: string) => `${prefix}_${processTag}${(++sequence).toString(36).padStart(6, '0')}`;

interface IntentRow {
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

interface ApprovalRow {
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

interface GuardAuditRow {
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

const jsonList = (text: string | null): string[] => (text === null ? [] : (JSON.parse(text) as string[]));

const toGuardEvent = (r: GuardAuditRow): GuardEventEntry => ({
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

/** Whom and which group an entry about these intents concerns, for the audit trail's filters. */
function subjectsOf(rows: readonly Pick<IntentRow, 'group_name' | 'recipient_email'>[]): Pick<GuardAuditEvent, 'group' | 'recipientIdentities'> {
  const groups = new Set(rows.map((r) => r.group_name));
  return { group: groups.size === 1 ? [...groups][0] : undefined, recipientIdentities: [...new Set(rows.map((r) => r.recipient_email))] };
}

const toIntent = (r: IntentRow): Intent => ({
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

const toApproval = (r: ApprovalRow): Approval => ({
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

/**
 * The statuses each approval status may follow. A person's decision only ends a pending request;
 * sent and failed only follow approved (failed may still turn out sent after reconciliation).
 */
const APPROVAL_FOLLOWS: Record<ApprovalStatus, readonly ApprovalStatus[]> = {
  pending: [],
  approved: ['pending'],
  denied: ['pending'],
  voided: ['pending'],
  expired: ['pending'],
  sent: ['approved', 'failed'],
  failed: ['approved'],
};

/** The SQLite implementation of the ledger. Synchronous underneath; async at the port. */
export class SqliteLedger implements LedgerPort {
  private readonly s;
  private lastExpiry = Number.NEGATIVE_INFINITY;
  /** Approval listings by filter shape (four at most), each statement prepared once. */
  private readonly approvalQueries = new Map<string, (params: Record<string, unknown>) => ApprovalRow[]>();
  /** Guard log pages by filter shape, each statement prepared once. */
  private readonly guardLogQueries = new Map<string, (params: Record<string, unknown>) => GuardAuditRow[]>();

  constructor(private readonly db: SqliteDatabase) {
    const intentSelect = 'SELECT i.*, c.amount_cents AS captured FROM intents i LEFT JOIN captures c ON c.intent_id = i.id';
    this.s = {
      liveByKey: db.prepare<[string], IntentRow>(`${intentSelect} WHERE i.key = ? AND i.status IN ('PENDING','DISPATCHING','SENT','UNKNOWN')`),
      intent: db.prepare<[string], IntentRow>(`${intentSelect} WHERE i.id = ?`),
      batch: db.prepare<[string, string], IntentRow>(`${intentSelect} WHERE i.id > ? AND i.id < ? ORDER BY i.id`),
      insertIntent: db.prepare(
        `INSERT INTO intents (id, key, batch_id, status, group_name, touch_id, touch_name, recipient_email, recipient_given, kind, amount_cents, currency, payload_hash, request, approval_id, created_at, updated_at, dispatched_at)
         VALUES (@id, @key, @batch, @status, @group, @touchId, @touchName, @recipient, @given, @kind, @amount, @currency, @hash, @request, @approvalId, @now, @now, @dispatchedAt)`,
      ),
      insertHold: db.prepare(`INSERT INTO holds (intent_id, amount_cents, scopes, status, created_at, expires_at) VALUES (?, ?, ?, 'active', ?, ?)`),
      hold: db.prepare<[string], { amount_cents: number; scopes: string; status: string }>('SELECT amount_cents, scopes, status FROM holds WHERE intent_id = ?'),
      closeHold: db.prepare(`UPDATE holds SET status = ?, closed_at = ? WHERE intent_id = ? AND status = 'active'`),
      keepHold: db.prepare('UPDATE holds SET expires_at = NULL WHERE intent_id = ?'),
      insertCapture: db.prepare('INSERT INTO captures (intent_id, amount_cents, captured_at) VALUES (?, ?, ?)'),
      // Six scopes per send, written with one statement.
      bump6: db.prepare(
        `INSERT INTO spend_totals (scope, window_start, held_cents, captured_cents, observed_cents, declared_cents)
         VALUES (?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?)
         ON CONFLICT (scope, window_start) DO UPDATE SET held_cents = held_cents + excluded.held_cents, captured_cents = captured_cents + excluded.captured_cents,
           observed_cents = observed_cents + excluded.observed_cents, declared_cents = declared_cents + excluded.declared_cents`,
      ),
      total: db.prepare<[string, number], { held_cents: number; captured_cents: number; observed_cents: number; declared_cents: number }>(
        'SELECT held_cents, captured_cents, observed_cents, declared_cents FROM spend_totals WHERE scope = ? AND window_start = ?',
      ),
      // A send that was cancelled, refunded or failed never reached the person: it is no gift to count.
      observedRecent: db.prepare<[string, number], { touch_name: string; cost_cents: number; created_at: number; status: string }>(
        `SELECT touch_name, cost_cents, created_at, status FROM observed_sends WHERE recipient_email = ? AND created_at >= ?
           AND status NOT IN ('Address Confirmation - Cancelled', 'Cancelled', 'Expired and Credited', 'Bounced and Credited', 'Refunded', 'Failed')
         ORDER BY created_at DESC`,
      ),
      observedById: db.prepare<[number], { cost_cents: number; status: string; scopes: string; send_gid: string | null }>('SELECT cost_cents, status, scopes, send_gid FROM observed_sends WHERE send_id = ?'),
      insertObserved: db.prepare(
        `INSERT INTO observed_sends (send_id, send_gid, tracking_code, touch_id, touch_name, recipient_email, recipient_given, sender_id, group_name, cost_cents, currency, status, created_at, scopes, imported_at, updated_at)
         VALUES (@id, @gid, @tracking, @touchId, @touchName, @recipient, @given, @senderId, @group, @cost, @currency, @status, @createdAt, @scopes, @now, @now)`,
      ),
      updateObserved: db.prepare('UPDATE observed_sends SET cost_cents = ?, status = ?, updated_at = ? WHERE send_id = ?'),
      intentBySend: db.prepare<[number], IntentRow>(`${intentSelect} WHERE i.sendoso_send_id = ?`),
      intentByTracking: db.prepare<[string], IntentRow>(`${intentSelect} WHERE i.tracking_code = ? AND i.status = 'SENT'`),
      claimants: db.prepare<[string, number, number], { n: number }>(
        `SELECT COUNT(*) AS n FROM intents WHERE recipient_email = ? AND touch_id = ? AND created_at >= ?
           AND (status IN ('PENDING','DISPATCHING','UNKNOWN') OR (status = 'SENT' AND sendoso_send_id IS NULL AND tracking_code IS NULL))`,
      ),
      linkSend: db.prepare('UPDATE intents SET sendoso_send_id = COALESCE(sendoso_send_id, ?), sendoso_send_gid = COALESCE(sendoso_send_gid, ?) WHERE id = ?'),
      capture: db.prepare<[string], { amount_cents: number }>('SELECT amount_cents FROM captures WHERE intent_id = ?'),
      rebook: db.prepare('UPDATE captures SET amount_cents = ?, adjusted_at = ? WHERE intent_id = ?'),
      mark: db.prepare<[string], { value: number }>('SELECT value FROM sync_marks WHERE name = ?'),
      setMark: db.prepare('INSERT INTO sync_marks (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value'),
      sendTakenByObserved: db.prepare<[number], { send_id: number }>('SELECT send_id FROM observed_sends WHERE send_id = ?'),
      byGid: db.prepare<[string], IntentRow>(`${intentSelect} WHERE i.sendoso_send_gid = ?`),
      insertDelivery: db.prepare('INSERT OR IGNORE INTO send_deliveries (intent_id, status, at, recorded_at) VALUES (?, ?, ?, ?)'),
      deliveries: db.prepare<[string], { status: string; at: number }>('SELECT status, at FROM send_deliveries WHERE intent_id = ? ORDER BY at, status'),
      onePerRecipient: db.prepare<[string, number, number], IntentRow>(
        `${intentSelect} WHERE i.recipient_email = ? AND i.created_at >= ? AND i.touch_id = ? AND i.status IN ('PENDING','DISPATCHING','SENT','UNKNOWN')`,
      ),
      redispatch: db.prepare(`UPDATE intents SET dispatched_at = ?, updated_at = ? WHERE id > ? AND id < ? AND status = 'DISPATCHING'`),
      unclaim: db.prepare(`UPDATE intents SET status = 'PENDING', dispatched_at = NULL, updated_at = ?, detail = ? WHERE id > ? AND id < ? AND status = 'DISPATCHING'`),
      recentSends: db.prepare<[string, number], { n: number }>(
        `SELECT COUNT(*) AS n FROM intents WHERE recipient_email = ? AND created_at >= ? AND status IN ('PENDING','DISPATCHING','SENT','UNKNOWN')`,
      ),
      claim: db.prepare(
        `UPDATE intents SET status = 'DISPATCHING', dispatched_at = ?, updated_at = ?
         WHERE id > ? AND id < ? AND status = 'PENDING'
           AND EXISTS (SELECT 1 FROM holds h WHERE h.intent_id = intents.id AND h.status = 'active' AND (h.expires_at IS NULL OR h.expires_at > ?))`,
      ),
      setStatus: db.prepare(`UPDATE intents SET status = ?, updated_at = ?, detail = COALESCE(?, detail) WHERE id = ?`),
      setSent: db.prepare(
        `UPDATE intents SET status = 'SENT', updated_at = ?, tracking_code = COALESCE(?, tracking_code), sendoso_send_id = COALESCE(?, sendoso_send_id), response = COALESCE(?, response) WHERE id = ?`,
      ),
      unresolved: db.prepare<[number], IntentRow>(
        `${intentSelect} WHERE i.status IN ('DISPATCHING', 'UNKNOWN') AND (i.status = 'UNKNOWN' OR i.dispatched_at <= ?) ORDER BY i.dispatched_at, i.id`,
      ),
      matched: db.prepare<[], { id: number }>('SELECT sendoso_send_id AS id FROM intents WHERE sendoso_send_id IS NOT NULL'),
      sendTaken: db.prepare<[number], { id: string }>('SELECT id FROM intents WHERE sendoso_send_id = ?'),
      sentTo: db.prepare<[string, number], IntentRow>(
        `${intentSelect} WHERE i.recipient_email = ? AND i.created_at >= ? AND i.status = 'SENT' ORDER BY i.dispatched_at, i.id`,
      ),
      expiring: db.prepare<[number], { intent_id: string }>(
        `SELECT intent_id FROM holds WHERE status = 'active' AND expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at LIMIT 500`,
      ),
      approvedPending: db.prepare<[], IntentRow>(`${intentSelect} WHERE i.approval_id IS NOT NULL AND i.status = 'PENDING' ORDER BY i.id`),
      ofApproval: db.prepare<[string], IntentRow>(`${intentSelect} WHERE i.approval_id = ? ORDER BY i.id`),
      insertApproval: db.prepare(
        `INSERT OR IGNORE INTO approvals (id, status, payload_hash, request_key, group_name, touch_id, touch_name, recipients, kind, amount_cents, currency, reasons, request, created_at, expires_at)
         VALUES (@id, 'pending', @hash, @key, @group, @touchId, @touchName, @recipients, @kind, @amount, @currency, @reasons, @request, @now, @expires)`,
      ),
      pendingApproval: db.prepare<[string, string], ApprovalRow>(`SELECT * FROM approvals WHERE request_key = ? AND payload_hash = ? AND status = 'pending'`),
      approval: db.prepare<[string], ApprovalRow>('SELECT * FROM approvals WHERE id = ?'),
      decide: db.prepare(
        `UPDATE approvals SET status = @status, decided_at = @now, decided_by = COALESCE(@by, decided_by), decision_reason = COALESCE(@reason, decision_reason)
         WHERE id = @id AND status IN (SELECT value FROM json_each(@from))`,
      ),
      countPending: db.prepare<[number], { n: number }>(`SELECT COUNT(*) AS n FROM approvals WHERE status = 'pending' AND expires_at > ?`),
      expireApprovals: db.prepare(`UPDATE approvals SET status = 'expired', decided_at = ? WHERE status = 'pending' AND expires_at <= ?`),
      pins: db.prepare<[], { name: string; touch_id: number }>('SELECT name, touch_id FROM policy_touch_pins'),
      pin: db.prepare('INSERT OR IGNORE INTO policy_touch_pins (name, touch_id, pinned_at) VALUES (?, ?, ?)'),
      audit: db.prepare(
        `INSERT INTO guard_audit (at, event, group_name, touch_id, recipients, amount_cents, outcome, reasons, caller, intent_ids, approval_id, recipient_ids)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      auditRecipient: db.prepare('INSERT OR IGNORE INTO guard_audit_recipients (recipient, audit_id) VALUES (?, ?)'),
      // Two statements, not MIN and MAX in one: SQLite answers each alone from the primary key's ends.
      firstAudit: db.prepare<[], { id: number }>('SELECT id FROM guard_audit ORDER BY id LIMIT 1'),
      lastAudit: db.prepare<[], { id: number }>('SELECT id FROM guard_audit ORDER BY id DESC LIMIT 1'),
      auditAtOrAfter: db.prepare<[number], { at: number }>('SELECT at FROM guard_audit WHERE id >= ? ORDER BY id LIMIT 1'),
    };
  }

  // ---------------------------------------------------------------- scopes and totals

  /** The running-total rows a send by `group` to `recipient` of `touchId` counts against. */
  private scopes(group: string, touchId: number, recipient: string, policy: Policy, now: number): Scope[] {
    const tz = findGroupPolicy(policy, group)?.timezone ?? policy.timezone;
    const g = group.toLowerCase();
    return [
      [`group:${g}:day`, windowAt(now, 'day', tz).start],
      [`group:${g}:week`, windowAt(now, 'week', tz).start],
      [`group:${g}:month`, windowAt(now, 'month', tz).start],
      [`campaign:${g}:${touchId}`, 0],
      ['global:day', windowAt(now, 'day', policy.timezone).start],
      [`recipient:${recipient}:year`, windowAt(now, 'year', policy.timezone).start],
    ];
  }

  private usage(scope: string, windowStart: number): Usage & { declared: Cents } {
    const row = this.s.total.get(scope, windowStart);
    return row
      ? { captured: cents(row.captured_cents), held: cents(row.held_cents), observed: cents(row.observed_cents), declared: cents(row.declared_cents) }
      : { ...ZERO, observed: cents(0), declared: cents(0) };
  }

  /** Moves the running totals of six scopes: held, captured (and what it was declared to cost), observed. */
  private bump(scopes: readonly Scope[], held: number, captured: number, observed = 0, declared = 0): void {
    if (scopes.length !== 6) throw new Error(`expected 6 scopes, got ${scopes.length}`);
    this.s.bump6.run(...scopes.flatMap(([scope, start]) => [scope, start, held, captured, observed, declared]));
  }

  private viewSync(candidate: SpendCandidate, policy: Policy, now: number): LedgerView {
    const group = findGroupPolicy(policy, candidate.group);
    const name = group ? String(group.group) : String(candidate.group ?? '');
    const [day, week, month, campaign, globalDay] = this.scopes(name, candidate.touch.id, '', policy, now) as unknown as [Scope, Scope, Scope, Scope, Scope];
    const read = ([scope, start]: Scope): Usage => this.usage(scope, start);
    const perDays = group?.per_recipient.max_sends?.per_days ?? 0;
    const recipients: Record<string, LedgerView['recipients'][string]> = {};
    for (const email of candidate.recipients) {
      const year = this.scopes(name, candidate.touch.id, email, policy, now)[5]!;
      const since = now - perDays * DAY_MS;
      recipients[email] = {
        year: this.usage(year[0], year[1]),
        recentSends: perDays > 0 ? this.s.recentSends.get(email, since)!.n : 0,
        observed:
          perDays > 0
            ? this.s.observedRecent.all(email, since).map((o) => ({ touchName: o.touch_name, cost: cents(o.cost_cents), daysAgo: Math.floor((now - o.created_at) / DAY_MS), status: o.status }))
            : [],
      };
    }
    return { day: read(day), week: read(week), month: read(month), campaign: read(campaign), globalDay: read(globalDay), recipients };
  }

  /** The intents of a batch: ids are "<batch>.<n>", so the batch is the key range after "<batch>.". */
  private batchRows(batchId: string): IntentRow[] {
    return this.s.batch.all(`${batchId}.`, `${batchId}/`);
  }

  // ---------------------------------------------------------------- reserve and lifecycle

  async reserve(input: ReserveInput): Promise<ReserveResult> {
    return this.reserveSync(input);
  }

  /** Synchronous core of `reserve`; one IMMEDIATE transaction. */
  reserveSync(input: ReserveInput): ReserveResult {
    const run = this.db.transaction((): ReserveResult => {
      // Expired holds are few and age slowly; sweeping once a second is plenty.
      if (input.now - this.lastExpiry >= 1000) {
        this.expireHoldsSync(input.now);
        this.lastExpiry = input.now;
      }
      // An approval is decided once: of two people approving at once, the second finds it decided.
      if (input.approvalId !== undefined) {
        const approval = this.s.approval.get(input.approvalId);
        if (approval?.status !== 'pending') throw new GiftingError('bad_request', `Approval ${input.approvalId} is ${approval?.status ?? 'unknown'}, not pending`);
      }
      const existing = input.keys.flatMap((key) => this.s.liveByKey.all(key)).map(toIntent);
      if (existing.length > 0) return { kind: 'existing', intents: existing };
      if (input.onePerRecipientSince !== undefined) {
        const since = input.onePerRecipientSince;
        const same = input.candidate.recipients.flatMap((email) => this.s.onePerRecipient.all(email, since, input.candidate.touch.id)).map(toIntent);
        if (same.length > 0) return { kind: 'existing', intents: same };
      }

      const view = this.viewSync(input.candidate, input.policy, input.now);
      const decision = evaluate(input.candidate, input.policy, view, { approved: input.approvalId !== undefined });
      const record = (intentIds?: string[], approvalId?: string) =>
        this.auditSync({
          at: input.now,
          event: input.approvalId ? 'approval_reserve' : 'decision',
          group: decision.groupName ?? (input.candidate.group === undefined ? undefined : String(input.candidate.group)),
          touchId: input.candidate.touch.id,
          recipients: input.candidate.recipients.length,
          amount: decision.total,
          outcome: decision.dryRun ? `dry_run:${decision.outcome}` : decision.outcome,
          reasons: decision.reasons.map((r) => r.code),
          caller: input.caller,
          intentIds,
          approvalId: approvalId ?? input.approvalId,
          recipientIdentities: input.candidate.recipients,
        });
      if (decision.outcome === 'deny' || decision.dryRun) {
        record();
        return { kind: 'decided', decision, view };
      }
      const group = decision.groupName!;
      const amount = decision.costPerSend!;

      if (decision.outcome === 'needs_approval') {
        const base = {
          hash: input.payloadHash,
          key: input.requestKey,
          group,
          touchId: input.candidate.touch.id,
          touchName: input.candidate.touch.name,
          recipients: JSON.stringify(input.candidate.recipients),
          kind: input.candidate.kind,
          amount,
          currency: input.candidate.touch.currency,
          reasons: JSON.stringify(decision.reasons),
          request: JSON.stringify(input.request),
          now: input.now,
          expires: input.now + input.policy.approvalLifetimeMs,
        };
        this.s.insertApproval.run({ id: newId('apr'), ...base });
        const approval = this.s.pendingApproval.get(input.requestKey, input.payloadHash)!;
        record(undefined, approval.id);
        return { kind: 'approval', decision, approval: toApproval(approval) };
      }

      const batch = newId('bat');
      // A hold of an intent dispatched in this very transaction must never lapse on its own.
      const expires = input.dispatchNow ? null : input.now + input.policy.holdLifetimeMs;
      const ids: string[] = [];
      const intents: Intent[] = [];
      const requestJson = JSON.stringify(input.request);
      input.candidate.recipients.forEach((recipient, index) => {
        const id = `${batch}.${index}`;
        ids.push(id);
        intents.push({
          id,
          key: input.keys[index]!,
          batchId: batch,
          status: input.dispatchNow ? 'DISPATCHING' : 'PENDING',
          group,
          touchId: input.candidate.touch.id,
          touchName: input.candidate.touch.name,
          recipient,
          recipientGiven: input.candidate.given?.[index] ?? recipient,
          kind: input.candidate.kind,
          amount,
          currency: input.candidate.touch.currency,
          approvalId: input.approvalId ?? null,
          payloadHash: input.payloadHash,
          createdAt: input.now,
          dispatchedAt: input.dispatchNow ? input.now : null,
          sendosoSendId: null,
          trackingCode: null,
          capturedAmount: null,
          response: null,
          detail: null,
          request: input.request,
        });
        this.s.insertIntent.run({
          id,
          key: input.keys[index]!,
          batch,
          group,
          touchId: input.candidate.touch.id,
          touchName: input.candidate.touch.name,
          recipient,
          given: input.candidate.given?.[index] ?? recipient,
          kind: input.candidate.kind,
          amount,
          currency: input.candidate.touch.currency,
          hash: input.payloadHash,
          request: requestJson,
          approvalId: input.approvalId ?? null,
          status: input.dispatchNow ? 'DISPATCHING' : 'PENDING',
          dispatchedAt: input.dispatchNow ? input.now : null,
          now: input.now,
        });
        const scopes = this.scopes(group, input.candidate.touch.id, recipient, input.policy, input.now);
        this.s.insertHold.run(id, amount, JSON.stringify(scopes), input.now, expires);
        this.bump(scopes, amount, 0);
      });
      record(ids);
      // Approved in the same transaction that reserved it, so a denial racing this approval either
      // came first (and nothing was reserved) or finds it approved.
      if (input.approvalId !== undefined) this.decideApprovalSync(input.approvalId, 'approved', input.caller, null, input.now);
      return { kind: 'reserved', decision, intents };
    });
    return run.immediate();
  }

  async claim(batchId: string, now: number): Promise<boolean> {
    const run = this.db.transaction(() => {
      const intents = this.batchRows(batchId);
      const changed = this.s.claim.run(now, now, `${batchId}.`, `${batchId}/`, now).changes;
      if (changed !== intents.length) {
        if (changed > 0) throw new Error(`batch ${batchId} was claimed only in part`);
        return false;
      }
      // From here on the outcome may become unknown: the hold must never lapse on its own.
      for (const intent of intents) this.s.keepHold.run(intent.id);
      return true;
    });
    return run.immediate();
  }

  /** Closes a hold: capture (at `capture` cents) or release; keeps the running totals in step. */
  private closeHold(intentId: string, capture: number | undefined, now: number): void {
    const hold = this.s.hold.get(intentId);
    if (!hold || hold.status !== 'active') return;
    const scopes = JSON.parse(hold.scopes) as Scope[];
    if (capture === undefined) {
      this.s.closeHold.run('released', now, intentId);
      this.bump(scopes, -hold.amount_cents, 0);
    } else {
      this.s.closeHold.run('captured', now, intentId);
      this.s.insertCapture.run(intentId, capture, now);
      this.bump(scopes, -hold.amount_cents, capture, 0, hold.amount_cents);
    }
  }

  async markSent(batchId: string, response: unknown, now: number): Promise<void> {
    const tracking = typeof (response as { tracking_code?: unknown })?.tracking_code === 'string' ? (response as { tracking_code: string }).tracking_code : null;
    const run = this.db.transaction(() => {
      const changed: string[] = [];
      const late: string[] = [];
      const rows = this.batchRows(batchId);
      for (const intent of rows) {
        if (intent.status === 'FAILED') {
          // Reconciliation gave up on it while the answer was still coming: the send happened,
          // so the ledger says so and books it — never lose a send that Sendoso charged.
          const revive = this.db.transaction(() => {
            const hold = this.s.hold.get(intent.id);
            this.s.setSent.run(now, tracking, null, JSON.stringify(response ?? null), intent.id);
            this.s.setStatus.run('SENT', now, 'answered after reconciliation had given up on it', intent.id);
            if (hold?.status === 'released') {
              this.s.closeHold.run('captured', now, intent.id);
              this.s.insertCapture.run(intent.id, intent.amount_cents, now);
              this.bump(JSON.parse(hold.scopes) as Scope[], 0, intent.amount_cents, 0, intent.amount_cents);
            }
          });
          try {
            revive();
            late.push(intent.id);
          } catch {
            // A retry of the same request is live meanwhile (the unique key): Sendoso has two sends.
            this.auditSync({ at: now, event: 'dispatch', outcome: 'duplicate_send', intentIds: [intent.id], reasons: ['late_answer'], ...subjectsOf([intent]) });
          }
          continue;
        }
        if (intent.status !== 'DISPATCHING' && intent.status !== 'UNKNOWN') continue;
        this.s.setSent.run(now, tracking, null, JSON.stringify(response ?? null), intent.id);
        this.closeHold(intent.id, intent.amount_cents, now);
        changed.push(intent.id);
      }
      const concerned = (ids: readonly string[]) => subjectsOf(rows.filter((r) => ids.includes(r.id)));
      this.auditSync({ at: now, event: 'dispatch', outcome: 'sent', intentIds: [...changed, ...late], ...concerned([...changed, ...late]) });
      if (late.length > 0) this.auditSync({ at: now, event: 'dispatch', outcome: 'late_answer', intentIds: late, ...concerned(late) });
    });
    run.immediate();
  }

  async redispatch(batchId: string, now: number): Promise<void> {
    this.s.redispatch.run(now, now, `${batchId}.`, `${batchId}/`);
  }

  async unclaim(batchId: string, detail: string, now: number): Promise<void> {
    const run = this.db.transaction(() => {
      const changed = this.s.unclaim.run(now, detail, `${batchId}.`, `${batchId}/`).changes;
      if (changed > 0) {
        const rows = this.batchRows(batchId);
        this.auditSync({ at: now, event: 'dispatch', outcome: 'requeued', intentIds: rows.map((i) => i.id), reasons: [detail], ...subjectsOf(rows) });
      }
    });
    run.immediate();
  }

  async markFailed(batchId: string, code: string, detail: string, now: number): Promise<void> {
    const run = this.db.transaction(() => {
      const changed: IntentRow[] = [];
      for (const intent of this.batchRows(batchId)) {
        if (intent.status !== 'DISPATCHING') continue;
        this.s.setStatus.run('FAILED', now, detail, intent.id);
        this.closeHold(intent.id, undefined, now);
        changed.push(intent);
      }
      this.auditSync({ at: now, event: 'dispatch', outcome: 'failed', intentIds: changed.map((i) => i.id), reasons: [code], ...subjectsOf(changed) });
    });
    run.immediate();
  }

  async markUnknown(batchId: string, code: string, detail: string, now: number): Promise<void> {
    const run = this.db.transaction(() => {
      const changed: IntentRow[] = [];
      for (const intent of this.batchRows(batchId)) {
        if (intent.status !== 'DISPATCHING') continue;
        this.s.setStatus.run('UNKNOWN', now, detail, intent.id);
        changed.push(intent);
      }
      if (changed.length > 0) this.auditSync({ at: now, event: 'dispatch', outcome: 'unknown', intentIds: changed.map((i) => i.id), reasons: [code], ...subjectsOf(changed) });
    });
    run.immediate();
  }

  async unresolved(now: number, staleDispatchMs: number): Promise<Intent[]> {
    return this.s.unresolved.all(now - staleDispatchMs).map(toIntent);
  }

  async resolveSent(intentId: string, found: { sendId: number; cost: Cents; trackingCode: string | null }, now: number): Promise<boolean> {
    const run = this.db.transaction((): boolean => {
      const intent = this.s.intent.get(intentId);
      if (!intent || (intent.status !== 'UNKNOWN' && intent.status !== 'DISPATCHING')) return false;
      // Matched to another intent by a concurrent reconciliation: that pairing stands.
      if (this.s.sendTaken.get(found.sendId)) return false;
      this.s.setSent.run(now, found.trackingCode, found.sendId, null, intentId);
      this.s.setStatus.run('SENT', now, 'found in Sendoso by reconciliation', intentId);
      this.closeHold(intentId, found.cost, now);
      this.auditSync({ at: now, event: 'reconcile', outcome: 'sent', intentIds: [intentId], amount: found.cost, ...subjectsOf([intent]) });
      return true;
    });
    return run.immediate();
  }

  async resolveFailed(intentId: string, detail: string, now: number): Promise<boolean> {
    const run = this.db.transaction((): boolean => {
      const intent = this.s.intent.get(intentId);
      if (!intent || (intent.status !== 'UNKNOWN' && intent.status !== 'DISPATCHING')) return false;
      this.s.setStatus.run('FAILED', now, detail, intentId);
      this.closeHold(intentId, undefined, now);
      this.auditSync({ at: now, event: 'reconcile', outcome: 'failed', intentIds: [intentId], ...subjectsOf([intent]) });
      return true;
    });
    return run.immediate();
  }

  async sentTo(recipients: readonly string[], since: number): Promise<Intent[]> {
    return [...new Set(recipients)].flatMap((email) => this.s.sentTo.all(email, since).map(toIntent));
  }

  async matchedSendIds(): Promise<Set<number>> {
    return new Set(this.s.matched.all().map((r) => r.id));
  }

  private expireHoldsSync(now: number): number {
    const due = this.s.expiring.all(now);
    for (const { intent_id } of due) {
      const intent = this.s.intent.get(intent_id);
      if (intent?.status !== 'PENDING') continue;
      this.s.setStatus.run('EXPIRED', now, 'hold expired before dispatch', intent_id);
      this.closeHold(intent_id, undefined, now);
    }
    return due.length;
  }

  async expireHolds(now: number): Promise<number> {
    return this.db.transaction(() => this.expireHoldsSync(now)).immediate();
  }

  async intent(id: string): Promise<Intent | undefined> {
    const row = this.s.intent.get(id);
    return row ? toIntent(row) : undefined;
  }

  async approvedPending(): Promise<Intent[]> {
    return this.s.approvedPending.all().map(toIntent);
  }

  async intentsOfApproval(approvalId: string): Promise<Intent[]> {
    return this.s.ofApproval.all(approvalId).map(toIntent);
  }

  async approval(id: string): Promise<Approval | undefined> {
    const row = this.s.approval.get(id);
    return row ? toApproval(row) : undefined;
  }

  async approvals(query: ApprovalStatus | ApprovalQuery = {}): Promise<Approval[]> {
    const { status, group, limit } = typeof query === 'string' ? { status: query } : query;
    const where = [...(status !== undefined ? ['status = @status'] : []), ...(group !== undefined ? ['group_name = @group COLLATE NOCASE'] : [])];
    const sql = `SELECT * FROM approvals${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id${limit !== undefined ? ' LIMIT @limit' : ''}`;
    let list = this.approvalQueries.get(sql);
    if (!list) {
      const statement = this.db.prepare<[Record<string, unknown>], ApprovalRow>(sql);
      list = (params) => statement.all(params);
      this.approvalQueries.set(sql, list);
    }
    return list({ ...(status !== undefined && { status }), ...(group !== undefined && { group }), ...(limit !== undefined && { limit }) }).map(toApproval);
  }

  async decideApproval(id: string, status: ApprovalStatus, by: string | null, reason: string | null, now: number): Promise<boolean> {
    return this.db.transaction(() => this.decideApprovalSync(id, status, by, reason, now))();
  }

  private decideApprovalSync(id: string, status: ApprovalStatus, by: string | null, reason: string | null, now: number): boolean {
    const changed = this.s.decide.run({ status, now, by, reason, id, from: JSON.stringify(APPROVAL_FOLLOWS[status]) }).changes > 0;
    if (!changed) return false;
    const approval = this.s.approval.get(id);
    this.auditSync({
      at: now,
      event: 'approval',
      outcome: status,
      approvalId: id,
      ...(by !== null && { caller: by }),
      ...(approval && { group: approval.group_name, recipientIdentities: JSON.parse(approval.recipients) as string[] }),
    });
    return true;
  }

  async countPendingApprovals(now: number): Promise<number> {
    return this.s.countPending.get(now)!.n;
  }

  async expireApprovals(now: number): Promise<number> {
    return this.s.expireApprovals.run(now, now).changes;
  }

  async view(candidate: SpendCandidate, policy: Policy, now: number): Promise<LedgerView> {
    return this.viewSync(candidate, policy, now);
  }

  async budget(group: string, policy: Policy, now: number): Promise<BudgetLine[]> {
    const groupPolicy = findGroupPolicy(policy, group);
    const name = groupPolicy ? String(groupPolicy.group) : group;
    const [day, week, month] = this.scopes(name, 0, '', policy, now);
    const caps = groupPolicy?.caps;
    const countObserved = policy.outsideSends.count;
    const line = (window: string, scope: Scope, cap: Cents | undefined): BudgetLine => {
      const usage = this.usage(...scope);
      const used = usage.captured + usage.held + (countObserved ? usage.observed! : 0);
      return { window, cap, captured: usage.captured, declared: usage.declared, held: usage.held, observed: usage.observed!, available: cap === undefined ? undefined : cents(cap - used) };
    };
    return [line('day', day!, caps?.per_day), line('week', week!, caps?.per_week), line('month', month!, caps?.per_month)];
  }

  async recordGuardEvent(event: GuardAuditEvent): Promise<void> {
    this.auditSync(event);
  }

  async guardEvents(query: GuardEventQuery): Promise<GuardEventPage> {
    const first = this.s.firstAudit.get()?.id;
    const last = this.s.lastAudit.get()?.id;
    if (first === undefined || last === undefined || query.limit <= 0) return { entries: [] };
    // Entries are appended in time order: a time range is an id range, found by primary-key seeks.
    const idAtOrAfter = (at: number): number => {
      let low = first;
      let high = last + 1;
      while (low < high) {
        const mid = Math.floor((low + high) / 2);
        const row = this.s.auditAtOrAfter.get(mid);
        if (row !== undefined && row.at < at) low = mid + 1;
        else high = mid;
      }
      return low;
    };
    const low = query.since === undefined ? first : idAtOrAfter(query.since);
    const high = Math.min(query.before ?? last + 1, query.until === undefined ? last + 1 : idAtOrAfter(query.until));
    if (high <= low) return { entries: [] };
    // A recipient's entries come from their own index, however far back; anything else searches a window.
    const floor = query.recipient === undefined ? Math.max(low, high - GUARD_LOG_SEARCH_WINDOW) : low;
    const params: Record<string, unknown> = { floor, high, limit: query.limit + 1 };
    const where: string[] = [];
    let from: string;
    if (query.recipient !== undefined) {
      from = 'guard_audit_recipients r JOIN guard_audit a ON a.id = r.audit_id';
      where.push('r.recipient = @recipient', 'r.audit_id >= @floor', 'r.audit_id < @high');
      params.recipient = query.recipient;
    } else {
      from = 'guard_audit a';
      where.push('a.id >= @floor', 'a.id < @high');
    }
    if (query.group !== undefined) {
      where.push('a.group_name = @group COLLATE NOCASE');
      params.group = query.group;
    }
    if (query.event !== undefined) {
      where.push('a.event = @event');
      params.event = query.event;
    }
    if (query.outcome !== undefined) {
      where.push('a.outcome = @outcome');
      params.outcome = query.outcome;
    }
    // Exact within the id range, whatever clocks did between processes.
    if (query.since !== undefined) {
      where.push('a.at >= @since');
      params.since = query.since;
    }
    if (query.until !== undefined) {
      where.push('a.at < @until');
      params.until = query.until;
    }
    const sql = `SELECT a.* FROM ${from} WHERE ${where.join(' AND ')} ORDER BY ${query.recipient === undefined ? 'a.id' : 'r.audit_id'} DESC LIMIT @limit`;
    let read = this.guardLogQueries.get(sql);
    if (!read) {
      const statement = this.db.prepare<[Record<string, unknown>], GuardAuditRow>(sql);
      read = (p) => statement.all(p);
      this.guardLogQueries.set(sql, read);
    }
    const entries = read(params).map(toGuardEvent);
    if (entries.length > query.limit) {
      entries.length = query.limit;
      return { entries, older: entries[entries.length - 1]!.id };
    }
    return floor > low ? { entries, older: floor, searchedBackTo: this.s.auditAtOrAfter.get(floor)?.at } : { entries };
  }

  async importHistory(sends: readonly HistorySend[], policy: Policy, now: number): Promise<HistoryImport> {
    const run = this.db.transaction((): HistoryImport => {
      const counts = { ours: 0, imported: 0, updated: 0, rebooked: 0, skipped: 0 };
      for (const send of sends) {
        // A send giftguard made: learn its id and gid; book it at what Sendoso charged.
        const intent = this.s.intentBySend.get(send.id) ?? (send.trackingCode ? this.s.intentByTracking.get(send.trackingCode) : undefined);
        if (intent) {
          counts.ours += 1;
          if (intent.sendoso_send_id === null && !this.s.sendTaken.get(send.id)) this.s.linkSend.run(send.id, send.sendGid, intent.id);
          else if (intent.sendoso_send_gid === null) this.s.linkSend.run(null, send.sendGid, intent.id);
          const captured = this.s.capture.get(intent.id);
          const hold = this.s.hold.get(intent.id);
          if (intent.status === 'SENT' && captured && hold && captured.amount_cents !== send.cost) {
            this.s.rebook.run(send.cost, now, intent.id);
            this.bump(JSON.parse(hold.scopes) as Scope[], 0, send.cost - captured.amount_cents);
            this.auditSync({ at: now, event: 'rebook', outcome: 'captured', intentIds: [intent.id], amount: cents(send.cost), ...subjectsOf([intent]) });
            counts.rebooked += 1;
          }
          continue;
        }
        const seen = this.s.observedById.get(send.id);
        if (seen) {
          if (seen.cost_cents !== send.cost || seen.status !== send.status) {
            this.s.updateObserved.run(send.cost, send.status, now, send.id);
            this.bump(JSON.parse(seen.scopes) as Scope[], 0, 0, send.cost - seen.cost_cents);
            counts.updated += 1;
          }
          continue;
        }
        // Possibly giftguard's own, not yet tied to its intent: reconciliation decides, not this.
        if (this.s.claimants.get(send.recipient, send.touchId, send.createdAt - CLAIM_SKEW_MS)!.n > 0) {
          counts.skipped += 1;
          continue;
        }
        const group = send.senderGroup ?? 'unknown sender';
        const scopes = this.scopes(group, send.touchId, send.recipient, policy, send.createdAt);
        this.s.insertObserved.run({
          id: send.id,
          gid: send.sendGid,
          tracking: send.trackingCode,
          touchId: send.touchId,
          touchName: send.touchName,
          recipient: send.recipient,
          given: send.recipientGiven,
          senderId: send.senderId,
          group: send.senderGroup,
          cost: send.cost,
          currency: send.currency,
          status: send.status,
          createdAt: send.createdAt,
          scopes: JSON.stringify(scopes),
          now,
        });
        this.bump(scopes, 0, 0, send.cost);
        counts.imported += 1;
      }
      return counts;
    });
    return run.immediate();
  }

  async intentsBySendGid(sendGid: string): Promise<Intent[]> {
    return this.s.byGid.all(sendGid).map(toIntent);
  }

  async recordDeliveries(intentId: string, updates: readonly { status: string; at: number }[], now: number): Promise<{ status: string; at: number }[]> {
    return this.db.transaction(() => {
      const fresh = updates.filter((u) => this.s.insertDelivery.run(intentId, u.status, u.at, now).changes > 0);
      if (fresh.length > 0) {
        const intent = this.s.intent.get(intentId);
        this.auditSync({ at: now, event: 'delivery', outcome: fresh.map((u) => u.status).join(' → '), intentIds: [intentId], ...(intent && subjectsOf([intent])) });
      }
      return fresh;
    })();
  }

  async deliveries(intentId: string): Promise<{ status: string; at: number }[]> {
    return this.s.deliveries.all(intentId);
  }

  async syncMark(name: string): Promise<number | undefined> {
    return this.s.mark.get(name)?.value;
  }

  async setSyncMark(name: string, value: number): Promise<void> {
    this.s.setMark.run(name, value);
  }

  async touchPins(): Promise<Map<string, number>> {
    return new Map(this.s.pins.all().map((r) => [r.name, r.touch_id]));
  }

  async pinTouches(pins: ReadonlyMap<string, number>, now: number): Promise<void> {
    // The first pin of a name wins, whichever process made it.
    this.db.transaction(() => {
      for (const [name, touchId] of pins) this.s.pin.run(name, touchId, now);
    })();
  }

  private auditSync(event: GuardAuditEvent): void {
    const { lastInsertRowid } = this.s.audit.run(
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
    );
    if (event.recipientIdentities) for (const recipient of new Set(event.recipientIdentities)) this.s.auditRecipient.run(recipient, lastInsertRowid);
  }
}

