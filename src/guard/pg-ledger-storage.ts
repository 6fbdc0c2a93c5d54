/**
 * @module The ledger's PostgreSQL store: the primitives of ledger-storage.ts on a shared database,
 * for several giftguard instances spending from one budget.
 *
 * ## Concurrency: READ COMMITTED with row locks on the running totals
 *
 * Check-and-reserve depends on a handful of rows: the running totals of the request's scopes (its
 * group's day, week and month, the campaign, the global day, each recipient's year). `lockTotals`
 * upserts exactly those rows of `spend_totals` (`INSERT … ON CONFLICT DO UPDATE`, which locks an
 * existing row and makes a contender for a new one wait on its insertion), in one canonical order:
 * the recipients' year scopes first (few contenders), then — after the recipients' keys and sends
 * are read — the scopes every request shares (group windows, campaign, global day), sorted, held
 * only for the writes and the commit. So:
 * - two reserves that share a scope take turns: the second blocks until the first commits, and
 *   then — READ COMMITTED reads each statement's snapshot — sees its holds. Never over a cap.
 * - everything the decision reads besides totals is about the request's recipients (their live
 *   intents by key, their recent sends), and every such intent was written by a transaction that
 *   held that recipient's year scope: it too is stable once the lock is held.
 * - locks are taken in one global order, so reserves never deadlock one another; other writers
 *   (captures, releases, history) bump totals in the same sorted order. A deadlock that still
 *   happens (a capture after another statement's lock) is detected by PostgreSQL and the whole
 *   transaction runs again (`PgDatabase.transaction` retries 40P01 and 40001).
 * - every status change is a conditional UPDATE (`… WHERE status IN (…)`): under READ COMMITTED a
 *   blocked UPDATE re-checks its condition on the row as committed, so of two racers one wins and
 *   the other changes nothing and is told.
 * - the partial unique index on `intents(key)` for live statuses is the last line against two live
 *   intents; a unique violation (any racer that inserted first) runs the transaction again, and
 *   the logic then finds the row that won.
 *
 * A reservation (Ledger.reserveIn) takes its recipients' year rows and everything it reads about
 * them in one statement (`lockRecipients`), reads the shared totals there too without a lock, and
 * when it reserves, bumps the shared rows under ceilings (`limitTotals`, checked on the totals the
 * bump statement returns): the hot rows are locked only from that last statement to the commit.
 * BEGIN, one read, one write, COMMIT. The hot statements are prepared once per connection: their
 * planning cost more than their execution.
 *
 * Why not SERIALIZABLE with retries: every reserve reads and writes the global day's totals, so
 * under contention serializable transactions mostly abort and retry (work thrown away, latency
 * unbounded), where row locks make them queue for the one hot row for a few round trips. The locks
 * serialize exactly what the cap requires and nothing else.
 */
import { cents } from '../domain/index.js';
import type { PgDatabase, PgQueryable, PgQueryOptions } from '../storage/index.js';
import { Ledger } from './ledger.js';
import type { ApprovalRow, GuardAuditRow, IntentRow, RecentObservedRow } from './ledger-rows.js';
import { INTENT_SELECT, REACHED, auditColumns, toApproval, toGuardEvent, toIntent, toRecentObserved } from './ledger-rows.js';
import { TotalsMovedError } from './ledger-storage.js';
import type { AuditPageFilter, LedgerReader, LedgerStorage, LedgerTransaction, RecentObserved, RecipientsQuery, RecipientsRead, Scope, ScopeTotals, TotalsCeiling, TotalsDelta } from './ledger-storage.js';
import type { Approval, ApprovalQuery, GuardAuditEvent, HistorySend, Intent } from './ledger-port.js';

const LIVE = `('PENDING','DISPATCHING','SENT','UNKNOWN')`;
/** Flushes of at most this many CTEs are prepared statements (a bounded set of shapes). */
const PREPARED_CTES = 16;
/** How often a transaction that lost a race on a unique index is run again. */
const UNIQUE_RETRIES = 5;

interface TotalsRow {
  scope: string;
  window_start: number;
  held_cents: number;
  captured_cents: number;
  observed_cents: number;
  declared_cents: number;
}

const toTotals = (row: TotalsRow | undefined): ScopeTotals =>
  row
    ? { captured: cents(row.captured_cents), held: cents(row.held_cents), observed: cents(row.observed_cents), declared: cents(row.declared_cents) }
    : { captured: cents(0), held: cents(0), observed: cents(0), declared: cents(0) };

const scopeKey = (scope: string, start: number) => `${start}|${scope}`;

/**
 * Distinct scopes in the one order every transaction locks them in: a recipient's year before the
 * scopes many requests share (the ledger locks a request's recipients first and its shared scopes
 * last, so the hot rows are held only for the writes), each part sorted.
 */
function canonical(scopes: readonly Scope[]): Scope[] {
  const seen = new Map<string, Scope>();
  for (const scope of scopes) seen.set(scopeKey(scope[0], scope[1]), scope);
  const rank = (scope: Scope) => (scope[0].startsWith('recipient:') ? 0 : 1);
  return [...seen.values()].sort((a, b) => rank(a) - rank(b) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
}

const batchRange = (batchId: string) => [`${batchId}.`, `${batchId}/`];

/**
 * Writes that return nothing wait in a buffer and go to the server together, as one statement of
 * data-modifying CTEs, just before the next statement that reads (or the commit): a reservation's
 * intent, hold, running totals and audit entry cost one round trip, not four — and the shared
 * totals it locked are held that much shorter. Bumps of one scope are summed, and all of them are
 * applied in the canonical order. A failure (a unique index) surfaces at the flush and rolls the
 * transaction back as it would have at the write.
 */
function writeBuffer(q: PgQueryable) {
  const pending: { ctes: string[]; params: unknown[] }[] = [];
  const bumps = new Map<string, { scope: Scope; held: number; captured: number; observed: number; declared: number }>();
  /** `limitTotals`: checked on the totals the bump returns — taken under the row's lock, so they are the latest. */
  const ceilings = new Map<string, TotalsCeiling>();
  const checked = new Set<string>();
  /** `final`: the flush before the commit, which also locks and checks a limited scope never bumped. */
  const flush = async (final = false) => {
    if (final) for (const [key, scope] of limitedScopes) if (!checked.has(key) && !bumps.has(key)) bumps.set(key, { scope, held: 0, captured: 0, observed: 0, declared: 0 });
    if (pending.length === 0 && bumps.size === 0) return;
    let limited = false;
    if (bumps.size > 0) {
      // In the canonical order, like lockTotals, so two writers never wait on each other crosswise.
      const ordered = canonical([...bumps.values()].map((b) => b.scope)).map((scope) => bumps.get(scopeKey(scope[0], scope[1]))!);
      pending.push({
        ctes: [
          `INSERT INTO spend_totals (scope, window_start, held_cents, captured_cents, observed_cents, declared_cents)
           SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])
           ON CONFLICT (scope, window_start) DO UPDATE SET held_cents = spend_totals.held_cents + EXCLUDED.held_cents,
             captured_cents = spend_totals.captured_cents + EXCLUDED.captured_cents, observed_cents = spend_totals.observed_cents + EXCLUDED.observed_cents,
             declared_cents = spend_totals.declared_cents + EXCLUDED.declared_cents
           RETURNING scope, window_start, held_cents, captured_cents, observed_cents`,
        ],
        params: [ordered.map((b) => b.scope[0]), ordered.map((b) => b.scope[1]), ordered.map((b) => b.held), ordered.map((b) => b.captured), ordered.map((b) => b.observed), ordered.map((b) => b.declared)],
      });
      limited = ordered.some((b) => ceilings.has(scopeKey(b.scope[0], b.scope[1])));
      bumps.clear();
    }
    const ctes: string[] = [];
    const params: unknown[] = [];
    for (const item of pending.splice(0)) {
      const offset = params.length;
      params.push(...item.params);
      item.ctes.forEach((sql, i) => {
        const name = `w${ctes.length}`;
        const previous = `w${ctes.length - 1}`;
        ctes.push(`${name} AS (${sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`).replaceAll('__PREVIOUS__', i > 0 ? previous : '')})`);
      });
    }
    // The bump is the last CTE: with ceilings to check, the statement returns what it bumped to.
    // Prepared when its shape is a common one (a reservation of a few recipients, a capture…):
    // planning a statement of CTEs costs more than running it.
    const result = await q.query<TotalsRow>(`WITH ${ctes.join(',\n')} ${limited ? `SELECT * FROM w${ctes.length - 1}` : 'SELECT 1'}`, params, { prepare: ctes.length <= PREPARED_CTES });
    if (!limited) return;
    for (const row of result.rows) {
      const key = scopeKey(row.scope, row.window_start);
      const ceiling = ceilings.get(key);
      if (ceiling === undefined) continue;
      if (row.held_cents + row.captured_cents > ceiling.heldCaptured || row.held_cents + row.captured_cents + row.observed_cents > ceiling.all) throw new TotalsMovedError(row.scope);
      checked.add(key);
    }
  };
  const limitedScopes = new Map<string, Scope>();
  return {
    flush,
    limit(scopes: readonly Scope[], limits: readonly TotalsCeiling[]) {
      scopes.forEach((scope, i) => {
        const key = scopeKey(scope[0], scope[1]);
        ceilings.set(key, limits[i]!);
        limitedScopes.set(key, scope);
        checked.delete(key);
      });
    },
    defer(ctes: string[], params: unknown[]) {
      pending.push({ ctes, params });
    },
    bump(scopes: readonly Scope[], delta: TotalsDelta) {
      for (const scope of scopes) {
        const key = scopeKey(scope[0], scope[1]);
        const entry = bumps.get(key) ?? { scope, held: 0, captured: 0, observed: 0, declared: 0 };
        entry.held += delta.held ?? 0;
        entry.captured += delta.captured ?? 0;
        entry.observed += delta.observed ?? 0;
        entry.declared += delta.declared ?? 0;
        bumps.set(key, entry);
      }
    },
    async query<R extends Record<string, unknown> = Record<string, unknown>>(sql: string, params: readonly unknown[] = [], options?: PgQueryOptions) {
      await flush();
      return q.query<R>(sql, params, options);
    },
  };
}

/**
 * `lockRecipients` in one statement: creates the recipients' missing year rows (inserted, so
 * locked) and locks the others with `FOR UPDATE` (a lock, not a new row version), in the order
 * given, and reads the rest alongside. Every statement of the statement shares one snapshot,
 * taken before it waited for any lock — so the reads are only as fresh as the lock if nobody
 * changed a locked row in between. Every transaction that writes a recipient's intents or
 * observed sends bumps the recipient's year row in the same transaction (the ledger's scopes),
 * so that holds exactly when each row locked is the version the snapshot saw (same xmin) and
 * each row inserted was new. Undefined otherwise: the caller reads again under the lock.
 */
async function lockRecipientsAtOnce(
  query: <R extends Record<string, unknown>>(sql: string, params: readonly unknown[], options?: PgQueryOptions) => Promise<{ rows: R[] }>,
  q: RecipientsQuery,
): Promise<RecipientsRead | undefined> {
  const lock = canonical(q.lock);
  const { rows } = await query<{ made: TotalsRow[]; locked: (TotalsRow & { v: string; seen: string | null })[]; read: TotalsRow[]; live: IntentRow[]; recent: { sends: number; observed: RecentObservedRow[] }[] | null }>(
    `WITH want AS (SELECT * FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS w(scope, window_start, ord)),
     seen AS (SELECT t.scope, t.window_start, t.xmin::text AS v FROM spend_totals t JOIN want w USING (scope, window_start)),
     made AS (INSERT INTO spend_totals (scope, window_start) SELECT scope, window_start FROM want ORDER BY ord ON CONFLICT DO NOTHING
              RETURNING scope, window_start, held_cents, captured_cents, observed_cents, declared_cents),
     locked AS (SELECT t.scope, t.window_start, t.held_cents, t.captured_cents, t.observed_cents, t.declared_cents, t.xmin::text AS v
                FROM spend_totals t JOIN want w USING (scope, window_start) WHERE (SELECT count(*) FROM made) >= 0 ORDER BY w.ord FOR UPDATE OF t)
     SELECT
       (SELECT coalesce(json_agg(made), '[]') FROM made) AS made,
       (SELECT coalesce(json_agg(l), '[]') FROM (SELECT locked.*, seen.v AS seen FROM locked LEFT JOIN seen USING (scope, window_start)) l) AS locked,
       (SELECT coalesce(json_agg(t), '[]') FROM spend_totals t JOIN unnest($3::text[], $4::bigint[]) AS r(scope, window_start) USING (scope, window_start)) AS read,
       (SELECT coalesce(json_agg(x ORDER BY array_position($5::text[], x.key), x.id), '[]') FROM (${INTENT_SELECT} WHERE i.key = ANY($5::text[]) AND i.status IN ${LIVE}) x) AS live,
       CASE WHEN $7::bigint IS NOT NULL THEN (
         SELECT json_agg(json_build_object(
           'sends', (SELECT COUNT(*) FROM intents WHERE recipient_email = r.email AND created_at >= $7::bigint AND status IN ${LIVE}),
           'observed', (SELECT coalesce(json_agg(o ORDER BY o.created_at DESC), '[]') FROM (
             SELECT touch_name, cost_cents, created_at, status FROM observed_sends WHERE recipient_email = r.email AND created_at >= $7::bigint AND ${REACHED}) o)
         ) ORDER BY r.ord) FROM unnest($6::text[]) WITH ORDINALITY AS r(email, ord)) END AS recent`,
    [lock.map((s) => s[0]), lock.map((s) => s[1]), q.read.map((s) => s[0]), q.read.map((s) => s[1]), q.keys, q.recipients, q.since ?? null],
    { prepare: true },
  );
  const row = rows[0]!;
  const fresh = new Map<string, TotalsRow>();
  for (const made of row.made) fresh.set(scopeKey(made.scope, made.window_start), made);
  for (const locked of row.locked) if (locked.v === locked.seen) fresh.set(scopeKey(locked.scope, locked.window_start), locked);
  if (lock.some(([scope, start]) => !fresh.has(scopeKey(scope, start)))) return undefined;
  const read = new Map(row.read.map((r) => [scopeKey(r.scope, r.window_start), r]));
  return {
    locked: q.lock.map(([scope, start]) => toTotals(fresh.get(scopeKey(scope, start)))),
    read: q.read.map(([scope, start]) => toTotals(read.get(scopeKey(scope, start)))),
    live: row.live.map(toIntent),
    recent: q.recipients.map((_, i) => {
      const r = row.recent?.[i];
      return r
        ? { sends: Number(r.sends), observed: r.observed.map(toRecentObserved) }
        : { sends: 0, observed: [] };
    }),
  };
}

/** The primitives over one statement runner: the pool (reads) or a transaction's connection. */
function primitives(q: PgQueryable): LedgerTransaction & { flush(): Promise<void> } {
  const w = writeBuffer(q);
  const rows = async <R extends object>(sql: string, params: readonly unknown[] = [], options?: PgQueryOptions) => (await w.query<R & Record<string, unknown>>(sql, params, options)).rows as R[];
  const intents = async (sql: string, params: readonly unknown[]) => (await rows<IntentRow>(sql, params)).map(toIntent);
  const one = async <R extends object>(sql: string, params: readonly unknown[]) => (await rows<R>(sql, params))[0];
  const changed = async (sql: string, params: readonly unknown[]) => (await w.query(sql, params)).rowCount > 0;
  const totals = async (scopes: readonly Scope[], lock: boolean): Promise<ScopeTotals[]> => {
    const ordered = canonical(scopes);
    const found = await rows<TotalsRow>(
      lock
        ? // Creates the missing rows and locks them all, in the canonical order (see the module comment).
          `INSERT INTO spend_totals (scope, window_start) SELECT * FROM unnest($1::text[], $2::bigint[])
           ON CONFLICT (scope, window_start) DO UPDATE SET held_cents = spend_totals.held_cents
           RETURNING scope, window_start, held_cents, captured_cents, observed_cents, declared_cents`
        : `SELECT t.* FROM spend_totals t JOIN unnest($1::text[], $2::bigint[]) AS w(scope, window_start) ON t.scope = w.scope AND t.window_start = w.window_start`,
      [ordered.map((s) => s[0]), ordered.map((s) => s[1])],
      { prepare: true },
    );
    const byKey = new Map(found.map((r) => [scopeKey(r.scope, r.window_start), r]));
    return scopes.map(([scope, start]) => toTotals(byKey.get(scopeKey(scope, start))));
  };
  const liveByKey = (key: string) => intents(`${INTENT_SELECT} WHERE i.key = $1 AND i.status IN ${LIVE}`, [key]);
  const recentSendCount = async (recipient: string, since: number) =>
    (await one<{ n: number }>(`SELECT COUNT(*) AS n FROM intents WHERE recipient_email = $1 AND created_at >= $2 AND status IN ${LIVE}`, [recipient, since]))!.n;
  const observedRecent = async (recipient: string, since: number): Promise<RecentObserved[]> =>
    (
      await rows<RecentObservedRow>(
        `SELECT touch_name, cost_cents, created_at, status FROM observed_sends WHERE recipient_email = $1 AND created_at >= $2 AND ${REACHED} ORDER BY created_at DESC`,
        [recipient, since],
      )
    ).map(toRecentObserved);
  return {
    flush: () => w.flush(true),
    totals: (scopes) => totals(scopes, false),
    lockTotals: (scopes) => totals(scopes, true),
    lockRecipients: async (query) => {
      const atOnce = await lockRecipientsAtOnce(w.query, query);
      if (atOnce) return atOnce;
      // Someone wrote to these recipients while the statement waited for their locks: what it read
      // alongside is older than the lock, so it is read again, now that the lock is held.
      const locked = await totals(query.lock, true);
      const read = await totals(query.read, false);
      const live: Intent[] = [];
      for (const key of query.keys) live.push(...(await liveByKey(key)));
      const recent: RecipientsRead['recent'] = [];
      for (const email of query.recipients) {
        recent.push(query.since === undefined ? { sends: 0, observed: [] } : { sends: await recentSendCount(email, query.since), observed: await observedRecent(email, query.since) });
      }
      return { locked, read, live, recent };
    },
    limitTotals: async (scopes, limits) => w.limit(scopes, limits),
    liveIntentsByKey: liveByKey,
    intent: async (id) => (await intents(`${INTENT_SELECT} WHERE i.id = $1`, [id]))[0],
    batch: (batchId) => intents(`${INTENT_SELECT} WHERE i.id > $1 AND i.id < $2 ORDER BY i.id`, batchRange(batchId)),
    liveForRecipient: (recipient, touchId, since) =>
      intents(`${INTENT_SELECT} WHERE i.recipient_email = $1 AND i.created_at >= $2 AND i.touch_id = $3 AND i.status IN ${LIVE}`, [recipient, since, touchId]),
    recentSendCount,
    observedRecent,
    hold: async (intentId) => {
      const row = await one<{ amount_cents: number; scopes: string; status: 'active' | 'captured' | 'released' }>('SELECT amount_cents, scopes, status FROM holds WHERE intent_id = $1', [intentId]);
      return row ? { amount: cents(row.amount_cents), scopes: JSON.parse(row.scopes) as Scope[], status: row.status } : undefined;
    },
    captured: async (intentId) => {
      const row = await one<{ amount_cents: number }>('SELECT amount_cents FROM captures WHERE intent_id = $1', [intentId]);
      return row ? cents(row.amount_cents) : undefined;
    },
    intentForSend: async (sendId, trackingCode) => {
      const row =
        (await one<IntentRow>(`${INTENT_SELECT} WHERE i.sendoso_send_id = $1`, [sendId])) ??
        (trackingCode ? await one<IntentRow>(`${INTENT_SELECT} WHERE i.tracking_code = $1 AND i.status = 'SENT'`, [trackingCode]) : undefined);
      return row ? { intent: toIntent(row), sendGid: row.sendoso_send_gid } : undefined;
    },
    sendTaken: async (sendId) => (await one<{ id: string }>('SELECT id FROM intents WHERE sendoso_send_id = $1', [sendId])) !== undefined,
    claimantCount: async (recipient, touchId, since) =>
      (await one<{ n: number }>(
        `SELECT COUNT(*) AS n FROM intents WHERE recipient_email = $1 AND touch_id = $2 AND created_at >= $3
           AND (status IN ('PENDING','DISPATCHING','UNKNOWN') OR (status = 'SENT' AND sendoso_send_id IS NULL AND tracking_code IS NULL))`,
        [recipient, touchId, since],
      ))!.n,
    observed: async (sendId) => {
      const row = await one<{ cost_cents: number; status: string; scopes: string }>('SELECT cost_cents, status, scopes FROM observed_sends WHERE send_id = $1', [sendId]);
      return row ? { cost: cents(row.cost_cents), status: row.status, scopes: JSON.parse(row.scopes) as Scope[] } : undefined;
    },
    unresolved: (before) => intents(`${INTENT_SELECT} WHERE i.status IN ('DISPATCHING', 'UNKNOWN') AND (i.status = 'UNKNOWN' OR i.dispatched_at <= $1) ORDER BY i.dispatched_at, i.id`, [before]),
    matchedSendIds: async () => (await rows<{ id: number }>('SELECT sendoso_send_id AS id FROM intents WHERE sendoso_send_id IS NOT NULL')).map((r) => r.id),
    sentTo: (recipient, since) => intents(`${INTENT_SELECT} WHERE i.recipient_email = $1 AND i.created_at >= $2 AND i.status = 'SENT' ORDER BY i.dispatched_at, i.id`, [recipient, since]),
    expiringHolds: async (now, limit) =>
      (await rows<{ intent_id: string }>(`SELECT intent_id FROM holds WHERE status = 'active' AND expires_at IS NOT NULL AND expires_at <= $1 ORDER BY expires_at LIMIT $2`, [now, limit])).map(
        (r) => r.intent_id,
      ),
    approvedPending: () => intents(`${INTENT_SELECT} WHERE i.approval_id IS NOT NULL AND i.status = 'PENDING' ORDER BY i.id`, []),
    intentsOfApproval: (approvalId) => intents(`${INTENT_SELECT} WHERE i.approval_id = $1 ORDER BY i.id`, [approvalId]),
    intentsBySendGid: (sendGid) => intents(`${INTENT_SELECT} WHERE i.sendoso_send_gid = $1`, [sendGid]),
    approval: async (id) => {
      const row = await one<ApprovalRow>('SELECT * FROM approvals WHERE id = $1', [id]);
      return row ? toApproval(row) : undefined;
    },
    pendingApproval: async (key, hash) => {
      const row = await one<ApprovalRow>(`SELECT * FROM approvals WHERE request_key = $1 AND payload_hash = $2 AND status = 'pending'`, [key, hash]);
      return row ? toApproval(row) : undefined;
    },
    approvals: async (query: ApprovalQuery) => {
      const params: unknown[] = [];
      const where: string[] = [];
      if (query.status !== undefined) where.push(`status = $${params.push(query.status)}`);
      if (query.group !== undefined) where.push(`lower(group_name) = lower($${params.push(query.group)})`);
      const sql = `SELECT * FROM approvals${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id${query.limit !== undefined ? ` LIMIT $${params.push(query.limit)}` : ''}`;
      return (await rows<ApprovalRow>(sql, params)).map(toApproval);
    },
    countPendingApprovals: async (now) => (await one<{ n: number }>(`SELECT COUNT(*) AS n FROM approvals WHERE status = 'pending' AND expires_at > $1`, [now]))!.n,
    auditBounds: async () => {
      const row = await one<{ first: number | null; last: number | null }>(
        'SELECT (SELECT id FROM guard_audit ORDER BY id LIMIT 1) AS first, (SELECT id FROM guard_audit ORDER BY id DESC LIMIT 1) AS last',
        [],
      );
      return row?.first == null || row.last == null ? undefined : { first: row.first, last: row.last };
    },
    auditAtOrAfter: async (id) => (await one<{ at: number }>('SELECT at FROM guard_audit WHERE id >= $1 ORDER BY id LIMIT 1', [id]))?.at,
    auditPage: async (filter: AuditPageFilter) => {
      const params: unknown[] = [];
      const p = (value: unknown) => `$${params.push(value)}`;
      const where: string[] = [];
      let from: string;
      if (filter.recipient !== undefined) {
        from = 'guard_audit_recipients r JOIN guard_audit a ON a.id = r.audit_id';
        where.push(`r.recipient = ${p(filter.recipient)}`, `r.audit_id >= ${p(filter.floor)}`, `r.audit_id < ${p(filter.high)}`);
      } else {
        from = 'guard_audit a';
        where.push(`a.id >= ${p(filter.floor)}`, `a.id < ${p(filter.high)}`);
      }
      if (filter.group !== undefined) where.push(`lower(a.group_name) = lower(${p(filter.group)})`);
      if (filter.event !== undefined) where.push(`a.event = ${p(filter.event)}`);
      if (filter.outcome !== undefined) where.push(`a.outcome = ${p(filter.outcome)}`);
      if (filter.since !== undefined) where.push(`a.at >= ${p(filter.since)}`);
      if (filter.until !== undefined) where.push(`a.at < ${p(filter.until)}`);
      const sql = `SELECT a.* FROM ${from} WHERE ${where.join(' AND ')} ORDER BY ${filter.recipient === undefined ? 'a.id' : 'r.audit_id'} DESC LIMIT ${p(filter.limit)}`;
      return (await rows<GuardAuditRow>(sql, params)).map(toGuardEvent);
    },
    deliveries: (intentId) => rows<{ status: string; at: number }>('SELECT status, at FROM send_deliveries WHERE intent_id = $1 ORDER BY at, status', [intentId]),
    syncMark: async (name) => (await one<{ value: number }>('SELECT value FROM sync_marks WHERE name = $1', [name]))?.value,
    touchPins: async () => new Map((await rows<{ name: string; touch_id: number }>('SELECT name, touch_id FROM policy_touch_pins')).map((r) => [r.name, r.touch_id])),

    bumpTotals: async (scopes: readonly Scope[], delta: TotalsDelta) => {
      if (canonical(scopes).length !== scopes.length) throw new Error('a delta is applied to each scope once');
      w.bump(scopes, delta);
    },
    insertIntent: async (i: Intent) =>
      w.defer(
        [
          `INSERT INTO intents (id, key, batch_id, status, group_name, touch_id, touch_name, recipient_email, recipient_given, kind, amount_cents, currency, payload_hash, request, approval_id, created_at, updated_at, dispatched_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $17)`,
        ],
        [i.id, i.key, i.batchId, i.status, i.group, i.touchId, i.touchName, i.recipient, i.recipientGiven, i.kind, i.amount, i.currency, i.payloadHash, JSON.stringify(i.request), i.approvalId, i.createdAt, i.dispatchedAt],
      ),
    insertHold: async (intentId, amount, scopes, now, expiresAt) =>
      w.defer([`INSERT INTO holds (intent_id, amount_cents, scopes, status, created_at, expires_at) VALUES ($1, $2, $3, 'active', $4, $5)`], [intentId, amount, JSON.stringify(scopes), now, expiresAt]),
    closeHold: (intentId, status, now) => changed(`UPDATE holds SET status = $1, closed_at = $2 WHERE intent_id = $3 AND status = 'active'`, [status, now, intentId]),
    keepHold: async (intentId) => void (await w.query('UPDATE holds SET expires_at = NULL WHERE intent_id = $1', [intentId])),
    reopenHoldAsCaptured: (intentId, now) => changed(`UPDATE holds SET status = 'captured', closed_at = $1 WHERE intent_id = $2 AND status = 'released'`, [now, intentId]),
    insertCapture: async (intentId, amount, now) => w.defer(['INSERT INTO captures (intent_id, amount_cents, captured_at) VALUES ($1, $2, $3)'], [intentId, amount, now]),
    rebookCapture: (intentId, from, to, now) => changed('UPDATE captures SET amount_cents = $1, adjusted_at = $2 WHERE intent_id = $3 AND amount_cents = $4', [to, now, intentId, from]),
    claimBatch: async (batchId, now) =>
      (
        await w.query(
          `UPDATE intents SET status = 'DISPATCHING', dispatched_at = $1, updated_at = $1
           WHERE id > $2 AND id < $3 AND status = 'PENDING'
             AND EXISTS (SELECT 1 FROM holds h WHERE h.intent_id = intents.id AND h.status = 'active' AND (h.expires_at IS NULL OR h.expires_at > $1))`,
          [now, ...batchRange(batchId)],
        )
      ).rowCount,
    unclaimBatch: async (batchId, detail, now) =>
      (await w.query(`UPDATE intents SET status = 'PENDING', dispatched_at = NULL, updated_at = $1, detail = $2 WHERE id > $3 AND id < $4 AND status = 'DISPATCHING'`, [now, detail, ...batchRange(batchId)]))
        .rowCount,
    redispatchBatch: async (batchId, now) => void (await w.query(`UPDATE intents SET dispatched_at = $1, updated_at = $1 WHERE id > $2 AND id < $3 AND status = 'DISPATCHING'`, [now, ...batchRange(batchId)])),
    setStatus: (intentId, status, from, now, detail) =>
      changed(`UPDATE intents SET status = $1, updated_at = $2, detail = COALESCE($3, detail) WHERE id = $4 AND status = ANY($5::text[])`, [status, now, detail, intentId, from]),
    setSent: (intentId, from, now, sent) =>
      changed(
        `UPDATE intents SET status = 'SENT', updated_at = $1, tracking_code = COALESCE($2, tracking_code), sendoso_send_id = COALESCE($3, sendoso_send_id), response = COALESCE($4, response), detail = COALESCE($5, detail)
         WHERE id = $6 AND status = ANY($7::text[])`,
        [now, sent.trackingCode, sent.sendId, sent.response, sent.detail ?? null, intentId, from],
      ),
    reviveAsSent: async (intentId, now, sent) => {
      // A savepoint: a live retry of the same key refuses this update alone, not the transaction.
      await w.query('SAVEPOINT revive');
      try {
        const revived = await changed(
          `UPDATE intents SET status = 'SENT', updated_at = $1, tracking_code = COALESCE($2, tracking_code), response = COALESCE($3, response), detail = $4 WHERE id = $5 AND status = 'FAILED'`,
          [now, sent.trackingCode, sent.response, sent.detail, intentId],
        );
        await w.query('RELEASE SAVEPOINT revive');
        return revived;
      } catch (error) {
        if ((error as { code?: string }).code !== '23505') throw error;
        await w.query('ROLLBACK TO SAVEPOINT revive');
        return false;
      }
    },
    linkSend: async (intentId, sendId, sendGid) =>
      void (await w.query('UPDATE intents SET sendoso_send_id = COALESCE(sendoso_send_id, $1), sendoso_send_gid = COALESCE(sendoso_send_gid, $2) WHERE id = $3', [sendId, sendGid, intentId])),
    insertApproval: async (a: Approval) => {
      // One pending approval per request and payload: a concurrent twin waits for this one and does nothing.
      await w.query(
        `INSERT INTO approvals (id, status, payload_hash, request_key, group_name, touch_id, touch_name, recipients, kind, amount_cents, currency, reasons, request, created_at, expires_at)
         VALUES ($1, 'pending', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (request_key, payload_hash) WHERE status = 'pending' DO NOTHING`,
        [a.id, a.payloadHash, a.key, a.group, a.touchId, a.touchName, JSON.stringify(a.recipients), a.kind, a.amount, a.currency, JSON.stringify(a.reasons), JSON.stringify(a.request), a.createdAt, a.expiresAt],
      );
    },
    decideApproval: (id, status, from, by, reason, now) =>
      changed(
        `UPDATE approvals SET status = $1, decided_at = $2, decided_by = COALESCE($3, decided_by), decision_reason = COALESCE($4, decision_reason) WHERE id = $5 AND status = ANY($6::text[])`,
        [status, now, by, reason, id, from],
      ),
    expireApprovals: async (now) => (await w.query(`UPDATE approvals SET status = 'expired', decided_at = $1 WHERE status = 'pending' AND expires_at <= $1`, [now])).rowCount,
    insertObserved: async (send: HistorySend, scopes, now) => {
      await w.query(
        `INSERT INTO observed_sends (send_id, send_gid, tracking_code, touch_id, touch_name, recipient_email, recipient_given, sender_id, group_name, cost_cents, currency, status, created_at, scopes, imported_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)`,
        [send.id, send.sendGid, send.trackingCode, send.touchId, send.touchName, send.recipient, send.recipientGiven, send.senderId, send.senderGroup, send.cost, send.currency, send.status, send.createdAt, JSON.stringify(scopes), now],
      );
    },
    updateObserved: (sendId, from, to, now) =>
      changed('UPDATE observed_sends SET cost_cents = $1, status = $2, updated_at = $3 WHERE send_id = $4 AND cost_cents = $5 AND status = $6', [to.cost, to.status, now, sendId, from.cost, from.status]),
    insertDelivery: (intentId, status, at, now) => changed('INSERT INTO send_deliveries (intent_id, status, at, recorded_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [intentId, status, at, now]),
    setSyncMark: async (name, value) => void (await w.query('INSERT INTO sync_marks (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value', [name, value])),
    pinTouch: async (name, touchId, now) => void (await w.query('INSERT INTO policy_touch_pins (name, touch_id, pinned_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING', [name, touchId, now])),
    audit: async (event: GuardAuditEvent) =>
      // The entry, then its rows by recipient (which read the entry's id from the CTE before).
      w.defer(
        [
          `INSERT INTO guard_audit (at, event, group_name, touch_id, recipients, amount_cents, outcome, reasons, caller, intent_ids, approval_id, recipient_ids)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
          `INSERT INTO guard_audit_recipients (recipient, audit_id) SELECT DISTINCT r, __PREVIOUS__.id FROM __PREVIOUS__, unnest($13::text[]) AS r ON CONFLICT DO NOTHING`,
        ],
        [...auditColumns(event), [...new Set(event.recipientIdentities ?? [])]],
      ),
  };
}

/** The PostgreSQL store of the ledger. */
export class PgLedgerStorage implements LedgerStorage {
  private readonly reader: LedgerReader;

  constructor(private readonly db: PgDatabase) {
    this.reader = primitives(db);
  }

  async transaction<T>(work: (tx: LedgerTransaction) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        // Deadlocks and serialization failures are run again by PgDatabase itself.
        return await this.db.transaction(
          async (q) => {
            const tx = primitives(q);
            const result = await work(tx);
            await tx.flush();
            return result;
          },
          { isolation: 'read committed' },
        );
      } catch (error) {
        // Lost a race on a unique index (an intent's key, a send id, an observed send): the winner
        // has committed, and running again finds its row instead of inserting a second.
        if ((error as { code?: string }).code !== '23505' || attempt >= UNIQUE_RETRIES) throw error;
      }
    }
  }

  read<T>(work: (reader: LedgerReader) => Promise<T>): Promise<T> {
    return work(this.reader);
  }
}

/** The ledger on PostgreSQL, shared by every instance configured with the same database. */
export class PgLedger extends Ledger {
  constructor(db: PgDatabase) {
    super(new PgLedgerStorage(db));
  }
}
