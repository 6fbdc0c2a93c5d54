/**
 * @module The guard: the SpendGate every spending path goes through. For each request it resolves
 * the campaign and its cost, evaluates the policy in force (re-read as its files change) and
 * reserves budget in one ledger transaction, records the intent, claims it (one winner), and only
 * then dispatches. Definite failures release the hold; unknown outcomes — and anything unexpected
 * thrown once the request may have been written — keep it until reconciliation finds the send or
 * proves it absent. Approvals bind to a hash of the exact payload and re-check the hard caps.
 */
import { createHash } from 'node:crypto';
import { GiftingError, formatMoney, sleep, toGiftingError } from '../domain/index.js';
import type {
  CampaignDirectory,
  Cents,
  Clock,
  DecisionReason,
  Dispatch,
  DispatchResult,
  SendHistory,
  Sender,
  SenderDirectory,
  SenderGroups,
  SentRecord,
  SpendDispatcher,
  SpendGate,
  SpendOutcome,
  SpendRequest,
} from '../domain/index.js';
import type { Logger } from '../log/index.js';
import { approversOf, authorizeDecider } from './approvers.js';
import type { Decider } from './approvers.js';
import { COUNT_CAP_CODES, costOf, evaluate, findGroupPolicy, sendsWithinCaps } from './evaluate.js';
import type { Decision, LedgerView, SpendCandidate } from './evaluate.js';
import type { Approval, Intent, LedgerPort, StoredRequest } from './ledger-port.js';
import { milestoneOf } from './deliveries.js';
import type { Milestone } from './deliveries.js';
import { HistorySync, NO_SYNC } from './history-sync.js';
import type { SyncReport } from './history-sync.js';
import { fixedPolicy } from './live-policy.js';
import { resolveTouches } from './policy-touches.js';
import type { TouchResolution } from './policy-touches.js';
import { recipientIdentity } from './recipient-identity.js';
import type { PolicySource, PolicyState } from './live-policy.js';
import type { GroupPolicy, Policy } from './policy-schema.js';

/** Points in a spend's life, for observers (metrics, tests that crash a process at each one). */
export type GuardStep = 'reserved' | 'claimed' | 'dispatching' | 'dispatched' | 'recorded';

/**
 * What the guard decided and what became of the sends, for observers (metrics). A decision names
 * the rules (reason codes) behind it; a send's outcome comes once at dispatch (`unknown` when
 * Sendoso did not answer clearly) and again when reconciliation settles an unknown one.
 */
export type GuardEvent =
  | { readonly kind: 'decision'; readonly result: 'allow' | 'deny' | 'needs_approval'; readonly rules: readonly string[]; readonly group: string | undefined }
  | { readonly kind: 'send'; readonly outcome: 'sent' | 'failed' | 'unknown'; readonly group: string; readonly sends: number; readonly cents: number; readonly settledBy: 'dispatch' | 'reconciliation' };

export interface GuardOptions {
  readonly ledger: LedgerPort;
  /** The policy, or where to read the policy in force at each decision (live files). */
  readonly policy: Policy | PolicySource;
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
  /** Told of each decision and send outcome; what it throws is logged and ignored. */
  readonly onEvent?: ((event: GuardEvent) => void) | undefined;
  /**
   * Told when a send's outcome becomes known after the caller got its answer — reconciliation
   * settled an unknown outcome, an approved send went out or failed, a person denied one — so the
   * runs that carry those sends learn it.
   */
  readonly onSettled?: (settlements: readonly Settlement[]) => void | Promise<void>;
  /**
   * Sendoso's send history and who sends for which group: with them the guard counts sends made
   * outside giftguard (observed spend) and books its own at what Sendoso charged.
   */
  readonly history?: SendHistory | undefined;
  readonly senderGroups?: SenderGroups | undefined;
  /**
   * Who sends for which group. With it, each group's sends go out as one of its own people (so
   * Sendoso charges that group), and a group with no sender is refused with how to connect one.
   */
  readonly senders?: SenderDirectory | undefined;
}

/** A send whose outcome became known later. `ref` is the intent or approval id its caller was given. */
export interface Settlement {
  readonly ref: string;
  /** `not_sent`: certainly not sent, free to be tried again; `refused`: a person said no. */
  readonly outcome: 'sent' | 'not_sent' | 'refused';
  readonly detail: string;
}

/** News of a send after it went out, for the run and the person that asked for it. */
export interface Delivery {
  readonly intentId: string;
  readonly runId: string | undefined;
  readonly recipient: string;
  readonly touchName: string;
  readonly trackingCode: string | null;
  readonly status: string;
  readonly at: number;
  readonly milestone: Milestone | undefined;
}

/** An intent reconciliation settled. */
interface SettledIntent {
  readonly intentId: string;
  readonly status: 'SENT' | 'FAILED';
  readonly trackingCode: string | null;
  readonly approvalId: string | null;
  readonly detail: string;
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

/** What one dispatch attempt came to, before it is told to the caller. */
type Attempt =
  | { readonly kind: 'sent'; readonly body: unknown }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'not_sent'; readonly error: GiftingError; readonly requeued: boolean };

const LIVE = new Set(['PENDING', 'DISPATCHING']);

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
  private readonly policies: PolicySource;
  /** Batches this process is dispatching now, with what they will come to. */
  private readonly inFlight = new Map<string, Promise<Attempt>>();
  /** Each policy version with its campaigns resolved (a new version from the files resolves again). */
  private readonly resolutions = new WeakMap<Policy, Promise<TouchResolution>>();
  private reconciling: Promise<ReconcileReport> | undefined;

  private readonly historySync: HistorySync | undefined;

  constructor(private readonly options: GuardOptions) {
    this.log = options.logger.child({ module: 'guard' });
    this.policies = 'current' in options.policy ? options.policy : fixedPolicy(options.policy);
    this.historySync =
      options.history && options.senderGroups
        ? new HistorySync({ ledger: options.ledger, history: options.history, senders: options.senderGroups, clock: options.clock, logger: options.logger })
        : undefined;
  }

  /**
   * Reads Sendoso's send history into the ledger: sends made outside giftguard become observed
   * spend; giftguard's own are booked at what Sendoso charged. `full` reads back to the policy's
   * lookback (otherwise only what is new since the last pass).
   */
  async syncHistory(options: { readonly full?: boolean } = {}): Promise<SyncReport> {
    const state = await this.decisionPolicy();
    if (!this.historySync || !state.policy) return NO_SYNC;
    return this.historySync.sync(state.policy, options);
  }

  /**
   * Before deciding: what Sendoso knows that the ledger does not yet (a send made in Sendoso's web
   * app a moment ago). A person's or an agent's request always looks; a workflow's batch looks at
   * most every 30 s. If Sendoso cannot be read, the decision stands on what was read before.
   */
  private async freshHistory(policy: Policy, via: SpendRequest['caller']['via']): Promise<void> {
    if (!this.historySync) return;
    try {
      await this.historySync.fresh(policy, via === 'workflow' ? 30_000 : 0);
    } catch (error) {
      this.log.warn({ err: error }, 'could not read Sendoso\'s send history before deciding; deciding on what was read before');
    }
  }

  /**
   * The policy in force now as its files say it (campaigns possibly by name), or undefined while
   * there is none valid (every spend is refused). Decisions use {@link decisionPolicy}.
   */
  get policy(): Policy | undefined {
    return this.policies.current().policy;
  }

  /** The policy in force, or why every spend is refused now. */
  policyState(): PolicyState {
    return this.policies.current();
  }

  /**
   * The policy decisions are made by: the one in force with every campaign resolved to a touch
   * id against the account (once per policy version; see policy-touches.ts) — or why every spend
   * is refused: no valid policy, an ambiguous campaign name, or campaigns that could not be read.
   */
  async decisionPolicy(): Promise<PolicyState & { readonly warnings?: readonly string[] }> {
    const state = this.policies.current();
    if (!state.policy) return state;
    const raw = state.policy;
    let pending = this.resolutions.get(raw);
    if (!pending) {
      pending = this.resolveCampaigns(raw);
      this.resolutions.set(raw, pending);
      // A failed lookup is tried again at the next decision, not remembered.
      pending.catch(() => this.resolutions.delete(raw));
    }
    let resolution: TouchResolution;
    try {
      resolution = await pending;
    } catch (error) {
      return {
        refusal: {
          code: 'campaigns_unavailable',
          message: `giftguard could not read the account's campaigns to apply the spend policy (${toGiftingError(error).message}); nothing was sent. Try again shortly.`,
        },
      };
    }
    if (!resolution.policy) {
      return {
        refusal: {
          code: 'policy_invalid',
          message: `The spend policy names a campaign that matches more than one campaign in Sendoso, so giftguard refuses every spend until it is fixed: ${resolution.problems.join('; ')}`,
        },
      };
    }
    return { policy: resolution.policy, warnings: [...resolution.warnings, ...resolution.unmatched] };
  }

  private async resolveCampaigns(policy: Policy): Promise<TouchResolution> {
    const [campaigns, pins] = await Promise.all([this.options.campaigns.all(), this.options.ledger.touchPins()]);
    const resolution = resolveTouches(policy, campaigns, pins);
    if (resolution.newPins.size > 0) await this.options.ledger.pinTouches(resolution.newPins, this.options.clock.now());
    // A pin settling an ambiguous name deserves a warning; a name with no active campaign is
    // routine (one that opens next month), and `policy check` shows it.
    for (const warning of resolution.warnings) this.log.warn({ warning }, 'spend policy campaign reference');
    for (const note of resolution.unmatched) this.log.info({ note }, 'spend policy campaign reference');
    if (resolution.problems.length > 0) this.log.error({ problems: resolution.problems }, 'spend policy names campaigns ambiguously; refusing every spend');
    return resolution;
  }

  /**
   * The sender a group's sends go out as; `undefined` when the guard was built without a sender
   * directory (one connection for everything), `null` when the group has none.
   */
  private async senderFor(group: GroupPolicy | undefined): Promise<Sender | null | undefined> {
    const senders = this.options.senders;
    if (!senders || !group) return undefined;
    return (await senders.senderFor(String(group.group), group.fallback_sender)) ?? null;
  }

  /**
   * Why a spend for `group` is refused before any rule when no sender is connected for it; the
   * send, its explanation and a batch's screening all ask this one question.
   */
  private async missingSender(policy: Policy, group: SpendCandidate['group']): Promise<DecisionReason | undefined> {
    const groupPolicy = findGroupPolicy(policy, group);
    return (await this.senderFor(groupPolicy)) === null ? Guard.noSender(String(groupPolicy!.group)) : undefined;
  }

  private static noSender(group: string): DecisionReason {
    return {
      code: 'no_sender',
      message: `No Sendoso sender is connected for ${group}, so giftguard cannot send for it: Sendoso charges the sending user's group. Connect one of its people with: giftguard connect --group "${group}" (or name a fallback_sender for the group in the policy).`,
    };
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

  /**
   * One key per recipient, by the address as given (lower-cased): the same request again is the
   * same intent; the same person under another form of their address (victim+1@) is another
   * request, which the per-recipient rules then judge by identity.
   */
  private intentKeys(requestKey: string, touchId: number, candidate: SpendCandidate): string[] {
    return candidate.recipients.map((identity, i) => sha256(`${requestKey}|${touchId}|${candidate.given?.[i]?.toLowerCase() ?? identity}`));
  }

  /** The request as the policy sees it: its campaign looked up, each recipient as one person. */
  private async candidateFor(
    policy: Policy,
    request: { readonly kind: SpendRequest['kind']; readonly touchId: number; readonly recipients: readonly { email: string }[]; readonly group?: string | undefined },
  ): Promise<SpendCandidate | undefined> {
    const touch = await this.options.campaigns.find(request.touchId);
    if (!touch) return undefined;
    return {
      kind: request.kind,
      group: request.group,
      touch,
      recipients: request.recipients.map((r) => recipientIdentity(r.email, policy.recipientIdentity)),
      given: request.recipients.map((r) => r.email.trim()),
    };
  }

  async submit(request: SpendRequest, dispatch: Dispatch): Promise<SpendOutcome> {
    const now = this.options.clock.now();
    const caller = `${request.caller.via}:${request.caller.id}`;
    const state = await this.decisionPolicy();
    if (!state.policy) {
      const recipientIdentities = request.recipients.map((r) => recipientIdentity(r.email));
      await this.options.ledger.recordGuardEvent({ at: now, event: 'decision', touchId: request.touchId, outcome: 'deny', reasons: [state.refusal.code], caller, recipientIdentities });
      this.emit({ kind: 'decision', result: 'deny', rules: [state.refusal.code], group: request.group });
      return { status: 'denied', reasons: [state.refusal] };
    }
    const policy = state.policy;
    const candidate = await this.candidateFor(policy, request);
    if (candidate) await this.freshHistory(policy, request.caller.via);
    if (!candidate) {
      // An invented or inactive campaign id: refuse before anything is reserved.
      const reasons = [{ code: 'touch_not_found', message: `Sendoso has no active campaign with touch id ${request.touchId}. Look it up with list_all_sendoso_campaigns.` }];
      const recipientIdentities = request.recipients.map((r) => recipientIdentity(r.email, policy.recipientIdentity));
      await this.options.ledger.recordGuardEvent({ at: now, event: 'decision', touchId: request.touchId, outcome: 'deny', reasons: ['touch_not_found'], caller, recipientIdentities });
      this.emit({ kind: 'decision', result: 'deny', rules: ['touch_not_found'], group: request.group });
      return { status: 'denied', reasons };
    }
    const groupPolicy = findGroupPolicy(policy, candidate.group);
    const groupName = groupPolicy ? String(groupPolicy.group) : String(candidate.group ?? '');
    const sender = await this.senderFor(groupPolicy);
    if (sender === null) {
      await this.options.ledger.recordGuardEvent({ at: now, event: 'decision', group: groupName, touchId: request.touchId, outcome: 'deny', reasons: ['no_sender'], caller, recipientIdentities: candidate.recipients });
      this.emit({ kind: 'decision', result: 'deny', rules: ['no_sender'], group: groupName });
      return { status: 'denied', reasons: [Guard.noSender(groupName)] };
    }
    const cost = costOf(policy, candidate.touch);
    const requestKey = this.requestKey(request);
    const keys = this.intentKeys(requestKey, candidate.touch.id, candidate);
    const stored: StoredRequest = { tool: request.tool, path: request.path, body: request.body, caller: request.caller, ...(request.runId !== undefined && { runId: request.runId }) };
    const payloadHash = Guard.payloadHash(groupName, candidate, cost, request.body);
    const result = await this.options.ledger.reserve({
      candidate,
      policy,
      keys,
      requestKey,
      payloadHash,
      request: stored,
      now,
      dispatchNow: true,
      caller,
      ...(request.oncePerRecipientWithinMs !== undefined && { onePerRecipientSince: now - request.oncePerRecipientWithinMs }),
    });

    if (result.kind !== 'existing') {
      // A dry run's caller is refused whatever the policy would have said: counted as what it got.
      const { outcome, dryRun, reasons } = result.decision;
      const dry = dryRun && outcome !== 'deny';
      this.emit({ kind: 'decision', result: dry ? 'deny' : outcome, rules: dry ? ['dry_run'] : reasons.map((r) => r.code), group: groupName });
    }
    switch (result.kind) {
      case 'existing': {
        if (this.resumable(result.intents, payloadHash)) return this.toOutcome(await this.dispatchBatch(result.intents, dispatch, false, false, sender), result.intents);
        const twin = result.intents.every((i) => keys.includes(i.key));
        const settled = await this.afterInFlight(result.intents, request.twinWaitMs);
        // Another run's send of the same gift to the same person came to nothing: this one is free to go.
        if (!twin && settled.every((i) => !LIVE.has(i.status) && i.status !== 'SENT' && i.status !== 'UNKNOWN')) return this.submit(request, dispatch);
        return this.repeated(settled, twin);
      }
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
        return this.toOutcome(await this.dispatchBatch(result.intents, dispatch, true, false, sender), result.intents);
    }
  }

  /**
   * A caller that crashed after reserving but before dispatching left its intents PENDING. The
   * same request (same key, same payload) may take them over: nothing was sent yet, and the claim
   * still lets only one worker dispatch.
   */
  private resumable(intents: readonly Intent[], payloadHash: string): boolean {
    const batch = intents[0]?.batchId;
    return intents.length > 0 && intents.every((i) => i.status === 'PENDING' && i.batchId === batch && i.payloadHash === payloadHash && i.approvalId === null);
  }

  /**
   * Waits for the send these intents belong to if it is still on its way — in this process, as
   * long as it takes or `waitMs`; in another process, polling the ledger for up to `waitMs` — and
   * returns the intents as they stand then.
   */
  private async afterInFlight(intents: readonly Intent[], waitMs: number | undefined): Promise<Intent[]> {
    const batches = [...new Set(intents.filter((i) => LIVE.has(i.status)).map((i) => i.batchId))];
    if (batches.length === 0) return [...intents];
    const clock = this.options.clock;
    const deadline = waitMs === undefined ? undefined : clock.now() + waitMs;
    const local = batches.map((b) => this.inFlight.get(b)).filter((p): p is Promise<Attempt> => p !== undefined);
    if (local.length > 0) await within(clock, Promise.allSettled(local), deadline);
    else if (deadline !== undefined) {
      while (clock.now() < deadline) {
        const current = await this.reload(intents);
        if (!current.some((i) => i.status === 'DISPATCHING')) return current;
        await sleep(clock, Math.min(250, deadline - clock.now()));
      }
    }
    return this.reload(intents);
  }

  private async reload(intents: readonly Intent[]): Promise<Intent[]> {
    return Promise.all(intents.map(async (i) => (await this.options.ledger.intent(i.id)) ?? i));
  }

  /** The same request again: report what became of the first one, never send a second time. */
  private repeated(intents: readonly Intent[], twin: boolean): SpendOutcome {
    const ids = intents.map((i) => i.id);
    if (intents.every((i) => i.status === 'SENT')) {
      return { status: 'sent', response: intents[0]!.response ?? { message: 'Sent earlier.' }, intentIds: ids, alreadySent: true, ...(!twin && { byOtherRequest: true }) };
    }
    if (twin && intents.every((i) => i.status === 'FAILED' || i.status === 'EXPIRED')) {
      // The identical request made at the same moment was refused: say so, rather than "in progress".
      throw new GiftingError('server_error', `An identical request made at the same moment was not sent (${intents[0]!.detail ?? 'it failed'}); nothing was sent. Try again.`, {
        outcome: 'not_sent',
        retryable: true,
      });
    }
    return {
      status: 'outcome_unknown',
      intentIds: ids,
      message: twin
        ? 'This exact send was already requested and is still in progress or being checked with Sendoso. It was not sent again; ask later for its outcome.'
        : 'This gift is already being sent to this person (by another request or run) and is still being checked with Sendoso. It was not sent again.',
    };
  }

  /**
   * Claim → dispatch → record, for a reserved batch. Intents reserved for immediate dispatch come
   * already claimed (the reserving transaction was the claim); PENDING ones are claimed here.
   * Only an error known to have stopped before the request was written releases the budget; with
   * `requeue` (approved sends) a retryable one puts the batch back to wait for the next attempt.
   */
  private async dispatchBatch(intents: readonly Intent[], dispatch: Dispatch, claimed: boolean, requeue = false, sender?: Sender): Promise<Attempt | 'taken'> {
    const ledger = this.options.ledger;
    const batch = intents[0]!.batchId;
    if (!claimed && !(await ledger.claim(batch, this.options.clock.now()))) return 'taken';
    this.options.onStep?.('claimed', batch);
    const attempt = (async (): Promise<Attempt> => {
      let response: DispatchResult;
      try {
        this.options.onStep?.('dispatching', batch);
        response = await dispatch({ beforeRetry: () => ledger.redispatch(batch, this.options.clock.now()), sender });
      } catch (thrown) {
        const error = toGiftingError(thrown);
        const now = this.options.clock.now();
        if (error.outcome === 'not_sent') {
          if (requeue && error.retryable) {
            await ledger.unclaim(batch, error.message, now);
            return { kind: 'not_sent', error, requeued: true };
          }
          await ledger.markFailed(batch, error.code, error.message, now);
          this.emitSends(intents, 'failed', 'dispatch');
          return { kind: 'not_sent', error, requeued: false };
        }
        await ledger.markUnknown(batch, error.code, error.message, now);
        this.emitSends(intents, 'unknown', 'dispatch');
        this.log.warn({ batch, code: error.code }, 'send outcome unknown; kept for reconciliation');
        return { kind: 'unknown' };
      }
      this.options.onStep?.('dispatched', batch);
      await ledger.markSent(batch, response.body, this.options.clock.now());
      this.emitSends(intents, 'sent', 'dispatch');
      this.options.onStep?.('recorded', batch);
      return { kind: 'sent', body: response.body };
    })();
    this.inFlight.set(batch, attempt);
    try {
      return await attempt;
    } finally {
      this.inFlight.delete(batch);
    }
  }

  /** Tells the observer; an observer's failure never changes what a send comes to. */
  private emit(event: GuardEvent): void {
    if (!this.options.onEvent) return;
    try {
      this.options.onEvent(event);
    } catch (error) {
      this.log.warn({ err: error }, 'a guard observer failed');
    }
  }

  /** One event per group among these intents: how many sends and what they reserved. */
  private emitSends(intents: readonly Intent[], outcome: 'sent' | 'failed' | 'unknown', settledBy: 'dispatch' | 'reconciliation'): void {
    const byGroup = new Map<string, { sends: number; cents: number }>();
    for (const intent of intents) {
      const total = byGroup.get(intent.group) ?? { sends: 0, cents: 0 };
      byGroup.set(intent.group, { sends: total.sends + 1, cents: total.cents + intent.amount });
    }
    for (const [group, { sends, cents }] of byGroup) this.emit({ kind: 'send', outcome, group, sends, cents, settledBy });
  }

  private toOutcome(attempt: Attempt | 'taken', intents: readonly Intent[]): SpendOutcome {
    const ids = intents.map((i) => i.id);
    if (attempt === 'taken') return { status: 'outcome_unknown', intentIds: ids, message: 'Another giftguard worker took this send over; it was not sent twice.' };
    switch (attempt.kind) {
      case 'sent':
        return { status: 'sent', response: attempt.body, intentIds: ids };
      case 'unknown':
        return {
          status: 'outcome_unknown',
          intentIds: ids,
          message: 'Sendoso did not answer clearly, so the gift may or may not have gone out. giftguard keeps the budget reserved and checks Sendoso\'s send list before anything is retried. Do not send it again.',
        };
      case 'not_sent':
        throw attempt.error;
    }
  }

  // ---------------------------------------------------------------- explain and budget

  /** What one send of a campaign reserves under this policy, if known. */
  async campaignCost(touchId: number): Promise<Cents | undefined> {
    const policy = (await this.decisionPolicy()).policy;
    const touch = policy && (await this.options.campaigns.find(touchId));
    return touch && policy ? costOf(policy, touch) : undefined;
  }

  /** The decision for a hypothetical send, with every rule consulted; reserves nothing. */
  async explain(input: { group: string; touchId: number; emails: readonly string[]; kind?: SpendRequest['kind']; via?: SpendRequest['caller']['via'] }): Promise<{ decision: Decision; view: LedgerView } | undefined> {
    const policy = (await this.decisionPolicy()).policy;
    if (!policy) return undefined;
    const candidate = await this.candidateFor(policy, { kind: input.kind ?? 'egift', touchId: input.touchId, recipients: input.emails.map((email) => ({ email })), group: input.group });
    if (!candidate) return undefined;
    await this.freshHistory(policy, input.via ?? 'cli');
    const kind = candidate.touch.deliveryType === 'email' ? 'egift' : 'address_collection';
    const actual = { ...candidate, kind: input.kind ?? kind };
    const view = await this.options.ledger.view(actual, policy, this.options.clock.now());
    const decision = evaluate(actual, policy, view);
    // A spend for a group with no sender is refused before any rule; its explanation says so too.
    const noSender = await this.missingSender(policy, candidate.group);
    return { decision: noSender ? { ...decision, outcome: 'deny', reasons: [noSender, ...decision.reasons] } : decision, view };
  }

  /**
   * Each recipient against the rules that concern them alone — compliance, the group's blocked
   * recipients, value per year, frequency — and the group's own rules, with one ledger view for
   * all of them; the count-bound caps are left to `capacity`. A batch screens its file a page at a
   * time, so the work is linear in its rows. Answers in the addresses asked about.
   */
  async screen(input: { group: string; touchId: number; emails: readonly string[] }): Promise<{ refused: Map<string, string> } | undefined> {
    const policy = (await this.decisionPolicy()).policy;
    if (!policy) return undefined;
    const candidate = await this.candidateFor(policy, { kind: 'egift', touchId: input.touchId, recipients: input.emails.map((email) => ({ email })), group: input.group });
    if (!candidate) return undefined;
    await this.freshHistory(policy, 'workflow');
    const kind = candidate.touch.deliveryType === 'email' ? 'egift' : 'address_collection';
    const refused = new Map<string, string>();
    // No sender for the group: every row would be refused at its send, so a dry run says so now.
    const noSender = await this.missingSender(policy, candidate.group);
    if (noSender) {
      for (const email of input.emails) refused.set(email, noSender.message);
      return { refused };
    }
    const view = await this.options.ledger.view({ ...candidate, kind }, policy, this.options.clock.now());
    candidate.recipients.forEach((recipient, i) => {
      const one: SpendCandidate = { ...candidate, kind, recipients: [recipient], given: [candidate.given![i]!] };
      const decision = evaluate(one, policy, view);
      const reasons = decision.reasons.filter((r) => decision.outcome === 'deny' && !COUNT_CAP_CODES.has(r.code));
      if (reasons.length > 0) refused.set(input.emails[i]!, reasons.map((r) => r.message).join(' '));
    });
    return { refused };
  }

  /** How many more sends of a campaign the group's count-bound caps allow now (`sendsWithinCaps`). */
  async capacity(input: { group: string; touchId: number }): Promise<ReturnType<typeof sendsWithinCaps> | undefined> {
    const policy = (await this.decisionPolicy()).policy;
    if (!policy) return undefined;
    const candidate = await this.candidateFor(policy, { kind: 'egift', touchId: input.touchId, recipients: [], group: input.group });
    if (!candidate) return undefined;
    await this.freshHistory(policy, 'workflow');
    const view = await this.options.ledger.view(candidate, policy, this.options.clock.now());
    return sendsWithinCaps(candidate, policy, view);
  }

  // ---------------------------------------------------------------- approvals

  /**
   * Approves a pending request: checks it has not expired and that the payload is unchanged, then
   * reserves under the hard caps as they stand now. An approval never lifts a cap. Only an
   * approver the group's policy lists may decide, or someone overriding that on the record.
   */
  async approve(id: string, decider: Decider): Promise<ApprovalResult> {
    const ledger = this.options.ledger;
    const now = this.options.clock.now();
    const approval = await this.pendingApproval(id, now);
    const state = await this.decisionPolicy();
    const { by, overridden } = authorizeDecider(approval.group, approversOf(state.policy ?? this.policy, approval.group), decider);
    if (overridden) await this.recordOverride(id, 'approve', by, decider.override!, now);
    if (!state.policy) {
      if (!(await ledger.decideApproval(id, 'denied', by, state.refusal.message, now))) await this.decidedMeanwhile(id);
      return { status: 'denied', reasons: [state.refusal] };
    }
    const policy = state.policy;

    const recipients = approval.recipients.map((email) => ({ email }));
    const candidate = await this.candidateFor(policy, { kind: approval.kind, touchId: approval.touchId, recipients, group: approval.group });
    const cost = candidate ? costOf(policy, candidate.touch) : undefined;
    const hash = candidate ? Guard.payloadHash(approval.group, candidate, cost, approval.request.body) : undefined;
    if (!candidate || hash !== approval.payloadHash) {
      const reason = !candidate
        ? `the campaign (touch ${approval.touchId}) is no longer active`
        : `the request changed since it was submitted (cost now ${cost === undefined ? 'unknown' : formatMoney(cost, candidate.touch.currency)})`;
      if (!(await ledger.decideApproval(id, 'voided', by, reason, now))) await this.decidedMeanwhile(id);
      return { status: 'voided', reason: `Approval ${id} is void: ${reason}. Submit the send again.` };
    }

    const result = await ledger.reserve({
      candidate,
      policy,
      keys: this.intentKeys(approval.key, candidate.touch.id, candidate),
      requestKey: approval.key,
      payloadHash: approval.payloadHash,
      request: approval.request,
      now,
      approvalId: id,
      caller: by,
    });
    // Reserved means approved: the ledger marked it in the same transaction.
    if (result.kind === 'reserved') return { status: 'approved', intentIds: result.intents.map((i) => i.id) };
    const reasons: readonly DecisionReason[] =
      result.kind === 'existing'
        ? [{ code: 'already_requested', message: 'This exact send already exists; it was not reserved again.' }]
        : result.kind === 'decided' && result.decision.dryRun && result.decision.outcome !== 'deny'
          ? [dryRunReason(result.decision)]
          : result.decision.reasons;
    if (!(await ledger.decideApproval(id, 'denied', by, reasons.map((r) => r.message).join(' '), now))) await this.decidedMeanwhile(id);
    return { status: 'denied', reasons };
  }

  /** Someone else decided `id` while this decision was being made: say what stands. */
  private async decidedMeanwhile(id: string): Promise<never> {
    const status = (await this.options.ledger.approval(id))?.status ?? 'unknown';
    throw new GiftingError('bad_request', `Approval ${id} is ${status}, not pending`);
  }

  /** An override is logged and audited apart from the decision, with its reason. */
  private async recordOverride(approvalId: string, decision: 'approve' | 'deny', by: string, reason: string, now: number): Promise<void> {
    this.log.warn({ approvalId, by, decision, reason }, 'approval decided by an identity the policy does not list (override)');
    await this.options.ledger.recordGuardEvent({ at: now, event: 'approval_override', outcome: decision, approvalId, caller: by, reasons: [reason] });
  }

  /** The approval `id`, if it is still pending now (expired ones are expired first); throws otherwise. */
  private async pendingApproval(id: string, now: number): Promise<Approval> {
    await this.options.ledger.expireApprovals(now);
    const approval = await this.options.ledger.approval(id);
    if (!approval) throw new GiftingError('not_found', `No approval ${id}`);
    if (approval.status !== 'pending') throw new GiftingError('bad_request', `Approval ${id} is ${approval.status}, not pending`);
    return approval;
  }

  /** A person refused the request (a listed approver, or an override on the record). */
  async deny(id: string, decider: Decider, reason?: string): Promise<void> {
    const ledger = this.options.ledger;
    const now = this.options.clock.now();
    const approval = await this.pendingApproval(id, now);
    const { by, overridden } = authorizeDecider(approval.group, approversOf(this.policy, approval.group), decider);
    if (overridden) await this.recordOverride(id, 'deny', by, decider.override!, now);
    if (!(await ledger.decideApproval(id, 'denied', by, reason ?? null, now))) await this.decidedMeanwhile(id);
    await this.options.onSettled?.([{ ref: id, outcome: 'refused', detail: `denied by ${by}${reason ? `: ${reason}` : ''}` }]);
  }

  /**
   * Withdraws a request nobody waits for any more (its run was cancelled), so approving it later
   * cannot send a gift for a cancelled run. True when it was still pending.
   */
  async withdraw(id: string, by: string, reason: string): Promise<boolean> {
    return this.options.ledger.decideApproval(id, 'voided', by, reason, this.options.clock.now());
  }

  /**
   * Sends every approved request still waiting; returns how many batches went out. A send that
   * Sendoso did not take for a passing reason (429s past the gateway's patience, Sendoso
   * unreachable) stays approved and is tried again next time; an unknown outcome stays approved
   * until reconciliation settles it.
   */
  async dispatchApproved(): Promise<number> {
    const dispatcher = this.options.dispatcher;
    if (!dispatcher) return 0;
    const pending = await this.options.ledger.approvedPending();
    const batches = new Map<string, Intent[]>();
    for (const intent of pending) batches.set(intent.batchId, [...(batches.get(intent.batchId) ?? []), intent]);
    let sent = 0;
    const policy = (await this.decisionPolicy()).policy;
    for (const intents of batches.values()) {
      const first = intents[0]!;
      const approvalId = first.approvalId!;
      const sender = policy ? await this.senderFor(findGroupPolicy(policy, first.group)) : undefined;
      if (sender === null) {
        // Approved, but nobody can send it for this group yet: it waits, approved, for a connection.
        this.log.warn({ approvalId, group: first.group }, 'approved send waits: no sender is connected for its group');
        continue;
      }
      const attempt = await this.dispatchBatch(intents, (attempts) => dispatcher({ path: first.request.path, body: first.request.body }, attempts), false, true, sender);
      const now = this.options.clock.now();
      if (attempt === 'taken' || attempt.kind === 'unknown') continue;
      if (attempt.kind === 'sent') {
        sent += 1;
        await this.options.ledger.decideApproval(approvalId, 'sent', null, null, now);
        const code = (attempt.body as { tracking_code?: unknown } | null)?.tracking_code;
        await this.options.onSettled?.([{ ref: approvalId, outcome: 'sent', detail: typeof code === 'string' ? code : 'approved and sent' }]);
      } else if (attempt.requeued) {
        this.log.warn({ approvalId, code: attempt.error.code }, 'approved send not taken by Sendoso yet; will try again');
      } else {
        await this.options.ledger.decideApproval(approvalId, 'failed', null, attempt.error.message, now);
        await this.options.onSettled?.([{ ref: approvalId, outcome: 'refused', detail: `the approved send failed: ${attempt.error.message}` }]);
        this.log.warn({ approvalId, code: attempt.error.code }, 'approved send failed');
      }
    }
    return sent;
  }

  // ---------------------------------------------------------------- deliveries

  /**
   * A send changed status at Sendoso (a webhook named its send_gid): reads the send from the
   * history, ties it to giftguard's intent, and returns the updates not seen before — with the
   * milestones they mean. A send made outside giftguard only has its observed status updated.
   */
  async applyDelivery(sendGid: string, options: { readonly maxPages?: number } = {}): Promise<readonly Delivery[]> {
    const history = this.options.history;
    const state = await this.decisionPolicy();
    if (!history || !state.policy) return [];
    const known = await this.options.ledger.intentsBySendGid(sendGid);
    const limit = (options.maxPages ?? 50) * 100;
    const oldest = known.length > 0 ? Math.min(...known.map((i) => i.dispatchedAt ?? i.createdAt)) - (this.options.clockSkewMs ?? 300_000) : Number.NEGATIVE_INFINITY;
    let found: SentRecord | undefined;
    let read = 0;
    for await (const send of history.newestFirst()) {
      if (send.sendGid === sendGid) {
        found = send;
        break;
      }
      if (++read >= limit || send.createdAt < oldest) break;
    }
    if (!found) {
      this.log.warn({ sendGid }, 'a webhook named a send Sendoso does not list (yet)');
      return [];
    }
    const now = this.options.clock.now();
    // Links the send to its intent (by tracking code) and updates an observed one's status.
    await this.historySync?.importOne(found, state.policy);
    const intents = known.length > 0 ? known : await this.options.ledger.intentsBySendGid(sendGid);
    const updates = found.statusUpdates ?? [{ status: found.status, at: now }];
    const deliveries: Delivery[] = [];
    for (const intent of intents) {
      const fresh = await this.options.ledger.recordDeliveries(intent.id, updates, now);
      for (const update of fresh) {
        const index = updates.indexOf(update);
        const before = index > 0 ? updates[index - 1]!.status : undefined;
        deliveries.push({
          intentId: intent.id,
          runId: intent.request.runId,
          recipient: intent.recipientGiven,
          touchName: intent.touchName,
          trackingCode: intent.trackingCode ?? found.trackingCode,
          status: update.status,
          at: update.at,
          milestone: milestoneOf(intent.kind, update.status, before),
        });
      }
    }
    for (const d of deliveries.filter((x) => x.milestone?.problem)) {
      this.log.warn({ intentId: d.intentId, runId: d.runId, status: d.status }, `send ${d.milestone!.words}`);
    }
    return deliveries;
  }

  // ---------------------------------------------------------------- reconciliation

  /**
   * Resolves UNKNOWN intents (and DISPATCHING ones left by a crash) against Sendoso's send list:
   * a send to the same recipient of the same campaign after the dispatch → SENT, captured at its
   * current_total_cost; none after the settle window → FAILED, released, eligible again. Never a
   * blind retry. One pass at a time per process; sends this process is still dispatching are
   * left alone. The history is read through the gateway, which waits out 429s and outages.
   */
  reconcile(history: SendHistory): Promise<ReconcileReport> {
    this.reconciling ??= this.reconcileOnce(history).finally(() => {
      this.reconciling = undefined;
    });
    return this.reconciling;
  }

  private async reconcileOnce(history: SendHistory): Promise<ReconcileReport> {
    const ledger = this.options.ledger;
    const now = this.options.clock.now();
    await ledger.expireHolds(now);
    const open = (await ledger.unresolved(now, this.options.staleDispatchMs ?? 120_000)).filter((i) => !this.inFlight.has(i.batchId));
    const identityRules = this.policy?.recipientIdentity;
    if (open.length === 0) return { checked: 0, sent: 0, failed: 0, stillUnknown: 0 };
    const skew = this.options.clockSkewMs ?? 300_000;
    const since = Math.min(...open.map((i) => i.dispatchedAt ?? i.createdAt)) - skew;

    // Upstream sends in the window that no intent is known to own yet.
    const matched = await ledger.matchedSendIds();
    const sentIntents = await ledger.sentTo(open.map((i) => i.recipient), since);
    const ownCodes = new Set(sentIntents.map((i) => i.trackingCode).filter((c): c is string => c !== null));
    const codesSeen = new Set<string>();
    const upstream = new Map<string, SentRecord[]>();
    let read = 0;
    for await (const send of history.newestFirst()) {
      read += 1;
      if (send.createdAt < since) break;
      if (matched.has(send.id)) continue;
      if (send.trackingCode && ownCodes.has(send.trackingCode)) {
        codesSeen.add(send.trackingCode);
        continue;
      }
      // Intents are keyed by the recipient's identity; Sendoso lists the address as it was sent.
      const key = `${recipientIdentity(send.recipientEmail, identityRules)}|${send.touchId}`;
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
    const openById = new Map(open.map((i) => [i.id, i]));
    const settled: SettledIntent[] = [];
    const settledAt = this.options.clock.now();
    for (const [key, intents] of claimants) {
      const sends = (upstream.get(key) ?? []).sort((a, b) => a.createdAt - b.createdAt || a.id - b.id);
      const ordered = intents.sort((a, b) => (a.dispatchedAt ?? a.createdAt) - (b.dispatchedAt ?? b.createdAt));
      for (let i = 0; i < Math.min(sends.length, ordered.length); i++) {
        const intent = ordered[i]!;
        const send = sends[i]!;
        if (!openById.has(intent.id)) continue;
        // Another process may have settled it (or matched this send) meanwhile: then it is theirs.
        if (await ledger.resolveSent(intent.id, { sendId: send.id, cost: send.cost, trackingCode: send.trackingCode }, settledAt)) {
          this.emitSends([intent], 'sent', 'reconciliation');
          settled.push({ intentId: intent.id, status: 'SENT', trackingCode: send.trackingCode, approvalId: intent.approvalId, detail: 'found in Sendoso by reconciliation' });
        }
        openById.delete(intent.id);
      }
    }
    const settle = this.options.settleMs ?? 600_000;
    let stillUnknown = 0;
    for (const intent of openById.values()) {
      if (settledAt - (intent.dispatchedAt ?? intent.createdAt) >= settle) {
        const detail = 'not found in Sendoso after the settle window';
        if (await ledger.resolveFailed(intent.id, detail, settledAt)) {
          this.emitSends([intent], 'failed', 'reconciliation');
          settled.push({ intentId: intent.id, status: 'FAILED', trackingCode: null, approvalId: intent.approvalId, detail });
        }
      } else {
        stillUnknown += 1;
        if (intent.status === 'DISPATCHING') await ledger.markUnknown(intent.batchId, 'restart', 'left dispatching by a stopped worker; checking Sendoso', settledAt);
      }
    }
    await this.settleApprovals(settled, settledAt);
    const sent = settled.filter((s) => s.status === 'SENT').length;
    const report = { checked: open.length, sent, failed: settled.length - sent, stillUnknown };
    this.log.info({ ...report, sendsRead: read }, 'reconciled');
    if (settled.length > 0) {
      await this.options.onSettled?.(
        settled.flatMap((s): Settlement[] => {
          const one: Settlement = { ref: s.intentId, outcome: s.status === 'SENT' ? 'sent' : 'not_sent', detail: s.status === 'SENT' ? (s.trackingCode ?? s.detail) : s.detail };
          // The approval's answer changes too: an approved send that never arrived is failed, not retried blindly.
          return s.approvalId ? [one, { ...one, ref: s.approvalId, outcome: s.status === 'SENT' ? 'sent' : 'refused' }] : [one];
        }),
      );
    }
    return report;
  }

  /** An approved send whose outcome was unknown is now known: so is its approval's. */
  private async settleApprovals(settled: readonly SettledIntent[], now: number): Promise<void> {
    const byApproval = new Map<string, SettledIntent[]>();
    for (const s of settled) if (s.approvalId) byApproval.set(s.approvalId, [...(byApproval.get(s.approvalId) ?? []), s]);
    for (const [approvalId, intents] of byApproval) {
      const sent = intents.every((i) => i.status === 'SENT');
      await this.options.ledger.decideApproval(approvalId, sent ? 'sent' : 'failed', null, sent ? null : 'Sendoso never received the approved send; submit it again.', now);
    }
  }
}

/** Resolves when `promise` settles, or at `deadline` on `clock` (never, if none), whichever is first. */
async function within(clock: Clock, promise: Promise<unknown>, deadline: number | undefined): Promise<void> {
  if (deadline === undefined) {
    await promise;
    return;
  }
  let cancel = () => {};
  await Promise.race([promise, new Promise<void>((resolve) => (cancel = clock.setTimer(deadline - clock.now(), resolve)))]);
  cancel();
}

function dryRunReason(decision: Decision): DecisionReason {
  const would = decision.outcome === 'needs_approval' ? 'would need approval' : 'would be allowed';
  const cost = decision.total === undefined ? '' : ` and reserve ${formatMoney(decision.total)}`;
  return { code: 'dry_run', message: `Dry run: this send ${would}${cost}; nothing was reserved or sent.` };
}
