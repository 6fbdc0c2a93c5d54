/**
 * @module giftguard's own read tools, the second section of the catalogue: whether an approval or
 * a spend request went out (with its tracking code), and how much a group may still spend under
 * the policy and why. They answer from giftguard's records (the approvals, the ledger, the policy
 * in force) and never call Sendoso, so agents stop asking people to run CLI commands. An outside
 * MCP client sees only the group it charges: ids are not secrets, and approvals name recipients.
 */
import { z } from 'zod';
import { GiftingError, formatMoney } from '../../domain/index.js';
import type { Cents } from '../../domain/index.js';
import { findGroupPolicy, tightestHeadroom } from '../../guard/index.js';
import type { ApprovalDetail, BudgetLine, Intent, Policy } from '../../guard/index.js';
import type { GiftguardCall, GiftguardCatalogue } from './types.js';

const money = z.string().describe('An amount with its currency, e.g. "50.00 USD".');
const time = z.string().describe('An ISO 8601 time (UTC).');

const APPROVAL_STATES = ['pending', 'approved', 'sent', 'denied', 'expired', 'voided', 'failed'] as const;

const approvalAnswer = z.object({
  approval_id: z.string(),
  status: z
    .enum(APPROVAL_STATES)
    .describe(
      '"pending": waiting for a person. "approved": approved, being sent. "sent": approved and sent (see tracking_code). "denied": a person (or the caps, re-checked on approval) refused it. "expired": nobody decided in time. "voided": the campaign or its cost changed before approval. "failed": approved, but the send failed. Only "sent" spent money.',
    ),
  message: z.string().describe('What this means, in plain words.'),
  group: z.string(),
  campaign: z.string(),
  touch_id: z.number(),
  recipients: z.array(z.string()),
  amount_per_send: money,
  total: money,
  reasons: z.array(z.object({ code: z.string(), message: z.string() })).describe('The policy rules that asked for a person.'),
  requested_by: z.object({ via: z.string(), id: z.string(), name: z.string().optional(), client: z.string().optional() }),
  run_id: z.string().optional(),
  requested_at: time,
  expires_at: time,
  decided_at: time.optional(),
  decided_by: z.string().optional().describe('Who approved or denied it (e.g. slack:U0APPROVER1, cli:operator).'),
  decision_note: z.string().optional().describe("The approver's note, or why it was denied or voided."),
  tracking_code: z.string().optional().describe('Once sent: the Sendoso tracking code.'),
  approval_url: z.string().optional().describe('While pending: the page where an approver decides it.'),
  group_available: money.optional().describe("What the group's caps leave now, in the window with the least left."),
});

const SPEND_STATES = ['waiting_to_send', 'sending', 'sent', 'failed', 'outcome_unknown', 'expired'] as const;

const spendRequestAnswer = z.object({
  intent_id: z.string(),
  status: z
    .enum(SPEND_STATES)
    .describe(
      '"waiting_to_send": reserved (an approved send waits for giftguard to send it). "sending": on its way to Sendoso. "sent": Sendoso took it (see tracking_code). "failed": not sent; its budget was released. "outcome_unknown": giftguard is checking whether Sendoso took it; do NOT send it again. "expired": never sent; its reservation lapsed.',
    ),
  message: z.string(),
  batch_id: z.string().describe('The request this intent belongs to (an eGift links request has one intent per recipient).'),
  group: z.string(),
  campaign: z.string(),
  touch_id: z.number(),
  recipient: z.string(),
  amount: money,
  tracking_code: z.string().optional(),
  approval_id: z.string().optional().describe('The approval it came from, if a person approved it.'),
  requested_at: time,
  dispatched_at: time.optional(),
});

const WINDOWS = ['day', 'week', 'month'] as const;

const headroomAnswer = z.object({
  group: z.string(),
  can_send: z.boolean().describe('False while a kill switch or dry run stops every send of this group.'),
  available: money.nullable().describe('What the group may still spend now: the least any capped window leaves (never below zero); null when no window is capped.'),
  binding: z
    .object({ window: z.enum(WINDOWS), rule: z.string().describe('The policy rule, e.g. caps.per_day.') })
    .nullable()
    .describe('The cap that limits the group now; null when no window is capped.'),
  windows: z
    .array(
      z.object({
        window: z.enum(WINDOWS),
        cap: money.nullable(),
        captured: money.describe("What Sendoso charged for giftguard's sends in this window."),
        held: money.describe('Reserved for sends on their way.'),
        observed: money.describe('Sends made outside giftguard (in Sendoso directly).'),
        available: money.nullable().describe('cap − captured − held (− observed when counted); negative when over; null when uncapped.'),
      }),
    )
    .describe('Each calendar window of the group (day, week, month) in the policy\'s timezone.'),
  observed_counted: z.boolean().describe('Whether sends made outside giftguard count against the caps.'),
  per_send_cap: money.nullable().describe('The most one send may cost.'),
  approval_above: money.nullable().describe('Sends costing more than this wait for a person.'),
  message: z.string().describe('The answer in plain words, including why.'),
});

const iso = (ms: number) => new Date(ms).toISOString();
const amount = (value: Cents | undefined | null, currency = 'USD') => (value === undefined || value === null ? null : formatMoney(value, currency));

/** The policy in force, or a refusal the model can pass on. */
function policyOf(call: GiftguardCall): Policy {
  const policy = call.state.policy();
  if (!policy) throw new GiftingError('config', 'No valid spend policy is in force, so giftguard refuses every send until an administrator fixes it (giftguard policy check).');
  return policy;
}

/** A group's name as the policy writes it (case-insensitive lookups agree on it). */
function canonicalGroup(policy: Policy | undefined, group: string | number): string {
  const found = policy ? findGroupPolicy(policy, String(group)) : undefined;
  return String(found?.group ?? group);
}

/**
 * The one group an outside MCP client may see: the one it charges (its server's group, else the
 * policy's default group). giftguard's own callers (workflows, the agent) see every group.
 */
function visibleGroup(call: GiftguardCall): string | null | undefined {
  if (call.caller.via !== 'mcp') return undefined;
  const policy = call.state.policy();
  const charged = call.group ?? policy?.defaultGroup;
  return charged === undefined ? null : canonicalGroup(policy, charged).toLowerCase();
}

function visible(call: GiftguardCall, group: string): boolean {
  const only = visibleGroup(call);
  return only === undefined || only === group.toLowerCase();
}

function approvalMessage(a: ApprovalDetail, status: (typeof APPROVAL_STATES)[number], url: string | undefined): string {
  const by = a.decidedBy ? ` by ${a.decidedBy}` : '';
  switch (status) {
    case 'pending':
      return `Waiting for a person to approve it; nothing has been sent. It expires at ${iso(a.expiresAt)}.${url ? ` An approver decides it at ${url}.` : ''} Once approved, giftguard sends it without another call.`;
    case 'approved':
      return `Approved${by}; giftguard is sending it now. Check again shortly for the tracking code.`;
    case 'sent':
      return `Approved${by} and sent${a.trackingCode ? `; tracking code ${a.trackingCode}` : ''}.`;
    case 'denied':
      return `Denied${by}${a.decisionReason ? `: ${a.decisionReason}` : ''}. Nothing was sent.`;
    case 'expired':
      return 'Nobody approved it in time, so it expired. Nothing was sent; ask again if the gift is still wanted.';
    case 'voided':
      return `Void${a.decisionReason ? `: ${a.decisionReason}` : ''}. Nothing was sent; submit the send again if it is still wanted.`;
    case 'failed':
      return `Approved${by}, but the send failed. Nothing was sent; it may be submitted again.`;
  }
}

async function checkApproval(args: Record<string, unknown>, call: GiftguardCall): Promise<Record<string, unknown>> {
  const id = String(args.approval_id);
  const approval = await call.state.approvals.get(id);
  // Another group's approval is answered exactly like one that does not exist.
  if (!approval || !visible(call, approval.group)) throw new GiftingError('not_found', `No approval ${id} that this caller can see. Approval ids look like apr_… and come from a "pending_approval" result.`);
  // A read does not expire requests; one past its expiry is expired whatever the record says yet.
  const status = approval.status === 'pending' && approval.expiresAt <= call.now ? 'expired' : approval.status;
  const url = status === 'pending' ? await call.approvalUrl(approval.id) : undefined;
  const note = (status === 'denied' || status === 'voided') && approval.decisionReason ? approval.decisionReason : undefined;
  const asked = approval.askedBy;
  const answer: z.input<typeof approvalAnswer> = {
    approval_id: approval.id,
    status,
    message: approvalMessage(approval, status, url),
    group: approval.group,
    campaign: approval.touchName,
    touch_id: approval.touchId,
    recipients: [...approval.recipients],
    amount_per_send: formatMoney(approval.amount, approval.currency),
    total: formatMoney((approval.amount * approval.recipients.length) as Cents, approval.currency),
    reasons: approval.reasons.map((r) => ({ code: r.code, message: r.message })),
    requested_by: { via: asked.via, id: asked.id, ...(asked.name !== undefined && { name: asked.name }), ...(asked.clientName !== undefined && { client: asked.clientName }) },
    ...(approval.runId !== null && { run_id: approval.runId }),
    requested_at: iso(approval.createdAt),
    expires_at: iso(approval.expiresAt),
    ...(approval.decidedAt !== null && { decided_at: iso(approval.decidedAt) }),
    ...(approval.decidedBy !== null && { decided_by: approval.decidedBy }),
    ...(note !== undefined && { decision_note: note }),
    ...(approval.trackingCode !== null && { tracking_code: approval.trackingCode }),
    ...(url !== undefined && { approval_url: url }),
    ...(approval.headroom !== null && { group_available: formatMoney(approval.headroom.cents) }),
  };
  return answer;
}

const INTENT_STATES: Record<Intent['status'], { readonly status: (typeof SPEND_STATES)[number]; readonly message: (i: Intent) => string }> = {
  PENDING: { status: 'waiting_to_send', message: () => 'Reserved and waiting to go out: giftguard sends approved requests within seconds while its service runs. Nothing has been sent yet.' },
  DISPATCHING: { status: 'sending', message: () => 'On its way to Sendoso now. Check again shortly.' },
  SENT: { status: 'sent', message: (i) => `Sent${i.trackingCode ? `; tracking code ${i.trackingCode}` : ''}.` },
  FAILED: { status: 'failed', message: () => 'Not sent: the send failed, and its budget was released. It may be submitted again.' },
  UNKNOWN: {
    status: 'outcome_unknown',
    message: () => 'giftguard does not know yet whether Sendoso took it and is checking Sendoso. Do NOT send it again; check back later.',
  },
  EXPIRED: { status: 'expired', message: () => 'Never sent: its reservation lapsed before it went out, and its budget was released.' },
};

async function checkSpendRequest(args: Record<string, unknown>, call: GiftguardCall): Promise<Record<string, unknown>> {
  const id = String(args.intent_id);
  if (id.startsWith('apr_')) throw new GiftingError('bad_request', `${id} is an approval id: check it with giftguard_check_approval.`);
  const intent = await call.state.ledger.intent(id);
  if (!intent || !visible(call, intent.group)) {
    throw new GiftingError('not_found', `No spend request ${id} that this caller can see. Spend request ids come from intent_ids in a spending tool's result.`);
  }
  const state = INTENT_STATES[intent.status];
  const answer: z.input<typeof spendRequestAnswer> = {
    intent_id: intent.id,
    status: state.status,
    message: state.message(intent),
    batch_id: intent.batchId,
    group: intent.group,
    campaign: intent.touchName,
    touch_id: intent.touchId,
    recipient: intent.recipientGiven,
    amount: formatMoney(intent.capturedAmount ?? intent.amount, intent.currency),
    ...(intent.trackingCode !== null && { tracking_code: intent.trackingCode }),
    ...(intent.approvalId !== null && { approval_id: intent.approvalId }),
    requested_at: iso(intent.createdAt),
    ...(intent.dispatchedAt !== null && { dispatched_at: iso(intent.dispatchedAt) }),
  };
  return answer;
}

const WINDOW_WORDS: Record<(typeof WINDOWS)[number], string> = { day: 'today', week: 'this week', month: 'this month' };

async function groupHeadroom(args: Record<string, unknown>, call: GiftguardCall): Promise<Record<string, unknown>> {
  const policy = policyOf(call);
  const only = visibleGroup(call);
  const asked = typeof args.group === 'string' ? args.group : undefined;
  if (only === null) throw new GiftingError('config', 'This MCP server charges no group (none was given and the policy has no default_group), so it has no budget.');
  if (only !== undefined && asked !== undefined && canonicalGroup(policy, asked).toLowerCase() !== only) {
    throw new GiftingError('bad_request', 'This MCP server sees only the budget of the group it charges: call this tool without a group.');
  }
  const wanted = asked ?? only ?? call.group ?? policy.defaultGroup;
  if (wanted === undefined) {
    throw new GiftingError('bad_request', `Name a group: one of ${policy.groups.map((g) => `"${String(g.group)}"`).join(', ')}.`);
  }
  const group = findGroupPolicy(policy, String(wanted));
  if (!group) {
    const known = only === undefined ? ` Groups with a policy: ${policy.groups.map((g) => `"${String(g.group)}"`).join(', ')}.` : '';
    throw new GiftingError('not_found', `No spend policy covers the group "${String(wanted)}", so it cannot spend.${known}`);
  }
  const name = String(group.group);
  const lines = await call.state.ledger.budget(name, policy, call.now);
  const tightest = tightestHeadroom(lines);
  const stopped = policy.killSwitch || group.kill_switch ? 'kill_switch' : policy.dryRun || group.dry_run ? 'dry_run' : undefined;
  const line = (window: (typeof WINDOWS)[number]): BudgetLine | undefined => lines.find((l) => l.window === window);
  const binding = tightest ? line(tightest.window) : undefined;
  const counted = policy.outsideSends.count;
  const perSend = group.caps.per_send;
  const above = group.approval.above;

  const why: string[] = [];
  if (stopped === 'kill_switch') why.push(`Every send of ${name} is stopped: a kill switch is on (${policy.killSwitch ? 'for every group' : 'for this group'}).`);
  if (stopped === 'dry_run') why.push(`${name} runs in dry-run mode: sends are evaluated but nothing is sent.`);
  if (tightest && binding) {
    why.push(
      `${name} can spend ${formatMoney(tightest.cents)} more ${WINDOW_WORDS[tightest.window]}: its per-${tightest.window} cap (${formatMoney(binding.cap!)}) is the one that binds, with ${formatMoney(binding.captured)} charged, ${formatMoney(binding.held)} held${counted ? ` and ${formatMoney(binding.observed)} sent outside giftguard` : ''}.`,
    );
  } else {
    why.push(`${name} has no per-day, per-week or per-month cap.`);
  }
  if (perSend !== undefined) why.push(`One send may cost at most ${formatMoney(perSend)}.`);
  if (above !== undefined) why.push(`Sends above ${formatMoney(above)} wait for a person's approval.`);
  why.push('Per-campaign, per-recipient and compliance rules, and the ceiling shared by all groups, are checked on each send.');

  const answer: z.input<typeof headroomAnswer> = {
    group: name,
    can_send: stopped === undefined,
    available: tightest ? formatMoney(tightest.cents) : null,
    binding: tightest ? { window: tightest.window, rule: `caps.per_${tightest.window}` } : null,
    windows: WINDOWS.flatMap((window) => {
      const l = line(window);
      return l ? [{ window, cap: amount(l.cap), captured: formatMoney(l.captured), held: formatMoney(l.held), observed: formatMoney(l.observed), available: amount(l.available) }] : [];
    }),
    observed_counted: counted,
    per_send_cap: amount(perSend),
    approval_above: amount(above),
    message: why.join(' '),
  };
  return answer;
}

/** giftguard's own tools, listed after Sendoso's; the `giftguard` tag selects exactly these. */
export const giftguardCatalogue: GiftguardCatalogue = [
  {
    toolName: 'giftguard_check_approval',
    resource: 'approvals',
    method: 'get',
    tags: ['giftguard'],
    args: z.strictObject({
      approval_id: z.string().min(1).max(100).describe('The approval id (apr_…) from a "pending_approval" result.'),
    }),
    response: approvalAnswer,
    docs: {
      title: 'Check a send waiting for approval (giftguard)',
      description:
        'Reports what became of a send that needed a person\'s approval: pending (with the page where an approver decides it), approved, sent (with the tracking code), denied (with the note), expired, voided or failed — plus what it costs, who asked and the rules that asked for a person. Reads giftguard\'s records; calls nothing in Sendoso. Use it instead of asking the user to check.',
    },
    answer: checkApproval,
  },
  {
    toolName: 'giftguard_check_spend_request',
    resource: 'spend_requests',
    method: 'get',
    tags: ['giftguard'],
    args: z.strictObject({
      intent_id: z.string().min(1).max(100).describe('A spend request id from intent_ids in a spending tool\'s result (e.g. bat_….0).'),
    }),
    response: spendRequestAnswer,
    docs: {
      title: 'Check a spend request (giftguard)',
      description:
        'Reports whether one spend request (an id from intent_ids in a "sent" or "outcome_unknown" result) went out: waiting, sending, sent (with the tracking code), failed, outcome unknown (do not send again) or expired. Reads giftguard\'s ledger; calls nothing in Sendoso. For a send waiting for approval, use giftguard_check_approval.',
    },
    answer: checkSpendRequest,
  },
  {
    toolName: 'giftguard_group_headroom',
    resource: 'budgets',
    method: 'get',
    tags: ['giftguard'],
    args: z.strictObject({
      group: z
        .string()
        .min(1)
        .max(200)
        .optional()
        .describe('The policy group, e.g. "Sales Development". Omit it for the group this MCP server charges.'),
    }),
    response: headroomAnswer,
    docs: {
      title: "A group's budget left under the spend policy (giftguard)",
      description:
        'Reports how much a group may still spend now under giftguard\'s spend policy and why: per day, week and month the cap, what Sendoso charged, what is held for sends on their way, what was sent outside giftguard, and what is left; which cap binds; the per-send cap and the approval threshold; and whether a kill switch or dry run stops sends. Reads giftguard\'s ledger; calls nothing in Sendoso.',
    },
    answer: groupHeadroom,
  },
];
