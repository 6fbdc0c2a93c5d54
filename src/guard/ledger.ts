/**
 * @module The ledger: budget holds, captures, send intents and approvals — the budget logic,
 * written once above the storage port (ledger-storage.ts). Which running totals a send counts
 * against, how usage is assembled into the view the pure decision reads, check-and-reserve,
 * captures and releases, approvals' decisions and the import of Sendoso's history all live here
 * and run inside `storage.transaction`, whose contract (never over a cap, one live intent per key,
 * totals equal to the raw rows) each store keeps in its own way.
 */
import { randomBytes } from 'node:crypto';
import { GiftingError, cents } from '../domain/index.js';
import type { Cents } from '../domain/index.js';
import { evaluate, findGroupPolicy } from './evaluate.js';
import type { Decision, LedgerView, SpendCandidate } from './evaluate.js';
import type {
  Approval,
  ApprovalQuery,
  ApprovalStatus,
  BudgetLine,
  GuardAuditEvent,
  GuardEventPage,
  GuardEventQuery,
  HistoryImport,
  HistorySend,
  Intent,
  LedgerPort,
  ReserveInput,
  ReserveResult,
} from './ledger-port.js';
import { TotalsMovedError } from './ledger-storage.js';
import type { LedgerReader, LedgerStorage, LedgerTransaction, RecentObserved, Scope, ScopeTotals, TotalsCeiling } from './ledger-storage.js';
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
/**
 * How much the shared totals (group windows, campaign, global day) may grow, in sends of the
 * request's own cost, between a reservation's unlocked read of them and its bump, for the
 * reservation to stand without deciding again (see Ledger.reserveIn).
 */
const OPTIMISTIC_SLACK_SENDS = 64;
/** Holds expired per sweep; the rest wait for the next one. */
const EXPIRY_BATCH = 500;

/** Ids: a random per-process prefix and a counter — unique across processes, cheap to make. */
const processTag = randomBytes(4).toString('hex');
let sequence = 0;
const newId = (prefix: string) => `${prefix}_${processTag}${(++sequence).toString(36).padStart(6, '0')}`;

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

/** Whom and which group an entry about these intents concerns, for the audit trail's filters. */
function subjectsOf(intents: readonly Pick<Intent, 'group' | 'recipient'>[]): Pick<GuardAuditEvent, 'group' | 'recipientIdentities'> {
  const groups = new Set(intents.map((i) => i.group));
  return { group: groups.size === 1 ? [...groups][0] : undefined, recipientIdentities: [...new Set(intents.map((i) => i.recipient))] };
}

/** The running-total rows a send by `group` to `recipient` of `touchId` counts against. */
function scopesOf(group: string, touchId: number, recipient: string, policy: Policy, now: number): Scope[] {
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

/** The view from the shared scopes' totals (day, week, month, campaign, global day, in that order) and the recipients' part. */
const sharedView = (totals: readonly ScopeTotals[], recipients: LedgerView['recipients']): LedgerView => ({
  day: totals[0]!,
  week: totals[1]!,
  month: totals[2]!,
  campaign: totals[3]!,
  globalDay: totals[4]!,
  recipients,
});

/** The ledger over any store that keeps the storage contract. */
export class Ledger implements LedgerPort {
  private lastExpiry = Number.NEGATIVE_INFINITY;

  constructor(private readonly storage: LedgerStorage) {}

  // ---------------------------------------------------------------- the view

  /** The scopes a decision reads: the group's windows, the campaign, the global day, then each recipient's year. */
  private viewScopes(candidate: SpendCandidate, policy: Policy, now: number): { name: string; scopes: Scope[] } {
    const group = findGroupPolicy(policy, candidate.group);
    const name = group ? String(group.group) : String(candidate.group ?? '');
    const base = scopesOf(name, candidate.touch.id, '', policy, now).slice(0, 5);
    const years = candidate.recipients.map((email) => scopesOf(name, candidate.touch.id, email, policy, now)[5]!);
    return { name, scopes: [...base, ...years] };
  }

  /** Since when the frequency rule counts a recipient's sends; undefined when the group has no such rule. */
  private recentSince(name: string, policy: Policy, now: number): number | undefined {
    const perDays = findGroupPolicy(policy, name)?.per_recipient.max_sends?.per_days ?? 0;
    return perDays > 0 ? now - perDays * DAY_MS : undefined;
  }

  /** The per-recipient part of the view, from each recipient's year totals and recent sends (same order as candidate.recipients). */
  private recipientsView(
    candidate: SpendCandidate,
    now: number,
    years: readonly ScopeTotals[],
    recent: readonly { sends: number; observed: readonly RecentObserved[] }[],
  ): LedgerView['recipients'] {
    const recipients: Record<string, LedgerView['recipients'][string]> = {};
    for (const [index, email] of candidate.recipients.entries()) {
      recipients[email] = {
        year: years[index]!,
        recentSends: recent[index]!.sends,
        observed: recent[index]!.observed.map((o) => ({ touchName: o.touchName, cost: o.cost, daysAgo: Math.floor((now - o.createdAt) / DAY_MS), status: o.status })),
      };
    }
    return recipients;
  }

  /** Usage for a decision, read without locks (explain, the console, budget checks). */
  private async viewIn(reader: LedgerReader, candidate: SpendCandidate, policy: Policy, now: number): Promise<LedgerView> {
    const { name, scopes } = this.viewScopes(candidate, policy, now);
    const totals = await reader.totals(scopes);
    const since = this.recentSince(name, policy, now);
    const recent = [];
    for (const email of candidate.recipients) {
      recent.push(since === undefined ? { sends: 0, observed: [] } : { sends: await reader.recentSendCount(email, since), observed: await reader.observedRecent(email, since) });
    }
    return sharedView(totals, this.recipientsView(candidate, now, totals.slice(5), recent));
  }

  async view(candidate: SpendCandidate, policy: Policy, now: number): Promise<LedgerView> {
    return this.storage.read((r) => this.viewIn(r, candidate, policy, now));
  }

  async budget(group: string, policy: Policy, now: number): Promise<BudgetLine[]> {
    const groupPolicy = findGroupPolicy(policy, group);
    const name = groupPolicy ? String(groupPolicy.group) : group;
    const scopes = scopesOf(name, 0, '', policy, now).slice(0, 3);
    const [day, week, month] = await this.storage.read((r) => r.totals(scopes));
    const caps = groupPolicy?.caps;
    const countObserved = policy.outsideSends.count;
    const line = (window: string, usage: typeof day, cap: Cents | undefined): BudgetLine => {
      const used = usage!.captured + usage!.held + (countObserved ? usage!.observed : 0);
      return { window, cap, captured: usage!.captured, declared: usage!.declared, held: usage!.held, observed: usage!.observed, available: cap === undefined ? undefined : cents(cap - used) };
    };
    return [line('day', day, caps?.per_day), line('week', week, caps?.per_week), line('month', month, caps?.per_month)];
  }

  // ---------------------------------------------------------------- reserve

  async reserve(input: ReserveInput): Promise<ReserveResult> {
    // Expired holds are few and age slowly; sweeping once a second is plenty. In a transaction of
    // its own, before the reservation's, so the reservation locks only its own scopes.
    if (input.now - this.lastExpiry >= 1000) {
      this.lastExpiry = input.now;
      await this.expireHolds(input.now);
    }
    try {
      return await this.storage.transaction((tx) => this.reserveIn(tx, input, true));
    } catch (error) {
      if (!(error instanceof TotalsMovedError)) throw error;
      // Other reservations used more of the shared room than this one allowed for while it
      // decided: decide again, this time on the shared totals locked.
      return this.storage.transaction((tx) => this.reserveIn(tx, input, false));
    }
  }

  /**
   * Ceilings under which a reservation decided on shared totals read without a lock still holds,
   * or undefined when it must lock them and decide again. The decision depends on the shared
   * totals only through the caps (`total <= cap - used`), so more room never turns an allow into
   * anything else: if it still allows with every shared scope `slack` more used, it allows at any
   * usage up to that. The ceilings say exactly that to the store, per scope and for both ways of
   * counting use (with or without observed sends), plus what this reservation adds itself.
   */
  private optimisticCeilings(input: ReserveInput, view: LedgerView, decision: Decision, shared: readonly ScopeTotals[], adds: number): TotalsCeiling[] | undefined {
    if (decision.outcome !== 'allow' || decision.dryRun || decision.total === undefined) return undefined;
    const slack = Math.max(decision.total, 1) * OPTIMISTIC_SLACK_SENDS;
    const busier = (u: LedgerView['day']) => ({ ...u, held: cents(u.held + slack) });
    const busierView: LedgerView = { ...view, day: busier(view.day), week: busier(view.week), month: busier(view.month), campaign: busier(view.campaign), globalDay: busier(view.globalDay) };
    const again = evaluate(input.candidate, input.policy, busierView, { approved: input.approvalId !== undefined });
    if (again.outcome !== 'allow' || again.total !== decision.total || again.costPerSend !== decision.costPerSend) return undefined;
    return shared.map((t) => ({ heldCaptured: t.held + t.captured + slack + adds, all: t.held + t.captured + t.observed + slack + adds }));
  }

  /**
   * Check-and-reserve. The recipients' year scopes are locked first and everything about the
   * recipients is read under that lock. With `optimistic`, the shared totals (group, campaign,
   * global) are read without a lock, and an allowed reservation asks the store to bump them only
   * within ceilings under which the decision still holds (optimisticCeilings) — the hot shared rows
   * are then locked only by the bump, just before the commit; if they moved further the store rolls
   * the transaction back and `reserve` runs this again without `optimistic`. Otherwise, and for
   * every outcome but a reservation that fits, the shared scopes are locked and the decision made
   * again on what they hold.
   */
  private async reserveIn(tx: LedgerTransaction, input: ReserveInput, optimistic: boolean): Promise<ReserveResult> {
    // An approval is decided once: of two people approving at once, the second finds it decided.
    if (input.approvalId !== undefined) {
      const approval = await tx.approval(input.approvalId);
      if (approval?.status !== 'pending') throw new GiftingError('bad_request', `Approval ${input.approvalId} is ${approval?.status ?? 'unknown'}, not pending`);
    }
    // The recipients' year scopes are locked before their keys and sends are looked at: a twin
    // request (same key, so same recipient) waits here for the first one to commit, then finds
    // its intent. The scopes every request shares (group, campaign, global) are locked last, just
    // before the writes, so they are held for as short a time as possible.
    const { name, scopes } = this.viewScopes(input.candidate, input.policy, input.now);
    const shared = scopes.slice(0, 5);
    const found = await tx.lockRecipients({
      lock: scopes.slice(5),
      read: optimistic ? shared : [],
      keys: input.keys,
      recipients: input.candidate.recipients,
      since: this.recentSince(name, input.policy, input.now),
    });
    if (found.live.length > 0) return { kind: 'existing', intents: found.live };
    if (input.onePerRecipientSince !== undefined) {
      const same: Intent[] = [];
      for (const email of input.candidate.recipients) same.push(...(await tx.liveForRecipient(email, input.candidate.touch.id, input.onePerRecipientSince)));
      if (same.length > 0) return { kind: 'existing', intents: same };
    }
    const recipients = this.recipientsView(input.candidate, input.now, found.locked, found.recent);
    const decide = (view: LedgerView) => evaluate(input.candidate, input.policy, view, { approved: input.approvalId !== undefined });
    let view: LedgerView | undefined;
    let decision: Decision | undefined;
    if (optimistic) {
      view = sharedView(found.read, recipients);
      decision = decide(view);
      const ceilings = this.optimisticCeilings(input, view, decision, found.read, (decision.costPerSend ?? 0) * input.candidate.recipients.length);
      if (ceilings) await tx.limitTotals(shared, ceilings);
      else view = undefined;
    }
    if (view === undefined || decision === undefined) {
      view = sharedView(await tx.lockTotals(shared), recipients);
      decision = decide(view);
    }
    const record = (intentIds?: string[], approvalId?: string) =>
      tx.audit({
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
      await record();
      return { kind: 'decided', decision, view };
    }
    const group = decision.groupName!;
    const amount = decision.costPerSend!;

    if (decision.outcome === 'needs_approval') {
      await tx.insertApproval({
        id: newId('apr'),
        status: 'pending',
        payloadHash: input.payloadHash,
        key: input.requestKey,
        group,
        touchId: input.candidate.touch.id,
        touchName: input.candidate.touch.name,
        recipients: input.candidate.recipients,
        kind: input.candidate.kind,
        amount,
        currency: input.candidate.touch.currency,
        reasons: decision.reasons,
        request: input.request,
        createdAt: input.now,
        expiresAt: input.now + input.policy.approvalLifetimeMs,
        decidedAt: null,
        decidedBy: null,
        decisionReason: null,
      });
      const approval = (await tx.pendingApproval(input.requestKey, input.payloadHash))!;
      await record(undefined, approval.id);
      return { kind: 'approval', decision, approval };
    }

    const batch = newId('bat');
    // A hold of an intent dispatched in this very transaction must never lapse on its own.
    const expires = input.dispatchNow ? null : input.now + input.policy.holdLifetimeMs;
    const intents: Intent[] = [];
    for (const [index, recipient] of input.candidate.recipients.entries()) {
      const intent: Intent = {
        id: `${batch}.${index}`,
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
      };
      intents.push(intent);
      await tx.insertIntent(intent);
      const scopes = scopesOf(group, input.candidate.touch.id, recipient, input.policy, input.now);
      await tx.insertHold(intent.id, amount, scopes, input.now, expires);
      await tx.bumpTotals(scopes, { held: amount });
    }
    await record(intents.map((i) => i.id));
    // Approved in the same transaction that reserved it, so a denial racing this approval either
    // came first (and nothing was reserved) or finds it approved.
    if (input.approvalId !== undefined) await this.decideIn(tx, input.approvalId, 'approved', input.caller, null, input.now);
    return { kind: 'reserved', decision, intents };
  }

  // ---------------------------------------------------------------- an intent's life

  async claim(batchId: string, now: number): Promise<boolean> {
    return this.storage.transaction(async (tx) => {
      const intents = await tx.batch(batchId);
      const changed = await tx.claimBatch(batchId, now);
      if (changed !== intents.length) {
        if (changed > 0) throw new Error(`batch ${batchId} was claimed only in part`);
        return false;
      }
      // From here on the outcome may become unknown: the hold must never lapse on its own.
      for (const intent of intents) await tx.keepHold(intent.id);
      return true;
    });
  }

  /** Closes a hold: capture (at `capture` cents) or release; keeps the running totals in step. */
  private async closeHold(tx: LedgerTransaction, intentId: string, capture: number | undefined, now: number): Promise<void> {
    const hold = await tx.hold(intentId);
    if (!hold || hold.status !== 'active') return;
    if (capture === undefined) {
      if (!(await tx.closeHold(intentId, 'released', now))) return;
      await tx.bumpTotals(hold.scopes, { held: -hold.amount });
    } else {
      if (!(await tx.closeHold(intentId, 'captured', now))) return;
      await tx.insertCapture(intentId, cents(capture), now);
      await tx.bumpTotals(hold.scopes, { held: -hold.amount, captured: capture, declared: hold.amount });
    }
  }

  async markSent(batchId: string, response: unknown, now: number): Promise<void> {
    const tracking = typeof (response as { tracking_code?: unknown })?.tracking_code === 'string' ? (response as { tracking_code: string }).tracking_code : null;
    const responseJson = JSON.stringify(response ?? null);
    await this.storage.transaction(async (tx) => {
      const changed: string[] = [];
      const late: string[] = [];
      const rows = await tx.batch(batchId);
      for (const intent of rows) {
        if (intent.status === 'FAILED') {
          // Reconciliation gave up on it while the answer was still coming: the send happened,
          // so the ledger says so and books it — never lose a send that Sendoso charged.
          if (await tx.reviveAsSent(intent.id, now, { trackingCode: tracking, response: responseJson, detail: 'answered after reconciliation had given up on it' })) {
            const hold = await tx.hold(intent.id);
            if (hold && (await tx.reopenHoldAsCaptured(intent.id, now))) {
              await tx.insertCapture(intent.id, intent.amount, now);
              await tx.bumpTotals(hold.scopes, { captured: intent.amount, declared: intent.amount });
            }
            late.push(intent.id);
          } else {
            // A retry of the same request is live meanwhile (the unique key): Sendoso has two sends.
            await tx.audit({ at: now, event: 'dispatch', outcome: 'duplicate_send', intentIds: [intent.id], reasons: ['late_answer'], ...subjectsOf([intent]) });
          }
          continue;
        }
        if (intent.status !== 'DISPATCHING' && intent.status !== 'UNKNOWN') continue;
        if (!(await tx.setSent(intent.id, ['DISPATCHING', 'UNKNOWN'], now, { trackingCode: tracking, sendId: null, response: responseJson }))) continue;
        await this.closeHold(tx, intent.id, intent.amount, now);
        changed.push(intent.id);
      }
      const concerned = (ids: readonly string[]) => subjectsOf(rows.filter((r) => ids.includes(r.id)));
      await tx.audit({ at: now, event: 'dispatch', outcome: 'sent', intentIds: [...changed, ...late], ...concerned([...changed, ...late]) });
      if (late.length > 0) await tx.audit({ at: now, event: 'dispatch', outcome: 'late_answer', intentIds: late, ...concerned(late) });
    });
  }

  async redispatch(batchId: string, now: number): Promise<void> {
    await this.storage.transaction((tx) => tx.redispatchBatch(batchId, now));
  }

  async unclaim(batchId: string, detail: string, now: number): Promise<void> {
    await this.storage.transaction(async (tx) => {
      if ((await tx.unclaimBatch(batchId, detail, now)) === 0) return;
      const rows = await tx.batch(batchId);
      await tx.audit({ at: now, event: 'dispatch', outcome: 'requeued', intentIds: rows.map((i) => i.id), reasons: [detail], ...subjectsOf(rows) });
    });
  }

  async markFailed(batchId: string, code: string, detail: string, now: number): Promise<void> {
    await this.storage.transaction(async (tx) => {
      const changed: Intent[] = [];
      for (const intent of await tx.batch(batchId)) {
        if (intent.status !== 'DISPATCHING') continue;
        if (!(await tx.setStatus(intent.id, 'FAILED', ['DISPATCHING'], now, detail))) continue;
        await this.closeHold(tx, intent.id, undefined, now);
        changed.push(intent);
      }
      await tx.audit({ at: now, event: 'dispatch', outcome: 'failed', intentIds: changed.map((i) => i.id), reasons: [code], ...subjectsOf(changed) });
    });
  }

  async markUnknown(batchId: string, code: string, detail: string, now: number): Promise<void> {
    await this.storage.transaction(async (tx) => {
      const changed: Intent[] = [];
      for (const intent of await tx.batch(batchId)) {
        if (intent.status !== 'DISPATCHING') continue;
        if (!(await tx.setStatus(intent.id, 'UNKNOWN', ['DISPATCHING'], now, detail))) continue;
        changed.push(intent);
      }
      if (changed.length > 0) await tx.audit({ at: now, event: 'dispatch', outcome: 'unknown', intentIds: changed.map((i) => i.id), reasons: [code], ...subjectsOf(changed) });
    });
  }

  async unresolved(now: number, staleDispatchMs: number): Promise<Intent[]> {
    return this.storage.read((r) => r.unresolved(now - staleDispatchMs));
  }

  async resolveSent(intentId: string, found: { sendId: number; cost: Cents; trackingCode: string | null }, now: number): Promise<boolean> {
    return this.storage.transaction(async (tx) => {
      const intent = await tx.intent(intentId);
      if (!intent || (intent.status !== 'UNKNOWN' && intent.status !== 'DISPATCHING')) return false;
      // Matched to another intent by a concurrent reconciliation: that pairing stands.
      if (await tx.sendTaken(found.sendId)) return false;
      if (!(await tx.setSent(intentId, ['UNKNOWN', 'DISPATCHING'], now, { trackingCode: found.trackingCode, sendId: found.sendId, response: null, detail: 'found in Sendoso by reconciliation' }))) return false;
      await this.closeHold(tx, intentId, found.cost, now);
      await tx.audit({ at: now, event: 'reconcile', outcome: 'sent', intentIds: [intentId], amount: found.cost, ...subjectsOf([intent]) });
      return true;
    });
  }

  async resolveFailed(intentId: string, detail: string, now: number): Promise<boolean> {
    return this.storage.transaction(async (tx) => {
      const intent = await tx.intent(intentId);
      if (!intent || (intent.status !== 'UNKNOWN' && intent.status !== 'DISPATCHING')) return false;
      if (!(await tx.setStatus(intentId, 'FAILED', ['UNKNOWN', 'DISPATCHING'], now, detail))) return false;
      await this.closeHold(tx, intentId, undefined, now);
      await tx.audit({ at: now, event: 'reconcile', outcome: 'failed', intentIds: [intentId], ...subjectsOf([intent]) });
      return true;
    });
  }

  async sentTo(recipients: readonly string[], since: number): Promise<Intent[]> {
    return this.storage.read(async (r) => {
      const found: Intent[] = [];
      for (const email of new Set(recipients)) found.push(...(await r.sentTo(email, since)));
      return found;
    });
  }

  async matchedSendIds(): Promise<Set<number>> {
    return new Set(await this.storage.read((r) => r.matchedSendIds()));
  }

  async expireHolds(now: number): Promise<number> {
    return this.storage.transaction(async (tx) => {
      const due = await tx.expiringHolds(now, EXPIRY_BATCH);
      for (const intentId of due) {
        const intent = await tx.intent(intentId);
        if (intent?.status !== 'PENDING') continue;
        // Only from PENDING: a claim that won meanwhile keeps its hold.
        if (!(await tx.setStatus(intentId, 'EXPIRED', ['PENDING'], now, 'hold expired before dispatch'))) continue;
        await this.closeHold(tx, intentId, undefined, now);
      }
      return due.length;
    });
  }

  async intent(id: string): Promise<Intent | undefined> {
    return this.storage.read((r) => r.intent(id));
  }

  async approvedPending(): Promise<Intent[]> {
    return this.storage.read((r) => r.approvedPending());
  }

  async intentsOfApproval(approvalId: string): Promise<Intent[]> {
    return this.storage.read((r) => r.intentsOfApproval(approvalId));
  }

  // ---------------------------------------------------------------- approvals

  async approval(id: string): Promise<Approval | undefined> {
    return this.storage.read((r) => r.approval(id));
  }

  async approvals(query: ApprovalStatus | ApprovalQuery = {}): Promise<Approval[]> {
    return this.storage.read((r) => r.approvals(typeof query === 'string' ? { status: query } : query));
  }

  async decideApproval(id: string, status: ApprovalStatus, by: string | null, reason: string | null, now: number): Promise<boolean> {
    return this.storage.transaction((tx) => this.decideIn(tx, id, status, by, reason, now));
  }

  private async decideIn(tx: LedgerTransaction, id: string, status: ApprovalStatus, by: string | null, reason: string | null, now: number): Promise<boolean> {
    if (!(await tx.decideApproval(id, status, APPROVAL_FOLLOWS[status], by, reason, now))) return false;
    const approval = await tx.approval(id);
    await tx.audit({
      at: now,
      event: 'approval',
      outcome: status,
      approvalId: id,
      ...(by !== null && { caller: by }),
      ...(approval && { group: approval.group, recipientIdentities: approval.recipients }),
    });
    return true;
  }

  async countPendingApprovals(now: number): Promise<number> {
    return this.storage.read((r) => r.countPendingApprovals(now));
  }

  async expireApprovals(now: number): Promise<number> {
    return this.storage.transaction((tx) => tx.expireApprovals(now));
  }

  // ---------------------------------------------------------------- the guard's log

  async recordGuardEvent(event: GuardAuditEvent): Promise<void> {
    await this.storage.transaction((tx) => tx.audit(event));
  }

  async guardEvents(query: GuardEventQuery): Promise<GuardEventPage> {
    return this.storage.read(async (r) => {
      const bounds = await r.auditBounds();
      if (bounds === undefined || query.limit <= 0) return { entries: [] };
      const { first, last } = bounds;
      // Entries are appended in time order: a time range is an id range, found by primary-key seeks.
      const idAtOrAfter = async (at: number): Promise<number> => {
        let low = first;
        let high = last + 1;
        while (low < high) {
          const mid = Math.floor((low + high) / 2);
          const entryAt = await r.auditAtOrAfter(mid);
          if (entryAt !== undefined && entryAt < at) low = mid + 1;
          else high = mid;
        }
        return low;
      };
      const low = query.since === undefined ? first : await idAtOrAfter(query.since);
      const high = Math.min(query.before ?? last + 1, query.until === undefined ? last + 1 : await idAtOrAfter(query.until));
      if (high <= low) return { entries: [] };
      // A recipient's entries come from their own index, however far back; anything else searches a window.
      const floor = query.recipient === undefined ? Math.max(low, high - GUARD_LOG_SEARCH_WINDOW) : low;
      const entries = await r.auditPage({
        floor,
        high,
        limit: query.limit + 1,
        recipient: query.recipient,
        group: query.group,
        event: query.event,
        outcome: query.outcome,
        since: query.since,
        until: query.until,
      });
      if (entries.length > query.limit) {
        entries.length = query.limit;
        return { entries, older: entries[entries.length - 1]!.id };
      }
      return floor > low ? { entries, older: floor, searchedBackTo: await r.auditAtOrAfter(floor) } : { entries };
    });
  }

  // ---------------------------------------------------------------- Sendoso's history

  async importHistory(sends: readonly HistorySend[], policy: Policy, now: number): Promise<HistoryImport> {
    return this.storage.transaction(async (tx) => {
      const counts = { ours: 0, imported: 0, updated: 0, rebooked: 0, skipped: 0 };
      for (const send of sends) {
        // A send giftguard made: learn its id and gid; book it at what Sendoso charged.
        const ours = await tx.intentForSend(send.id, send.trackingCode);
        if (ours) {
          const { intent, sendGid } = ours;
          counts.ours += 1;
          if (intent.sendosoSendId === null && !(await tx.sendTaken(send.id))) await tx.linkSend(intent.id, send.id, send.sendGid);
          else if (sendGid === null) await tx.linkSend(intent.id, null, send.sendGid);
          const captured = await tx.captured(intent.id);
          const hold = await tx.hold(intent.id);
          if (intent.status === 'SENT' && captured !== undefined && hold && captured !== send.cost && (await tx.rebookCapture(intent.id, captured, send.cost, now))) {
            await tx.bumpTotals(hold.scopes, { captured: send.cost - captured });
            await tx.audit({ at: now, event: 'rebook', outcome: 'captured', intentIds: [intent.id], amount: cents(send.cost), ...subjectsOf([intent]) });
            counts.rebooked += 1;
          }
          continue;
        }
        const seen = await tx.observed(send.id);
        if (seen) {
          if ((seen.cost !== send.cost || seen.status !== send.status) && (await tx.updateObserved(send.id, seen, { cost: send.cost, status: send.status }, now))) {
            await tx.bumpTotals(seen.scopes, { observed: send.cost - seen.cost });
            counts.updated += 1;
          }
          continue;
        }
        // Possibly giftguard's own, not yet tied to its intent: reconciliation decides, not this.
        if ((await tx.claimantCount(send.recipient, send.touchId, send.createdAt - CLAIM_SKEW_MS)) > 0) {
          counts.skipped += 1;
          continue;
        }
        const group = send.senderGroup ?? 'unknown sender';
        const scopes = scopesOf(group, send.touchId, send.recipient, policy, send.createdAt);
        await tx.insertObserved(send, scopes, now);
        await tx.bumpTotals(scopes, { observed: send.cost });
        counts.imported += 1;
      }
      return counts;
    });
  }

  async intentsBySendGid(sendGid: string): Promise<Intent[]> {
    return this.storage.read((r) => r.intentsBySendGid(sendGid));
  }

  async recordDeliveries(intentId: string, updates: readonly { status: string; at: number }[], now: number): Promise<{ status: string; at: number }[]> {
    return this.storage.transaction(async (tx) => {
      const fresh: { status: string; at: number }[] = [];
      for (const update of updates) if (await tx.insertDelivery(intentId, update.status, update.at, now)) fresh.push(update);
      if (fresh.length > 0) {
        const intent = await tx.intent(intentId);
        await tx.audit({ at: now, event: 'delivery', outcome: fresh.map((u) => u.status).join(' → '), intentIds: [intentId], ...(intent && subjectsOf([intent])) });
      }
      return fresh;
    });
  }

  async deliveries(intentId: string): Promise<{ status: string; at: number }[]> {
    return this.storage.read((r) => r.deliveries(intentId));
  }

  async syncMark(name: string): Promise<number | undefined> {
    return this.storage.read((r) => r.syncMark(name));
  }

  async setSyncMark(name: string, value: number): Promise<void> {
    await this.storage.transaction((tx) => tx.setSyncMark(name, value));
  }

  async touchPins(): Promise<Map<string, number>> {
    return this.storage.read((r) => r.touchPins());
  }

  async pinTouches(pins: ReadonlyMap<string, number>, now: number): Promise<void> {
    // The first pin of a name wins, whichever process made it.
    await this.storage.transaction(async (tx) => {
      for (const [name, touchId] of pins) await tx.pinTouch(name, touchId, now);
    });
  }
}
