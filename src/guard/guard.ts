/**
 * @module The guard: the SpendGate every spending path goes through. For each request it resolves
 * the campaign and its cost, evaluates the policy and reserves budget in one ledger transaction,
 * records the intent, claims it (one winner), and only then dispatches. Definite failures release
 * the hold; unknown outcomes keep it until reconciliation finds the send or proves it absent.
 * Approvals bind to a hash of the exact payload and re-check the hard caps when given.
 */
import { createHash } from 'node:crypto';
import { GiftingError, formatMoney, toGiftingError } from '../domain/index.js';
import type {
  CampaignDirectory,
  Cents,
  Clock,
  DecisionReason,
  DispatchResult,
  SendHistory,
  SentRecord,
  SpendDispatcher,
  SpendGate,
  SpendOutcome,
  SpendRequest,
} from '../domain/index.js';
import type { Logger } from '../log/index.js';
import { costOf, evaluate, findGroupPolicy } from './evaluate.js';
import type { Decision, LedgerView, SpendCandidate } from './evaluate.js';
import type { Approval, Intent, LedgerPort, StoredRequest } from './ledger-port.js';
import type { Policy } from './policy-schema.js';

/** Points in a spend's life, for observers (metrics, tests that crash a process at each one). */
export type GuardStep = 'reserved' | 'claimed' | 'dispatching' | 'dispatched' | 'recorded';

export interface GuardOptions {
  readonly ledger: LedgerPort;
  readonly policy: Policy;
  readonly campaigns: CampaignDirectory;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Sends approved requests; absent where no Sendoso connection is available. */
  readonly dispatcher?: SpendDispatcher | undefined;
  /** How long a DISPATCHING intent may sit before reconciliation treats it as unknown (default 2 min). */
  readonly staleDispatchMs?: number;
  /** How long after dispatch an absent send may still appear in Sendoso's list (default 10 min). */
  readonly settleMs?: number;
  /** Allowance for Sendoso's clock differing from ours when matching sends (default 5 min). */
  readonly clockSkewMs?: number;
  readonly onStep?: (step: GuardStep, batchId: string) => void;
}

/** The result of approving: what happened to the approved send. */
export type ApprovalResult =
  | { readonly status: 'approved'; readonly intentIds: readonly string[] }
  | { readonly status: 'denied'; readonly reasons: readonly DecisionReason[] }
  | { readonly status: 'voided'; readonly reason: string };

export interface ReconcileReport {
  readonly checked: number;
  readonly sent: number;
  readonly failed: number;
  readonly stillUnknown: number;
}

/** Canonical JSON: object keys sorted, so equal payloads hash equally. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The guard. Implements the tool layer's SpendGate. */
export class Guard implements SpendGate {
  private readonly log: Logger;

  constructor(private readonly options: GuardOptions) {
    this.log = options.logger.child({ module: 'guard' });
  }

  get policy(): Policy {
    return this.options.policy;
  }

  /** The payload an approval binds to: group, campaign, recipients, cost and the exact body. */
  static payloadHash(group: string, candidate: SpendCandidate, cost: number | undefined, body: unknown): string {
    return sha256(canonical({ group: group.toLowerCase(), touch: candidate.touch.id, recipients: [...candidate.recipients].sort(), cost, kind: candidate.kind, body }));
  }

  /**
   * The caller's key for a request. Trusted callers (workflows) pass one per step; other callers
   * get one per caller per UTC day, so a retried or repeated request the same day is the same
   * intent and is never sent twice.
   */
  private requestKey(request: SpendRequest): string {
    if (request.idempotencyKey) return `key:${request.idempotencyKey}`;
    const day = new Date(this.options.clock.now()).toISOString().slice(0, 10);
    return `${request.caller.via}:${request.caller.id}:${day}`;
  }

  private intentKeys(requestKey: string, touchId: number, recipients: readonly string[]): string[] {
    return recipients.map((email) => sha256(`${requestKey}|${touchId}|${email}`));
  }

  private async candidateFor(request: { readonly kind: SpendRequest['kind']; readonly touchId: number; readonly recipients: readonly { email: string }[]; readonly group?: string | undefined }): Promise<SpendCandidate | undefined> {
    const touch = await this.options.campaigns.find(request.touchId);
    if (!touch) return undefined;
    return {
      kind: request.kind,
      group: request.group,
      touch,
      recipients: request.recipients.map((r) => r.email.trim().toLowerCase()),
    };
  }

  async submit(request: SpendRequest, dispatch: () => Promise<DispatchResult>): Promise<SpendOutcome> {
    const now = this.options.clock.now();
    const caller = `${request.caller.via}:${request.caller.id}`;
    const candidate = await this.candidateFor(request);
    if (!candidate) {
      // An invented or inactive campaign id: refuse before anything is reserved.
      const reasons = [{ code: 'touch_not_found', message: `Sendoso has no active campaign with touch id ${request.touchId}. Look it up with list_all_sendoso_campaigns.` }];
      await this.options.ledger.audit({ at: now, event: 'decision', touchId: request.touchId, outcome: 'deny', reasons: ['touch_not_found'], caller });
      return { status: 'denied', reasons };
    }
    const groupPolicy = findGroupPolicy(this.options.policy, candidate.group);
    const groupName = groupPolicy ? String(groupPolicy.group) : String(candidate.group ?? '');
    const cost = costOf(this.options.policy, candidate.touch);
    const requestKey = this.requestKey(request);
    const stored: StoredRequest = { tool: request.tool, path: request.path, body: request.body, caller: request.caller };
    const payloadHash = Guard.payloadHash(groupName, candidate, cost, request.body);
    const result = await this.options.ledger.reserve({
      candidate,
      policy: this.options.policy,
      keys: this.intentKeys(requestKey, candidate.touch.id, candidate.recipients),
      requestKey,
      payloadHash,
      request: stored,
      now,
      dispatchNow: true,
      caller,
    });

    switch (result.kind) {
      case 'existing':
        if (this.resumable(result.intents, payloadHash)) return this.dispatchBatch(result.intents, dispatch, false);
        return this.repeated(result.intents);
      case 'decided': {
        if (result.decision.dryRun && result.decision.outcome !== 'deny') {
          return { status: 'denied', reasons: [dryRunReason(result.decision)] };
        }
        return { status: 'denied', reasons: result.decision.reasons };
      }
      case 'approval':
        this.log.info({ approvalId: result.approval.id, group: result.approval.group }, 'send needs approval');
        return { status: 'pending_approval', approvalId: result.approval.id, reasons: result.decision.reasons, expiresAt: result.approval.expiresAt };
      case 'reserved':
        this.options.onStep?.('reserved', result.intents[0]!.batchId);
        return this.dispatchBatch(result.intents, dispatch, true);
    }
  }

  /**
   * A caller that crashed after reserving but before dispatching left its intents PENDING. The
   * same request (same key, same payload) may take them over: nothing was sent yet, and the claim
   * still lets only one worker dispatch.
   */
  private resumable(intents: readonly Intent[], payloadHash: string): boolean {
    const batch = intents[0]?.batchId;
    return intents.length > 0 && intents.every((i) => i.status === 'PENDING' && i.batchId === batch && i.payloadHash === payloadHash);
  }

  /** The same request again: report what became of the first one, never send a second time. */
  private repeated(intents: readonly Intent[]): SpendOutcome {
    const ids = intents.map((i) => i.id);
    if (intents.every((i) => i.status === 'SENT')) {
      return { status: 'sent', response: intents[0]!.response ?? { message: 'Sent earlier.' }, intentIds: ids, alreadySent: true };
    }
    return {
      status: 'outcome_unknown',
      intentIds: ids,
      message: 'This exact send was already requested and is still in progress or being checked with Sendoso. It was not sent again; ask later for its outcome.',
    };
  }

  /**
   * Claim → dispatch → record, for a reserved batch. Intents reserved for immediate dispatch come
   * already claimed (the reserving transaction was the claim); PENDING ones are claimed here.
   */
  private async dispatchBatch(intents: readonly Intent[], dispatch: () => Promise<DispatchResult>, claimed: boolean): Promise<SpendOutcome> {
    const ledger = this.options.ledger;
    const batch = intents[0]!.batchId;
    const ids = intents.map((i) => i.id);
    if (!claimed && !(await ledger.claim(batch, this.options.clock.now()))) {
      return { status: 'outcome_unknown', intentIds: ids, message: 'Another giftguard worker took this send over; it was not sent twice.' };
    }
    this.options.onStep?.('claimed', batch);
    let response: DispatchResult;
    try {
      this.options.onStep?.('dispatching', batch);
      response = await dispatch();
    } catch (thrown) {
      const error = toGiftingError(thrown);
      const now = this.options.clock.now();
      if (error.outcome === 'unknown') {
        await ledger.markUnknown(batch, error.code, error.message, now);
        this.log.warn({ batch, code: error.code }, 'send outcome unknown; kept for reconciliation');
        return {
          status: 'outcome_unknown',
          intentIds: ids,
          message: 'Sendoso did not answer clearly, so the gift may or may not have gone out. giftguard keeps the budget reserved and checks Sendoso\'s send list before anything is retried. Do not send it again.',
        };
      }
      await ledger.markFailed(batch, error.code, error.message, now);
      throw error;
    }
    this.options.onStep?.('dispatched', batch);
    const now = this.options.clock.now();
    await ledger.markSent(batch, response.body, now);
    this.options.onStep?.('recorded', batch);
    return { status: 'sent', response: response.body, intentIds: ids };
  }

  // ---------------------------------------------------------------- explain and budget

  /** What one send of a campaign reserves under this policy, if known. */
  async campaignCost(touchId: number): Promise<Cents | undefined> {
    const touch = await this.options.campaigns.find(touchId);
    return touch ? costOf(this.options.policy, touch) : undefined;
  }

  /** The decision for a hypothetical send, with every rule consulted; reserves nothing. */
  async explain(input: { group: string; touchId: number; emails: readonly string[]; kind?: SpendRequest['kind'] }): Promise<{ decision: Decision; view: LedgerView } | undefined> {
    const candidate = await this.candidateFor({ kind: input.kind ?? 'egift', touchId: input.touchId, recipients: input.emails.map((email) => ({ email })), group: input.group });
    if (!candidate) return undefined;
    const kind = candidate.touch.deliveryType === 'email' ? 'egift' : 'address_collection';
    const actual = { ...candidate, kind: input.kind ?? kind };
    const view = await this.options.ledger.view(actual, this.options.policy, this.options.clock.now());
    return { decision: evaluate(actual, this.options.policy, view), view };
  }

  // ---------------------------------------------------------------- approvals

  /**
   * Approves a pending request: checks it has not expired and that the payload is unchanged, then
   * reserves under the hard caps as they stand now. An approval never lifts a cap.
   */
  async approve(id: string, by: string): Promise<ApprovalResult> {
    const ledger = this.options.ledger;
    const now = this.options.clock.now();
    const approval = await this.pendingApproval(id, now);

    const recipients = approval.recipients.map((email) => ({ email }));
    const candidate = await this.candidateFor({ kind: approval.kind, touchId: approval.touchId, recipients, group: approval.group });
    const cost = candidate ? costOf(this.options.policy, candidate.touch) : undefined;
    const hash = candidate ? Guard.payloadHash(approval.group, candidate, cost, approval.request.body) : undefined;
    if (!candidate || hash !== approval.payloadHash) {
      const reason = !candidate
        ? `the campaign (touch ${approval.touchId}) is no longer active`
        : `the request changed since it was submitted (cost now ${cost === undefined ? 'unknown' : formatMoney(cost, candidate.touch.currency)})`;
      await ledger.decideApproval(id, 'voided', by, reason, now);
      return { status: 'voided', reason: `Approval ${id} is void: ${reason}. Submit the send again.` };
    }

    const result = await ledger.reserve({
      candidate,
      policy: this.options.policy,
      keys: this.intentKeys(approval.key, candidate.touch.id, candidate.recipients),
      requestKey: approval.key,
      payloadHash: approval.payloadHash,
      request: approval.request,
      now,
      approvalId: id,
      caller: by,
    });
    if (result.kind === 'reserved') {
      await ledger.decideApproval(id, 'approved', by, null, now);
      return { status: 'approved', intentIds: result.intents.map((i) => i.id) };
    }
    const reasons: readonly DecisionReason[] =
      result.kind === 'existing'
        ? [{ code: 'already_requested', message: 'This exact send already exists; it was not reserved again.' }]
        : result.kind === 'decided' && result.decision.dryRun && result.decision.outcome !== 'deny'
          ? [dryRunReason(result.decision)]
          : result.decision.reasons;
    await ledger.decideApproval(id, 'denied', by, reasons.map((r) => r.message).join(' '), now);
    return { status: 'denied', reasons };
  }

  /** The approval `id`, if it is still pending now (expired ones are expired first); throws otherwise. */
  private async pendingApproval(id: string, now: number): Promise<Approval> {
    await this.options.ledger.expireApprovals(now);
    const approval = await this.options.ledger.approval(id);
    if (!approval) throw new GiftingError('not_found', `No approval ${id}`);
    if (approval.status !== 'pending') throw new GiftingError('bad_request', `Approval ${id} is ${approval.status}, not pending`);
    return approval;
  }

  /** A person refused the request. */
  async deny(id: string, by: string, reason?: string): Promise<void> {
    const ledger = this.options.ledger;
    const now = this.options.clock.now();
    const approval = await this.pendingApproval(id, now);
    await ledger.decideApproval(id, 'denied', by, reason ?? null, now);
  }

  /** Sends every approved request still waiting; returns how many batches went out. */
  async dispatchApproved(): Promise<number> {
    const dispatcher = this.options.dispatcher;
    if (!dispatcher) return 0;
    const pending = await this.options.ledger.approvedPending();
    const batches = new Map<string, Intent[]>();
    for (const intent of pending) batches.set(intent.batchId, [...(batches.get(intent.batchId) ?? []), intent]);
    let sent = 0;
    for (const intents of batches.values()) {
      const first = intents[0]!;
      try {
        const outcome = await this.dispatchBatch(intents, () => dispatcher({ path: first.request.path, body: first.request.body }), false);
        if (outcome.status === 'sent') sent += 1;
        await this.options.ledger.decideApproval(first.approvalId!, outcome.status === 'sent' ? 'sent' : 'approved', null, null, this.options.clock.now());
      } catch (error) {
        await this.options.ledger.decideApproval(first.approvalId!, 'failed', null, toGiftingError(error).message, this.options.clock.now());
        this.log.warn({ approvalId: first.approvalId, err: error }, 'approved send failed');
      }
    }
    return sent;
  }

  // ---------------------------------------------------------------- reconciliation

  /**
   * Resolves UNKNOWN intents (and DISPATCHING ones left by a crash) against Sendoso's send list:
   * a send to the same recipient of the same campaign after the dispatch → SENT, captured at its
   * current_total_cost; none after the settle window → FAILED, released, eligible again. Never a
   * blind retry.
   */
  async reconcile(history: SendHistory): Promise<ReconcileReport> {
    const ledger = this.options.ledger;
    const now = this.options.clock.now();
    await ledger.expireHolds(now);
    const open = await ledger.unresolved(now, this.options.staleDispatchMs ?? 120_000);
    if (open.length === 0) return { checked: 0, sent: 0, failed: 0, stillUnknown: 0 };
    const skew = this.options.clockSkewMs ?? 300_000;
    const since = Math.min(...open.map((i) => i.dispatchedAt ?? i.createdAt)) - skew;

    // Upstream sends in the window that no intent is known to own yet.
    const matched = await ledger.matchedSendIds();
    const sentIntents = await ledger.sentTo(open.map((i) => i.recipient), since);
    const ownCodes = new Set(sentIntents.map((i) => i.trackingCode).filter((c): c is string => c !== null));
    const codesSeen = new Set<string>();
    const upstream = new Map<string, SentRecord[]>();
    for await (const send of history.newestFirst()) {
      if (send.createdAt < since) break;
      if (matched.has(send.id)) continue;
      if (send.trackingCode && ownCodes.has(send.trackingCode)) {
        codesSeen.add(send.trackingCode);
        continue;
      }
      const key = `${send.recipientEmail.toLowerCase()}|${send.touchId}`;
      upstream.set(key, [...(upstream.get(key) ?? []), send]);
    }
    // SENT intents that could not be tied to a send by id or tracking code still account for one
    // send each (eGift links, or a Sendoso without tracking codes in its list): pair in order.
    const claimants = new Map<string, Intent[]>();
    const unowned = sentIntents.filter((i) => i.sendosoSendId === null && !(i.trackingCode && codesSeen.has(i.trackingCode)));
    for (const intent of [...unowned, ...open]) {
      const key = `${intent.recipient}|${intent.touchId}`;
      claimants.set(key, [...(claimants.get(key) ?? []), intent]);
    }
    const openIds = new Set(open.map((i) => i.id));
    let sent = 0;
    for (const [key, intents] of claimants) {
      const sends = (upstream.get(key) ?? []).sort((a, b) => a.createdAt - b.createdAt || a.id - b.id);
      const ordered = intents.sort((a, b) => (a.dispatchedAt ?? a.createdAt) - (b.dispatchedAt ?? b.createdAt));
      for (let i = 0; i < Math.min(sends.length, ordered.length); i++) {
        const intent = ordered[i]!;
        const send = sends[i]!;
        if (!openIds.has(intent.id)) continue;
        await ledger.resolveSent(intent.id, { sendId: send.id, cost: send.cost, trackingCode: send.trackingCode }, now);
        openIds.delete(intent.id);
        sent += 1;
      }
    }
    let failed = 0;
    const settle = this.options.settleMs ?? 600_000;
    for (const intent of open.filter((i) => openIds.has(i.id))) {
      if (now - (intent.dispatchedAt ?? intent.createdAt) >= settle) {
        await ledger.resolveFailed(intent.id, 'not found in Sendoso after the settle window', now);
        failed += 1;
      } else if (intent.status === 'DISPATCHING') {
        await ledger.markUnknown(intent.batchId, 'restart', 'left dispatching by a stopped worker; checking Sendoso', now);
      }
    }
    const report = { checked: open.length, sent, failed, stillUnknown: open.length - sent - failed };
    this.log.info(report, 'reconciled');
    return report;
  }
}

function dryRunReason(decision: Decision): DecisionReason {
  const would = decision.outcome === 'needs_approval' ? 'would need approval' : 'would be allowed';
  const cost = decision.total === undefined ? '' : ` and reserve ${formatMoney(decision.total)}`;
  return { code: 'dry_run', message: `Dry run: this send ${would}${cost}; nothing was reserved or sent.` };
}
