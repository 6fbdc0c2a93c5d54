/**
 * @module Approvals in one place: what every trigger asks about sends waiting for a person — what
 * is waiting, one request in full, the history — and the two decisions. Slack, the CLI, the agent
 * and the workflows' guard view (and the web console next) all go through it, so what "pending"
 * means (past-expiry requests expired first), who may decide (the group's approvers in the
 * policy) and what approving does (payload hash and caps re-checked by the guard, audited, then
 * sent) is said once. Plain data in and out: ids, identities and filters in; stored records,
 * details and results out. Reserving stays the guard's (guard.ts), storage the ledger's.
 */
import { GiftingError, cents } from '../domain/index.js';
import type { Cents, Clock, SpendCaller } from '../domain/index.js';
import { approversOf } from './approvers.js';
import type { Decider } from './approvers.js';
import type { ApprovalResult, Guard } from './guard.js';
import { APPROVAL_STATUSES } from './ledger-port.js';
import type { Approval, ApprovalQuery, BudgetLine, LedgerPort } from './ledger-port.js';

/** What a group's caps leave it now, in the window with the least left. */
export interface Headroom {
  readonly cents: Cents;
  /** The window that limits the group now. */
  readonly window: 'day' | 'week' | 'month';
}

/**
 * The tightest of a group's budget lines (never below zero), or null when no window is capped.
 * Shared by the approval detail and the workflows' budget check, so both name the same window.
 */
export function tightestHeadroom(lines: readonly BudgetLine[]): Headroom | null {
  const capped = lines.filter((l) => l.available !== undefined);
  if (capped.length === 0) return null;
  const tightest = capped.reduce((a, b) => (b.available! < a.available! ? b : a));
  return { cents: cents(Math.max(0, tightest.available!)), window: tightest.window as Headroom['window'] };
}

/**
 * One approval request with what a person deciding it wants beside the stored record: who asked,
 * who may decide, what the group has left, and the tracking code once it went out. `reasons`
 * (from the record) are the rules that asked for a person.
 */
export interface ApprovalDetail extends Approval {
  /** Who asked for the send (an MCP client, a workflow run, the CLI). */
  readonly askedBy: SpendCaller;
  /** The workflow run waiting on the answer, if a run asked. */
  readonly runId: string | null;
  /** Identities the policy in force lets decide it; null where no policy is known (read-only). */
  readonly approvers: readonly string[] | null;
  /** What the group's caps leave now; null when uncapped, or no policy is known here. */
  readonly headroom: Headroom | null;
  /** The send's tracking code, once the approved send went out. */
  readonly trackingCode: string | null;
}

/** What approving came to. `sent`: this approval's send went out now (else it waits for the service's next pass). */
export type ApproveOutcome = (Extract<ApprovalResult, { status: 'approved' }> & { readonly sent: boolean }) | Exclude<ApprovalResult, { status: 'approved' }>;

/** The approval feature's one API. Reads never decide; decisions need the guard. */
export interface Approvals {
  /** Whether this instance can decide (it was given the guard); a console shows buttons only then. */
  readonly canDecide: boolean;
  /** Requests waiting for a person, newest first; those past their expiry are expired first. */
  pending(): Promise<Approval[]>;
  /** How many requests wait for a person now: a cheap read for a count beside a menu entry. */
  pendingCount(): Promise<number>;
  /** Requests in any state, newest first, narrowed by status, group and count; expiry applied first. */
  history(query?: ApprovalQuery): Promise<Approval[]>;
  /** One request with its detail, as stored (a read: expiry is applied by the lists and decisions). */
  get(id: string): Promise<ApprovalDetail | undefined>;
  /**
   * Approves as `decider` through the guard — listed approver or a recorded override, payload
   * unchanged, caps re-checked now — then sends what is approved where Sendoso is reachable.
   * Throws (GiftingError) when the request is unknown, no longer pending, or the decider may not
   * decide; a refusal by the caps or a changed payload is a result, not a throw.
   */
  approve(id: string, decider: Decider): Promise<ApproveOutcome>;
  /** Refuses the send as `decider` (same identity rules), with an optional recorded reason. */
  deny(id: string, decider: Decider, reason?: string): Promise<void>;
  /** Withdraws a pending request whose run was cancelled (void, with the reason); true when it was pending. */
  withdraw(id: string, by: string, reason: string): Promise<boolean>;
}

/** What a trigger that only reports approvals gets (the agent): it cannot decide them. */
export type ApprovalReader = Pick<Approvals, 'pending' | 'history' | 'get'>;

export interface ApprovalsOptions {
  readonly ledger: LedgerPort;
  readonly clock: Pick<Clock, 'now'>;
  /** Decides, and says whose approval each group needs; without it the approvals are read-only. */
  readonly guard?: Guard | undefined;
}

/** Checks a query from outside (a console's filters) before it reaches SQL. */
function checkedQuery(query: ApprovalQuery): ApprovalQuery {
  if (query.status !== undefined && !(APPROVAL_STATUSES as readonly string[]).includes(query.status)) {
    throw new GiftingError('bad_request', `Unknown approval status "${query.status}"; one of ${APPROVAL_STATUSES.join(', ')}`);
  }
  if (query.limit !== undefined && !(Number.isInteger(query.limit) && query.limit >= 0)) {
    throw new GiftingError('bad_request', `An approval list's limit is a whole number, 0 or more (got ${query.limit})`);
  }
  return query;
}

/** The approvals over a ledger, deciding through `guard` when given one. Holds no state of its own. */
export function createApprovals(options: ApprovalsOptions): Approvals {
  const { ledger, clock, guard } = options;

  const decidingGuard = (): Guard => {
    if (!guard) throw new GiftingError('config', 'Deciding an approval needs the guard, which this giftguard process was not given; decide it with giftguard approvals approve|deny or on the giftguard service.');
    return guard;
  };

  const history = async (query: ApprovalQuery = {}): Promise<Approval[]> => {
    const checked = checkedQuery(query);
    await ledger.expireApprovals(clock.now());
    return ledger.approvals(checked);
  };

  return {
    canDecide: guard !== undefined,
    pending: () => history({ status: 'pending' }),
    pendingCount: () => ledger.countPendingApprovals(clock.now()),
    history,
    async get(id) {
      const approval = await ledger.approval(id);
      if (!approval) return undefined;
      const policy = guard?.policy;
      const [intents, budget] = await Promise.all([
        approval.status === 'sent' ? ledger.intentsOfApproval(id) : [],
        policy ? ledger.budget(approval.group, policy, clock.now()) : [],
      ]);
      return {
        ...approval,
        askedBy: approval.request.caller,
        runId: approval.request.runId ?? null,
        approvers: guard ? approversOf(policy, approval.group) : null,
        headroom: tightestHeadroom(budget),
        trackingCode: intents[0]?.trackingCode ?? null,
      };
    },
    async approve(id, decider) {
      const gate = decidingGuard();
      const result = await gate.approve(id, decider);
      if (result.status !== 'approved') return result;
      // Sent at once where this process reaches Sendoso; otherwise the service's loop sends it.
      await gate.dispatchApproved();
      return { ...result, sent: (await ledger.approval(id))?.status === 'sent' };
    },
    async deny(id, decider, reason) {
      await decidingGuard().deny(id, decider, reason);
    },
    withdraw: (id, by, reason) => decidingGuard().withdraw(id, by, reason),
  };
}
