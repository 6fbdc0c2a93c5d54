/**
 * @module What workflows ask the guard without sending anything: headroom, whether a batch fits,
 * who was gifted recently, how an approval ended, and reconciliation before a resumed batch.
 * Absent when the orchestrator works against a remote MCP server (then those checks are skipped
 * and the remote guard still decides every send).
 */
import { formatMoney } from '../domain/index.js';
import type { Cents, Clock, SendHistory } from '../domain/index.js';
import { createApprovals, findGroupPolicy, recipientIdentity, tightestHeadroom } from '../guard/index.js';
import type { ApprovalDetail, Approvals, Guard, Headroom, LedgerPort } from '../guard/index.js';

/** A page of a batch's recipients against the rules that concern each alone. */
export interface ScreenResult {
  /** Refused recipients (as asked) and why. */
  readonly refused: ReadonlyMap<string, string>;
}

/** What the count-bound caps leave for a campaign now. */
export interface Capacity {
  /** Sends that still fit; null when no cap limits the count. */
  readonly sends: number | null;
  readonly costPerSendCents: number;
  /** The cap that binds, in words. */
  readonly binding?: string | undefined;
}

export type { Headroom };

/** How an approval a run waits on stands: what the run needs of the approvals module's detail. */
export interface ApprovalState {
  readonly status: ApprovalDetail['status'];
  readonly reason: string | null;
  readonly trackingCode: string | null;
}

export interface GuardView {
  /** What the policy still allows the group in its tightest window now, and which window; null if uncapped or unknown. */
  headroom(group: string): Promise<Headroom | null>;
  costOf(touchId: number): Promise<Cents | null>;
  /** Which of these recipients the rules about recipients (and the group's own) refuse now. */
  screen(group: string, touchId: number, emails: readonly string[]): Promise<ScreenResult>;
  /** How many more sends of the campaign the group's count-bound caps allow now. */
  capacity(group: string, touchId: number): Promise<Capacity>;
  /** Recipients giftguard gifted within the group's frequency window (policy `max_sends.per_days`). */
  recentlyGifted(group: string, touchId: number, emails: readonly string[]): Promise<Set<string>>;
  /** The group's frequency window in days, when the policy sets one. */
  frequencyWindowDays(group: string): number | null;
  /** The decision a send would get, in one sentence, for dry runs. */
  explain(group: string, touchId: number, email: string): Promise<string>;
  approval(id: string): Promise<ApprovalState | undefined>;
  /** Withdraws a pending approval request whose run was cancelled; true when it was pending. */
  withdrawApproval(id: string, by: string, reason: string): Promise<boolean>;
  reconcile(): Promise<void>;
}

/** The guard view over this process's guard and ledger. */
export function localGuardView(
  guard: Guard,
  ledger: LedgerPort,
  history: SendHistory,
  clock: Clock,
  /** The process's approvals (src/app builds one); a view of its own by default. */
  approvals: Approvals = createApprovals({ ledger, clock, guard }),
): GuardView {
  const view: GuardView = {
    async headroom(group) {
      const policy = guard.policy;
      if (!policy) return null;
      return tightestHeadroom(await ledger.budget(group, policy, clock.now()));
    },
    async costOf(touchId) {
      return (await guard.campaignCost(touchId)) ?? null;
    },
    async screen(group, touchId, emails) {
      const state = await guard.decisionPolicy();
      if (!state.policy) return { refused: new Map(emails.map((e) => [e, state.refusal.message])) };
      const screened = await guard.screen({ group, touchId, emails });
      return screened ?? { refused: new Map(emails.map((e) => [e, `Sendoso has no active campaign with touch id ${touchId}.`])) };
    },
    async capacity(group, touchId) {
      const found = await guard.capacity({ group, touchId });
      return { sends: found?.sends ?? (found ? null : 0), costPerSendCents: found?.costPerSend ?? 0, binding: found?.binding };
    },
    async recentlyGifted(group, touchId, emails) {
      const policy = guard.policy && findGroupPolicy(guard.policy, group);
      if (!policy?.per_recipient.max_sends || emails.length === 0) return new Set();
      const explained = await guard.explain({ group, touchId, emails, via: 'workflow' });
      if (!explained) return new Set();
      // The view counts by each person's identity (victim+1@ is victim@); answer in the emails asked about.
      const rules = guard.policy?.recipientIdentity;
      return new Set(emails.filter((email) => (explained.view.recipients[recipientIdentity(email, rules)]?.recentSends ?? 0) > 0));
    },
    frequencyWindowDays(group) {
      const policy = guard.policy;
      return (policy && findGroupPolicy(policy, group)?.per_recipient.max_sends?.per_days) ?? null;
    },
    async explain(group, touchId, email) {
      const state = await guard.decisionPolicy();
      if (!state.policy) return `The send would be refused: ${state.refusal.message}`;
      const explained = await guard.explain({ group, touchId, emails: [email] });
      if (!explained) return `No active campaign with touch id ${touchId}.`;
      const { decision } = explained;
      const cost = decision.total === undefined ? '' : ` and reserve ${formatMoney(decision.total)}`;
      if (decision.outcome === 'allow') return `The send would be allowed${cost}; nothing was sent.`;
      if (decision.outcome === 'needs_approval') return `The send would need a person's approval${cost}: ${decision.reasons.map((r) => r.message).join(' ')} Nothing was sent.`;
      return `The send would be refused: ${decision.reasons.map((r) => r.message).join(' ')}`;
    },
    async approval(id) {
      const approval = await approvals.get(id);
      return approval && { status: approval.status, reason: approval.decisionReason, trackingCode: approval.trackingCode };
    },
    withdrawApproval: (id, by, reason) => approvals.withdraw(id, by, reason),
    async reconcile() {
      await guard.reconcile(history);
    },
  };
  return view;
}
