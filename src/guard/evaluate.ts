/**
 * @module The policy decision: a pure function of (request, policy, ledger view, now). Every rule
 * is consulted and reported; any deny wins, then any approval requirement, else allow — the most
 * restrictive answer. Adding spend to the ledger view can only move an answer towards deny.
 */
import { cents, formatMoney } from '../domain/index.js';
import type { CampaignInfo, Cents, DecisionReason, SpendKind } from '../domain/index.js';
import { groupKey } from './policy-loader.js';
import type { GroupPolicy, Policy, TouchRef } from './policy-schema.js';

/** One spend request, resolved enough to decide on. */
export interface SpendCandidate {
  readonly kind: SpendKind;
  /** The group as the caller named it (name or id). */
  readonly group: string | number | undefined;
  readonly touch: CampaignInfo;
  /**
   * Each recipient's identity (see recipient-identity.ts) — what per-recipient rules count by; an
   * eGift-links request has several, each a send.
   */
  readonly recipients: readonly string[];
  /** The addresses as given, in the same order, for messages and the audit trail. */
  readonly given?: readonly string[];
}

/** How a recipient is named in a reason: as given, and the person it counts as when they differ. */
function recipientLabel(candidate: SpendCandidate, index: number): string {
  const identity = candidate.recipients[index]!;
  const given = candidate.given?.[index]?.trim();
  return given && given.toLowerCase() !== identity ? `${given} (counted as ${identity})` : identity;
}

/** Captured, held and observed (sent outside giftguard) amounts in one window or scope. */
export interface Usage {
  readonly captured: Cents;
  readonly held: Cents;
  readonly observed?: Cents;
}

/** A send to a recipient made outside giftguard, as the frequency rule reports it. */
export interface ObservedRecipientSend {
  readonly touchName: string;
  readonly cost: Cents;
  readonly daysAgo: number;
  readonly status: string;
}

/** The ledger figures a decision needs, read in the same transaction that will reserve. */
export interface LedgerView {
  readonly day: Usage;
  readonly week: Usage;
  readonly month: Usage;
  readonly campaign: Usage;
  readonly globalDay: Usage;
  readonly recipients: Readonly<
    Record<
      string,
      {
        readonly year: Usage;
        /** giftguard's own sends within the group's frequency window. */
        readonly recentSends: number;
        /** Sends made outside giftguard within that window (counted unless the policy says not to). */
        readonly observed?: readonly ObservedRecipientSend[];
      }
    >
  >;
}

/** One rule as it was consulted, for `policy explain`. */
export interface RuleCheck {
  readonly rule: string;
  readonly passed: boolean;
  readonly detail: string;
  /** Room left under a cap after this send would be reserved (negative when over). */
  readonly headroomAfter?: Cents;
}

export type DecisionOutcome = 'allow' | 'deny' | 'needs_approval';

export interface Decision {
  readonly outcome: DecisionOutcome;
  readonly reasons: readonly DecisionReason[];
  readonly consulted: readonly RuleCheck[];
  /** The group policy that applied, when one did. */
  readonly group: GroupPolicy | undefined;
  /** Canonical group name used in the ledger. */
  readonly groupName: string | undefined;
  readonly costPerSend: Cents | undefined;
  readonly total: Cents | undefined;
  /** Evaluate and report only; never reserve or send. */
  readonly dryRun: boolean;
}

export interface EvaluateOptions {
  /** A person approved this exact payload: the approval threshold is satisfied, hard caps are not lifted. */
  readonly approved?: boolean;
}

/** Spend in a scope: giftguard's captured and held, plus what was sent outside giftguard when counted. */
const usedWith = (countObserved: boolean) => (u: Usage): number => u.captured + u.held + (countObserved ? (u.observed ?? 0) : 0);

/**
 * Whether a policy's campaign reference is this campaign. A policy the guard uses has every
 * reference resolved to a touch id (policy-touches.ts); names are compared only in a policy not
 * yet resolved (tests of the pure decision).
 */
function matchesTouch(ref: TouchRef, touch: CampaignInfo): boolean {
  return typeof ref === 'number' ? ref === touch.id : ref.trim().toLowerCase() === touch.name.trim().toLowerCase();
}

/** A reference as people read it: the campaign's name (and id, where the name alone is ambiguous). */
function touchName(policy: Policy, ref: TouchRef, clash?: string): string {
  if (typeof ref !== 'number') return ref;
  const name = policy.touchLabels?.[ref] ?? `touch ${ref}`;
  return clash !== undefined && name.trim().toLowerCase() === clash.trim().toLowerCase() ? `${name} (touch ${ref})` : name;
}

/** The group policy a request names, by name (case-insensitive) or id. */
export function findGroupPolicy(policy: Policy, group: string | number | undefined): GroupPolicy | undefined {
  const wanted = group ?? policy.defaultGroup;
  if (wanted === undefined) return undefined;
  const asNumber = typeof wanted === 'string' && /^\d+$/.test(wanted.trim()) ? Number(wanted) : undefined;
  return policy.groups.find((g) => groupKey(g.group) === groupKey(wanted) || (asNumber !== undefined && g.group === asNumber));
}

/** What one send of this campaign reserves: the top of an eGift range, or the declared physical cost. */
export function costOf(policy: Policy, touch: CampaignInfo): Cents | undefined {
  const declared = policy.costs.find((c) => matchesTouch(c.touch, touch));
  if (declared) return declared.cost;
  if (touch.deliveryType === 'email') return touch.egiftMax ?? touch.egiftMin ?? undefined;
  return undefined;
}

function domainBlocked(email: string, domains: readonly string[]): string | undefined {
  const host = email.slice(email.lastIndexOf('@') + 1);
  return domains.find((d) => (d.startsWith('.') ? host.endsWith(d) || `.${host}` === d : host === d || host.endsWith(`.${d}`)));
}

/** Decides on a spend. Pure: the same inputs always give the same decision. */
export function evaluate(candidate: SpendCandidate, policy: Policy, view: LedgerView, options: EvaluateOptions = {}): Decision {
  const countObserved = policy.outsideSends?.count ?? true;
  const used = usedWith(countObserved);
  const consulted: RuleCheck[] = [];
  const denials: DecisionReason[] = [];
  const approvals: DecisionReason[] = [];
  const money = (c: number) => formatMoney(cents(c), candidate.touch.currency);
  const check = (rule: string, passed: boolean, detail: string, headroomAfter?: number) => {
    consulted.push({ rule, passed, detail, ...(headroomAfter !== undefined && { headroomAfter: cents(headroomAfter) }) });
    return passed;
  };
  const deny = (code: string, message: string) => denials.push({ code, message });
  const touchLabel = `${candidate.touch.name} (touch ${candidate.touch.id})`;

  if (!check('global kill switch', !policy.killSwitch, policy.killSwitch ? 'on' : 'off')) {
    deny('kill_switch_global', "giftguard's global kill switch is on, so no send may go out.");
  }

  const group = findGroupPolicy(policy, candidate.group);
  const groupName = group ? String(group.group) : undefined;
  if (!check('group has a policy', group !== undefined, group ? `"${groupName}"` : `no policy names ${JSON.stringify(candidate.group ?? null)}`)) {
    deny(
      'group_not_in_policy',
      candidate.group === undefined
        ? 'No group was named for this send and the policy has no default_group, so it cannot be paid for.'
        : `No spend policy covers the group "${candidate.group}", so it cannot spend. Add it under groups: in a policies/*.yaml file.`,
    );
  }

  const costPerSend = costOf(policy, candidate.touch);
  const count = candidate.recipients.length;
  const total = costPerSend === undefined ? undefined : cents(costPerSend * count);
  if (!check('known cost', costPerSend !== undefined, costPerSend === undefined ? 'none declared' : `${money(costPerSend)} per send`)) {
    // A cost declared for another campaign of the same name is not this campaign's cost.
    const namesake = policy.costs.find((c) => typeof c.touch === 'number' && c.touch !== candidate.touch.id && touchName(policy, c.touch) === candidate.touch.name);
    deny(
      'unknown_cost',
      `giftguard does not know what "${candidate.touch.name}" (touch ${candidate.touch.id}) costs, so it refuses to send it.${
        namesake ? ` The cost declared for "${candidate.touch.name}" is for touch ${namesake.touch}, a different campaign.` : ''
      } Declare it under costs: in policies/default.yaml, e.g. "- touch: ${candidate.touch.id}" with "cost: 45.00".`,
    );
  }

  // Compliance rules apply to every group.
  candidate.recipients.forEach((email, index) => {
    const domain = domainBlocked(email, policy.compliance.blockedDomains);
    const who = recipientLabel(candidate, index);
    if (!check(`compliance: ${who}`, !domain && !policy.compliance.blockedAddresses.includes(email), domain ? `domain ${domain} is blocked` : 'allowed')) {
      deny('recipient_blocked_compliance', domain ? `Gifts to ${domain} addresses are blocked by the compliance rules (${who}).` : `${who} is blocked by the compliance rules.`);
    }
  });

  if (group) {
    if (!check('group kill switch', !group.kill_switch, group.kill_switch ? 'on' : 'off')) {
      deny('kill_switch_group', `The kill switch for ${groupName} is on, so it cannot send.`);
    }
    const allowed = group.touches.allow === undefined || group.touches.allow.some((r) => matchesTouch(r, candidate.touch));
    if (!check('campaign allowed', allowed, allowed ? 'yes' : 'not on the allow list')) {
      const names = group.touches.allow!.map((r) => touchName(policy, r, candidate.touch.name));
      deny('touch_not_allowed', names.length === 0 ? `${groupName} may send no campaign that Sendoso has; ${touchLabel} is not allowed.` : `${groupName} may only send ${names.join(', ')}; ${touchLabel} is not among them.`);
    }
    const blocked = group.touches.block.some((r) => matchesTouch(r, candidate.touch));
    if (!check('campaign not blocked', !blocked, blocked ? 'blocked' : 'not blocked')) {
      deny('touch_blocked', `${touchLabel} is blocked for ${groupName}.`);
    }
    candidate.recipients.forEach((email, index) => {
      const domain = domainBlocked(email, group.recipients.blocked_domains);
      const address = group.recipients.blocked_addresses.includes(email);
      const who = recipientLabel(candidate, index);
      if (!check(`recipient allowed: ${who}`, !domain && !address, domain ? `domain ${domain} blocked` : address ? 'address blocked' : 'allowed')) {
        deny('recipient_blocked', `${groupName} may not send to ${who}.`);
      }
    });

    if (costPerSend !== undefined && total !== undefined) {
      const perSend = group.caps.per_send;
      if (perSend !== undefined && !check('cap per send', costPerSend <= perSend, `${money(costPerSend)} of ${money(perSend)}`, perSend - costPerSend)) {
        deny('cap_per_send', `A single send from ${groupName} may cost at most ${money(perSend)}; ${candidate.touch.name} costs ${money(costPerSend)}.`);
      }
      const windows = [
        ['day', 'today', group.caps.per_day, view.day],
        ['week', 'this week', group.caps.per_week, view.week],
        ['month', 'this month', group.caps.per_month, view.month],
      ] as const;
      for (const [unit, phrase, cap, usage] of windows) {
        if (cap === undefined) continue;
        const left = cap - used(usage);
        if (!check(`cap per ${unit}`, total <= left, `${money(used(usage))} of ${money(cap)} used ${phrase}`, left - total)) {
          deny(`cap_per_${unit}`, `${groupName} has ${money(Math.max(0, left))} left ${phrase}; this send reserves ${money(total)}.`);
        }
      }
      const campaignCap = group.caps.per_campaign_total.find((c) => matchesTouch(c.touch, candidate.touch));
      if (campaignCap) {
        const left = campaignCap.cap - used(view.campaign);
        if (!check('campaign total', total <= left, `${money(used(view.campaign))} of ${money(campaignCap.cap)} spent on ${candidate.touch.name}`, left - total)) {
          deny('cap_campaign_total', `${groupName} has ${money(Math.max(0, left))} left for ${candidate.touch.name}; this send reserves ${money(total)}.`);
        }
      }
      if (policy.globalPerDay !== undefined) {
        const left = policy.globalPerDay - used(view.globalDay);
        if (!check('global cap per day', total <= left, `${money(used(view.globalDay))} of ${money(policy.globalPerDay)} used today`, left - total)) {
          deny('cap_global_day', `giftguard has ${money(Math.max(0, left))} left today across all groups; this send reserves ${money(total)}.`);
        }
      }
      candidate.recipients.forEach((email, index) => {
        const seen = view.recipients[email] ?? { year: { captured: cents(0), held: cents(0) }, recentSends: 0 };
        const who = recipientLabel(candidate, index);
        const yearCap = group.per_recipient.max_value_per_year;
        if (yearCap !== undefined) {
          const left = yearCap - used(seen.year);
          if (!check(`recipient value this year: ${who}`, costPerSend <= left, `${money(used(seen.year))} of ${money(yearCap)}`, left - costPerSend)) {
            deny('recipient_year_value', `${who} has already received ${money(used(seen.year))} in gifts this year; the limit is ${money(yearCap)}.`);
          }
        }
        const frequency = group.per_recipient.max_sends;
        if (frequency) {
          const outside = countObserved ? (seen.observed ?? []) : [];
          const total = seen.recentSends + outside.length;
          const ok = total + 1 <= frequency.count;
          const outsideWords = outside.map((o) => `1 send in Sendoso ${o.daysAgo === 0 ? 'today' : `${o.daysAgo} day${o.daysAgo === 1 ? '' : 's'} ago`} (${o.touchName}), not made through giftguard`);
          const detail = [`${seen.recentSends} send(s) through giftguard`, ...outsideWords].join('; ');
          if (!check(`recipient frequency: ${who}`, ok, `${detail} in the last ${frequency.per_days} days, at most ${frequency.count}`)) {
            deny(
              'recipient_frequency',
              `${who} already got ${total} gift(s) in the last ${frequency.per_days} days${outside.length > 0 ? ` (${outsideWords.join('; ')})` : ''}; ${groupName} allows ${frequency.count}.`,
            );
          }
        }
      });
      const above = group.approval.above;
      if (above !== undefined) {
        const needs = costPerSend > above;
        check('approval threshold', !needs || options.approved === true, needs ? (options.approved ? 'approved by a person' : `${money(costPerSend)} is above ${money(above)}`) : 'below');
        if (needs && !options.approved) {
          approvals.push({
            code: 'approval_threshold',
            message: `Sends above ${money(above)} from ${groupName} need a person's approval; this one costs ${money(costPerSend)}.`,
          });
        }
      }
    }
  }

  const outcome: DecisionOutcome = denials.length > 0 ? 'deny' : approvals.length > 0 ? 'needs_approval' : 'allow';
  return {
    outcome,
    reasons: outcome === 'deny' ? denials : outcome === 'needs_approval' ? approvals : [],
    consulted,
    group,
    groupName,
    costPerSend,
    total,
    dryRun: policy.dryRun || group?.dry_run === true,
  };
}

/** Denials that depend on how many sends a request makes, not on who receives them. */
export const COUNT_CAP_CODES: ReadonlySet<string> = new Set(['cap_per_day', 'cap_per_week', 'cap_per_month', 'cap_campaign_total', 'cap_global_day']);

/**
 * How many more sends of the candidate's campaign the count-bound caps (day, week, month, campaign
 * total, global day) allow now, with the cap that binds; `sends` is null when none applies. Pure,
 * and independent of the number of recipients: a batch asks it once instead of deciding every
 * prefix of its file.
 */
export function sendsWithinCaps(candidate: SpendCandidate, policy: Policy, view: LedgerView): { sends: number | null; costPerSend: Cents | undefined; binding?: string } {
  const used = usedWith(policy.outsideSends?.count ?? true);
  const group = findGroupPolicy(policy, candidate.group);
  const costPerSend = costOf(policy, candidate.touch);
  if (!group || costPerSend === undefined || costPerSend <= 0) return { sends: null, costPerSend };
  const name = String(group.group);
  const money = (c: number) => formatMoney(cents(Math.max(0, c)), candidate.touch.currency);
  const limits: { left: number; words: string }[] = [];
  const windows = [
    ['today', group.caps.per_day, view.day],
    ['this week', group.caps.per_week, view.week],
    ['this month', group.caps.per_month, view.month],
  ] as const;
  for (const [phrase, cap, usage] of windows) if (cap !== undefined) limits.push({ left: cap - used(usage), words: `${name} has ${money(cap - used(usage))} left ${phrase}` });
  const campaignCap = group.caps.per_campaign_total.find((c) => matchesTouch(c.touch, candidate.touch));
  if (campaignCap) limits.push({ left: campaignCap.cap - used(view.campaign), words: `${name} has ${money(campaignCap.cap - used(view.campaign))} left for ${candidate.touch.name}` });
  if (policy.globalPerDay !== undefined) limits.push({ left: policy.globalPerDay - used(view.globalDay), words: `giftguard has ${money(policy.globalPerDay - used(view.globalDay))} left today across all groups` });
  if (limits.length === 0) return { sends: null, costPerSend };
  const tightest = limits.reduce((a, b) => (b.left < a.left ? b : a));
  const sends = Math.max(0, Math.floor(tightest.left / costPerSend));
  return { sends, costPerSend, binding: `${tightest.words}, room for ${sends} send(s) of ${money(costPerSend)}.` };
}
