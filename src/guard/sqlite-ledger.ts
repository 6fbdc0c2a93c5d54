/**
 * @module The ledger's SQLite store (better-sqlite3, WAL): the storage primitives of
 * ledger-storage.ts as prepared statements, and transactions that keep its contract.
 *
 * Concurrency: every transaction is `BEGIN IMMEDIATE … COMMIT`, which takes the database's write
 * lock at the start, so a transaction runs alone — other processes wait for it (busy_timeout), and
 * check-and-reserve can never interleave with another writer. better-sqlite3 is one synchronous
 * connection while the ledger above is async: between two of a transaction's awaits another call
 * of this process could otherwise run a statement inside the open transaction. So each
 * connection's transactions and reads go through one queue, one at a time; `lockTotals` is then a
 * plain read. Usage per window comes from the running totals (`spend_totals`), so a decision costs
 * the same with ten or a million ledger rows.
 */
import { cents } from '../domain/index.js';
import type { Cents } from '../domain/index.js';
import type { SqliteDatabase } from '../storage/index.js';
import { Ledger } from './ledger.js';
import type { ApprovalRow, GuardAuditRow, IntentRow, RecentObservedRow } from './ledger-rows.js';
import { INTENT_SELECT, REACHED, auditColumns, toApproval, toGuardEvent, toIntent, toRecentObserved } from './ledger-rows.js';
import { TotalsMovedError } from './ledger-storage.js';
import type { AuditPageFilter, HoldRecord, LedgerReader, LedgerStorage, LedgerTransaction, ObservedRecord, Scope, ScopeTotals, TotalsCeiling, TotalsDelta } from './ledger-storage.js';
import type { Approval, ApprovalQuery, ApprovalStatus, GuardAuditEvent, HistorySend, Intent, IntentStatus } from './ledger-port.js';

const NO_TOTALS: ScopeTotals = { captured: cents(0), held: cents(0), observed: cents(0), declared: cents(0) };

/** One queue per connection, whichever store object uses it (see the module comment). */
const queues = new WeakMap<SqliteDatabase, { tail: Promise<unknown> }>();

function queued<T>(db: SqliteDatabase, work: () => Promise<T>): Promise<T> {
  let queue = queues.get(db);
  if (!queue) {
    queue = { tail: Promise.resolve() };
    queues.set(db, queue);
  }
  const run = queue.tail.then(work, work);
  queue.tail = run.catch(() => undefined);
  return run;
}

const FROM_FAILED = JSON.stringify(['FAILED']);
const isUniqueViolation = (error: unknown) => (error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE';

/** The SQLite store of the ledger. */
export class SqliteLedgerStorage implements LedgerStorage {
  private readonly s;
  private readonly access: LedgerTransaction;
  /** The open transaction's ceilings (`limitTotals`), checked just before it commits. */
  private ceilings: { scope: Scope; ceiling: TotalsCeiling }[] = [];
  /** Approval listings by filter shape (four at most), each statement prepared once. */
  private readonly approvalQueries = new Map<string, (params: Record<string, unknown>) => ApprovalRow[]>();
  /** Guard log pages by filter shape, each statement prepared once. */
  private readonly guardLogQueries = new Map<string, (params: Record<string, unknown>) => GuardAuditRow[]>();

  constructor(private readonly db: SqliteDatabase) {
    const live = `('PENDING','DISPATCHING','SENT','UNKNOWN')`;
    this.s = {
      begin: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
      liveByKey: db.prepare<[string], IntentRow>(`${INTENT_SELECT} WHERE i.key = ? AND i.status IN ${live}`),
      intent: db.prepare<[string], IntentRow>(`${INTENT_SELECT} WHERE i.id = ?`),
      batch: db.prepare<[string, string], IntentRow>(`${INTENT_SELECT} WHERE i.id > ? AND i.id < ? ORDER BY i.id`),
      insertIntent: db.prepare(
        `INSERT INTO intents (id, key, batch_id, status, group_name, touch_id, touch_name, recipient_email, recipient_given, kind, amount_cents, currency, payload_hash, request, approval_id, created_at, updated_at, dispatched_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      insertHold: db.prepare(`INSERT INTO holds (intent_id, amount_cents, scopes, status, created_at, expires_at) VALUES (?, ?, ?, 'active', ?, ?)`),
      hold: db.prepare<[string], { amount_cents: number; scopes: string; status: HoldRecord['status'] }>('SELECT amount_cents, scopes, status FROM holds WHERE intent_id = ?'),
      closeHold: db.prepare(`UPDATE holds SET status = ?, closed_at = ? WHERE intent_id = ? AND status = 'active'`),
      reopenHold: db.prepare(`UPDATE holds SET status = 'captured', closed_at = ? WHERE intent_id = ? AND status = 'released'`),
      keepHold: db.prepare('UPDATE holds SET expires_at = NULL WHERE intent_id = ?'),
      insertCapture: db.prepare('INSERT INTO captures (intent_id, amount_cents, captured_at) VALUES (?, ?, ?)'),
      // Six scopes per send, written with one statement.
      bump6: db.prepare(
        `INSERT INTO spend_totals (scope, window_start, held_cents, captured_cents, observed_cents, declared_cents)
         VALUES (?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?)
         ON CONFLICT (scope, window_start) DO UPDATE SET held_cents = held_cents + excluded.held_cents, captured_cents = captured_cents + excluded.captured_cents,
           observed_cents = observed_cents + excluded.observed_cents, declared_cents = declared_cents + excluded.declared_cents`,
      ),
      bump1: db.prepare(
        `INSERT INTO spend_totals (scope, window_start, held_cents, captured_cents, observed_cents, declared_cents) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (scope, window_start) DO UPDATE SET held_cents = held_cents + excluded.held_cents, captured_cents = captured_cents + excluded.captured_cents,
           observed_cents = observed_cents + excluded.observed_cents, declared_cents = declared_cents + excluded.declared_cents`,
      ),
      total: db.prepare<[string, number], { held_cents: number; captured_cents: number; observed_cents: number; declared_cents: number }>(
        'SELECT held_cents, captured_cents, observed_cents, declared_cents FROM spend_totals WHERE scope = ? AND window_start = ?',
      ),
      observedRecent: db.prepare<[string, number], RecentObservedRow>(
        `SELECT touch_name, cost_cents, created_at, status FROM observed_sends WHERE recipient_email = ? AND created_at >= ? AND ${REACHED} ORDER BY created_at DESC`,
      ),
      observedById: db.prepare<[number], { cost_cents: number; status: string; scopes: string }>('SELECT cost_cents, status, scopes FROM observed_sends WHERE send_id = ?'),
      insertObserved: db.prepare(
        `INSERT INTO observed_sends (send_id, send_gid, tracking_code, touch_id, touch_name, recipient_email, recipient_given, sender_id, group_name, cost_cents, currency, status, created_at, scopes, imported_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      updateObserved: db.prepare('UPDATE observed_sends SET cost_cents = ?, status = ?, updated_at = ? WHERE send_id = ? AND cost_cents = ? AND status = ?'),
      intentBySend: db.prepare<[number], IntentRow>(`${INTENT_SELECT} WHERE i.sendoso_send_id = ?`),
      intentByTracking: db.prepare<[string], IntentRow>(`${INTENT_SELECT} WHERE i.tracking_code = ? AND i.status = 'SENT'`),
      claimants: db.prepare<[string, number, number], { n: number }>(
        `SELECT COUNT(*) AS n FROM intents WHERE recipient_email = ? AND touch_id = ? AND created_at >= ?
           AND (status IN ('PENDING','DISPATCHING','UNKNOWN') OR (status = 'SENT' AND sendoso_send_id IS NULL AND tracking_code IS NULL))`,
      ),
      linkSend: db.prepare('UPDATE intents SET sendoso_send_id = COALESCE(sendoso_send_id, ?), sendoso_send_gid = COALESCE(sendoso_send_gid, ?) WHERE id = ?'),
      capture: db.prepare<[string], { amount_cents: number }>('SELECT amount_cents FROM captures WHERE intent_id = ?'),
      rebook: db.prepare('UPDATE captures SET amount_cents = ?, adjusted_at = ? WHERE intent_id = ? AND amount_cents = ?'),
      mark: db.prepare<[string], { value: number }>('SELECT value FROM sync_marks WHERE name = ?'),
      setMark: db.prepare('INSERT INTO sync_marks (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value'),
      byGid: db.prepare<[string], IntentRow>(`${INTENT_SELECT} WHERE i.sendoso_send_gid = ?`),
      insertDelivery: db.prepare('INSERT OR IGNORE INTO send_deliveries (intent_id, status, at, recorded_at) VALUES (?, ?, ?, ?)'),
      deliveries: db.prepare<[string], { status: string; at: number }>('SELECT status, at FROM send_deliveries WHERE intent_id = ? ORDER BY at, status'),
      liveForRecipient: db.prepare<[string, number, number], IntentRow>(`${INTENT_SELECT} WHERE i.recipient_email = ? AND i.created_at >= ? AND i.touch_id = ? AND i.status IN ${live}`),
      redispatch: db.prepare(`UPDATE intents SET dispatched_at = ?, updated_at = ? WHERE id > ? AND id < ? AND status = 'DISPATCHING'`),
      unclaim: db.prepare(`UPDATE intents SET status = 'PENDING', dispatched_at = NULL, updated_at = ?, detail = ? WHERE id > ? AND id < ? AND status = 'DISPATCHING'`),
      recentSends: db.prepare<[string, number], { n: number }>(`SELECT COUNT(*) AS n FROM intents WHERE recipient_email = ? AND created_at >= ? AND status IN ${live}`),
      claim: db.prepare(
        `UPDATE intents SET status = 'DISPATCHING', dispatched_at = ?, updated_at = ?
         WHERE id > ? AND id < ? AND status = 'PENDING'
           AND EXISTS (SELECT 1 FROM holds h WHERE h.intent_id = intents.id AND h.status = 'active' AND (h.expires_at IS NULL OR h.expires_at > ?))`,
      ),
      setStatus: db.prepare(`UPDATE intents SET status = ?, updated_at = ?, detail = COALESCE(?, detail) WHERE id = ? AND status IN (SELECT value FROM json_each(?))`),
      setSent: db.prepare(
        `UPDATE intents SET status = 'SENT', updated_at = ?, tracking_code = COALESCE(?, tracking_code), sendoso_send_id = COALESCE(?, sendoso_send_id), response = COALESCE(?, response), detail = COALESCE(?, detail)
         WHERE id = ? AND status IN (SELECT value FROM json_each(?))`,
      ),
      unresolved: db.prepare<[number], IntentRow>(`${INTENT_SELECT} WHERE i.status IN ('DISPATCHING', 'UNKNOWN') AND (i.status = 'UNKNOWN' OR i.dispatched_at <= ?) ORDER BY i.dispatched_at, i.id`),
      matched: db.prepare<[], { id: number }>('SELECT sendoso_send_id AS id FROM intents WHERE sendoso_send_id IS NOT NULL'),
      sendTaken: db.prepare<[number], { id: string }>('SELECT id FROM intents WHERE sendoso_send_id = ?'),
      sentTo: db.prepare<[string, number], IntentRow>(`${INTENT_SELECT} WHERE i.recipient_email = ? AND i.created_at >= ? AND i.status = 'SENT' ORDER BY i.dispatched_at, i.id`),
      expiring: db.prepare<[number, number], { intent_id: string }>(`SELECT intent_id FROM holds WHERE status = 'active' AND expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?`),
      approvedPending: db.prepare<[], IntentRow>(`${INTENT_SELECT} WHERE i.approval_id IS NOT NULL AND i.status = 'PENDING' ORDER BY i.id`),
      ofApproval: db.prepare<[string], IntentRow>(`${INTENT_SELECT} WHERE i.approval_id = ? ORDER BY i.id`),
      insertApproval: db.prepare(`INSERT OR IGNORE INTO approvals (id, status, payload_hash, request_key, group_name, touch_id, touch_name, recipients, kind, amount_cents, currency, reasons, request, created_at, expires_at) VALUES (?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      pendingApproval: db.prepare<[string, string], ApprovalRow>(`SELECT * FROM approvals WHERE request_key = ? AND payload_hash = ? AND status = 'pending'`),
      approval: db.prepare<[string], ApprovalRow>('SELECT * FROM approvals WHERE id = ?'),
      decide: db.prepare(
        `UPDATE approvals SET status = ?, decided_at = ?, decided_by = COALESCE(?, decided_by), decision_reason = COALESCE(?, decision_reason)
         WHERE id = ? AND status IN (SELECT value FROM json_each(?))`,
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
    this.access = this.primitives();
  }

  transaction<T>(work: (tx: LedgerTransaction) => Promise<T>): Promise<T> {
    return queued(this.db, async () => {
      this.s.begin.run();
      this.ceilings = [];
      try {
        const result = await work(this.access);
        // Nothing else writes while this transaction runs, so the totals are final here.
        for (const { scope, ceiling } of this.ceilings) {
          const [t] = await this.access.totals([scope]);
          if (t!.held + t!.captured > ceiling.heldCaptured || t!.held + t!.captured + t!.observed > ceiling.all) throw new TotalsMovedError(scope[0]);
        }
        this.s.commit.run();
        return result;
      } catch (error) {
        if (this.db.inTransaction) this.s.rollback.run();
        throw error;
      }
    });
  }

  read<T>(work: (reader: LedgerReader) => Promise<T>): Promise<T> {
    return queued(this.db, () => work(this.access));
  }

  /** The intents of a batch: ids are "<batch>.<n>", so the batch is the key range after "<batch>.". */
  private static range(batchId: string): [string, string] {
    return [`${batchId}.`, `${batchId}/`];
  }

  private primitives(): LedgerTransaction {
    const { s, db } = this;
    const totals = async (scopes: readonly Scope[]): Promise<ScopeTotals[]> =>
      scopes.map(([scope, start]) => {
        const row = s.total.get(scope, start);
        return row ? { captured: cents(row.captured_cents), held: cents(row.held_cents), observed: cents(row.observed_cents), declared: cents(row.declared_cents) } : NO_TOTALS;
      });
    const intents = (rows: IntentRow[]) => rows.map(toIntent);
    return {
      totals,
      // The transaction holds the database's write lock: every total it reads is already its own.
      lockTotals: totals,
      lockRecipients: async (query) => ({
        locked: await totals(query.lock),
        read: await totals(query.read),
        live: query.keys.flatMap((key) => intents(s.liveByKey.all(key))),
        recent: query.recipients.map((email) =>
          query.since === undefined
            ? { sends: 0, observed: [] }
            : {
                sends: s.recentSends.get(email, query.since)!.n,
                observed: s.observedRecent.all(email, query.since).map(toRecentObserved),
              },
        ),
      }),
      liveIntentsByKey: async (key) => intents(s.liveByKey.all(key)),
      intent: async (id) => {
        const row = s.intent.get(id);
        return row ? toIntent(row) : undefined;
      },
      batch: async (batchId) => intents(s.batch.all(...SqliteLedgerStorage.range(batchId))),
      liveForRecipient: async (recipient, touchId, since) => intents(s.liveForRecipient.all(recipient, since, touchId)),
      recentSendCount: async (recipient, since) => s.recentSends.get(recipient, since)!.n,
      observedRecent: async (recipient, since) => s.observedRecent.all(recipient, since).map(toRecentObserved),
      hold: async (intentId) => {
        const row = s.hold.get(intentId);
        return row ? { amount: cents(row.amount_cents), scopes: JSON.parse(row.scopes) as Scope[], status: row.status } : undefined;
      },
      captured: async (intentId) => {
        const row = s.capture.get(intentId);
        return row ? cents(row.amount_cents) : undefined;
      },
      intentForSend: async (sendId, trackingCode) => {
        const row = s.intentBySend.get(sendId) ?? (trackingCode ? s.intentByTracking.get(trackingCode) : undefined);
        return row ? { intent: toIntent(row), sendGid: row.sendoso_send_gid } : undefined;
      },
      sendTaken: async (sendId) => s.sendTaken.get(sendId) !== undefined,
      claimantCount: async (recipient, touchId, since) => s.claimants.get(recipient, touchId, since)!.n,
      observed: async (sendId): Promise<ObservedRecord | undefined> => {
        const row = s.observedById.get(sendId);
        return row ? { cost: cents(row.cost_cents), status: row.status, scopes: JSON.parse(row.scopes) as Scope[] } : undefined;
      },
      unresolved: async (before) => intents(s.unresolved.all(before)),
      matchedSendIds: async () => s.matched.all().map((r) => r.id),
      sentTo: async (recipient, since) => intents(s.sentTo.all(recipient, since)),
      expiringHolds: async (now, limit) => s.expiring.all(now, limit).map((r) => r.intent_id),
      approvedPending: async () => intents(s.approvedPending.all()),
      intentsOfApproval: async (approvalId) => intents(s.ofApproval.all(approvalId)),
      intentsBySendGid: async (sendGid) => intents(s.byGid.all(sendGid)),
      approval: async (id) => {
        const row = s.approval.get(id);
        return row ? toApproval(row) : undefined;
      },
      pendingApproval: async (key, hash) => {
        const row = s.pendingApproval.get(key, hash);
        return row ? toApproval(row) : undefined;
      },
      approvals: async (query) => this.approvals(query),
      countPendingApprovals: async (now) => s.countPending.get(now)!.n,
      auditBounds: async () => {
        const first = s.firstAudit.get()?.id;
        const last = s.lastAudit.get()?.id;
        return first === undefined || last === undefined ? undefined : { first, last };
      },
      auditAtOrAfter: async (id) => s.auditAtOrAfter.get(id)?.at,
      auditPage: async (filter) => this.auditPage(filter),
      deliveries: async (intentId) => s.deliveries.all(intentId),
      syncMark: async (name) => s.mark.get(name)?.value,
      touchPins: async () => new Map(s.pins.all().map((r) => [r.name, r.touch_id])),

      bumpTotals: async (scopes, delta) => this.bump(scopes, delta),
      limitTotals: async (scopes, ceilings) => void this.ceilings.push(...scopes.map((scope, i) => ({ scope, ceiling: ceilings[i]! }))),
      insertIntent: async (i: Intent) => {
        s.insertIntent.run(i.id, i.key, i.batchId, i.status, i.group, i.touchId, i.touchName, i.recipient, i.recipientGiven, i.kind, i.amount, i.currency, i.payloadHash, JSON.stringify(i.request), i.approvalId, i.createdAt, i.createdAt, i.dispatchedAt);
      },
      insertHold: async (intentId, amount, scopes, now, expiresAt) => void s.insertHold.run(intentId, amount, JSON.stringify(scopes), now, expiresAt),
      closeHold: async (intentId, status, now) => s.closeHold.run(status, now, intentId).changes > 0,
      keepHold: async (intentId) => void s.keepHold.run(intentId),
      reopenHoldAsCaptured: async (intentId, now) => s.reopenHold.run(now, intentId).changes > 0,
      insertCapture: async (intentId, amount, now) => void s.insertCapture.run(intentId, amount, now),
      rebookCapture: async (intentId, from, to, now) => s.rebook.run(to, now, intentId, from).changes > 0,
      claimBatch: async (batchId, now) => s.claim.run(now, now, ...SqliteLedgerStorage.range(batchId), now).changes,
      unclaimBatch: async (batchId, detail, now) => s.unclaim.run(now, detail, ...SqliteLedgerStorage.range(batchId)).changes,
      redispatchBatch: async (batchId, now) => void s.redispatch.run(now, now, ...SqliteLedgerStorage.range(batchId)),
      setStatus: async (intentId: string, status: IntentStatus, from: readonly IntentStatus[], now: number, detail: string | null) => s.setStatus.run(status, now, detail, intentId, JSON.stringify(from)).changes > 0,
      setSent: async (intentId, from, now, sent) => s.setSent.run(now, sent.trackingCode, sent.sendId, sent.response, sent.detail ?? null, intentId, JSON.stringify(from)).changes > 0,
      reviveAsSent: async (intentId, now, sent) => {
        // A savepoint inside the open transaction: a live retry of the same key refuses the update alone.
        const revive = db.transaction(() => s.setSent.run(now, sent.trackingCode, null, sent.response, sent.detail, intentId, FROM_FAILED).changes > 0);
        try {
          return revive();
        } catch (error) {
          if (isUniqueViolation(error)) return false;
          throw error;
        }
      },
      linkSend: async (intentId, sendId, sendGid) => void s.linkSend.run(sendId, sendGid, intentId),
      insertApproval: async (a: Approval) => {
        s.insertApproval.run(a.id, a.payloadHash, a.key, a.group, a.touchId, a.touchName, JSON.stringify(a.recipients), a.kind, a.amount, a.currency, JSON.stringify(a.reasons), JSON.stringify(a.request), a.createdAt, a.expiresAt);
      },
      decideApproval: async (id: string, status: ApprovalStatus, from: readonly ApprovalStatus[], by: string | null, reason: string | null, now: number) =>
        s.decide.run(status, now, by, reason, id, JSON.stringify(from)).changes > 0,
      expireApprovals: async (now) => s.expireApprovals.run(now, now).changes,
      insertObserved: async (send: HistorySend, scopes, now) => {
        s.insertObserved.run(send.id, send.sendGid, send.trackingCode, send.touchId, send.touchName, send.recipient, send.recipientGiven, send.senderId, send.senderGroup, send.cost, send.currency, send.status, send.createdAt, JSON.stringify(scopes), now, now);
      },
      updateObserved: async (sendId, from, to, now) => s.updateObserved.run(to.cost, to.status, now, sendId, from.cost, from.status).changes > 0,
      insertDelivery: async (intentId, status, at, now) => s.insertDelivery.run(intentId, status, at, now).changes > 0,
      setSyncMark: async (name, value) => void s.setMark.run(name, value),
      pinTouch: async (name, touchId, now) => void s.pin.run(name, touchId, now),
      audit: async (event) => this.audit(event),
    };
  }

  /** Moves the running totals of each scope; six scopes (a send's) in one statement. */
  private bump(scopes: readonly Scope[], delta: TotalsDelta): void {
    const values = (scope: Scope) => [scope[0], scope[1], delta.held ?? 0, delta.captured ?? 0, delta.observed ?? 0, delta.declared ?? 0];
    if (scopes.length === 6) this.s.bump6.run(...scopes.flatMap(values));
    else for (const scope of scopes) this.s.bump1.run(...values(scope));
  }

  private approvals(query: ApprovalQuery): Approval[] {
    const { status, group, limit } = query;
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

  private auditPage(query: AuditPageFilter) {
    const params: Record<string, unknown> = { floor: query.floor, high: query.high, limit: query.limit };
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
    return read(params).map(toGuardEvent);
  }

  private audit(event: GuardAuditEvent): void {
    const { lastInsertRowid } = this.s.audit.run(...auditColumns(event));
    if (event.recipientIdentities) for (const recipient of new Set(event.recipientIdentities)) this.s.auditRecipient.run(recipient, lastInsertRowid);
  }
}

/** The ledger on a SQLite database (the embedded default). */
export class SqliteLedger extends Ledger {
  constructor(db: SqliteDatabase) {
    super(new SqliteLedgerStorage(db));
  }
}
