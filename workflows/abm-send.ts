/**
 * ABM send: find the group, check its Sendoso budget and the guard's headroom, find a physical
 * campaign, then send — with address collection when no address is given — and wait for an
 * approval when the guard asks for one. Effects live in named actors the orchestrator provides;
 * every wait is an absolute deadline in context, so a restored run re-arms it.
 */
import { assign, setup } from 'xstate';
import { formatMoney } from '../src/domain/index.js';
import type { RunSpendResult } from '../src/domain/index.js';
import { namedActor } from './named-actor.js';
import type { Address, BudgetCheck, CampaignFound, GroupFound, SettledResult } from './shared-types.js';
import { actorOutput, failOnError, findCampaignStep, findGroupStep, keepCampaign, keepError, keepGroup, stepActors } from './steps.js';
import type { StepContext } from './steps.js';

export const ABM_SEND_VERSION = 1;

export interface AbmSendInput {
  readonly group: string;
  readonly campaign: string;
  readonly recipientName: string;
  readonly recipientEmail: string;
  readonly company?: string | undefined;
  readonly address?: Address | undefined;
  readonly message?: string | undefined;
  /** Days the recipient has to confirm an address (2–7). */
  readonly expireAfterDays: number;
  /** Evaluate everything, send nothing. */
  readonly dryRun?: boolean | undefined;
}

export interface AbmSendOutput {
  readonly status: 'sent' | 'pending_approval' | 'dry_run' | 'failed' | 'cancelled' | 'outcome_unknown';
  readonly summary: string;
  readonly trackingCode?: string | undefined;
  readonly approvalId?: string | undefined;
}

interface AbmContext extends StepContext<AbmSendInput> {
  readonly budget?: BudgetCheck;
  readonly send?: RunSpendResult;
  readonly settled?: SettledResult;
  /** Absolute deadline of the current wait (approval), so a restore re-arms it. */
  readonly deadlineAt?: number;
  /** Set on entering a final state. */
  readonly status?: AbmSendOutput['status'];
}

const HEADROOM_WINDOW = { day: 'today', week: 'this week', month: 'this month' } as const;

function summarize(context: AbmContext, status: AbmSendOutput['status']): string {
  const { input, group, budget, campaign, send, settled, error } = context;
  if (status === 'failed') return error ?? 'The send failed.';
  if (status === 'cancelled') return 'The run was cancelled; nothing more will be sent.';
  const parts: string[] = [];
  if (group && budget) {
    const window = budget.guardHeadroomWindow ? HEADROOM_WINDOW[budget.guardHeadroomWindow] : 'in its tightest window';
    const headroom = budget.guardHeadroomCents === null ? '' : ` (the spend policy allows ${formatMoney(budget.guardHeadroomCents)} more ${window})`;
    parts.push(`${group.name} had ${formatMoney(budget.sendosoAvailableCents)} available${headroom}.`);
  }
  const collecting = input.address === undefined;
  const how = collecting ? 'an address-collection send' : 'a physical send to the given address';
  if (campaign) parts.push(`Found ${campaign.name} (touch ${campaign.id})`);
  if (status === 'dry_run') {
    parts.push(`and would start ${how}. Dry run: ${send?.message ?? 'nothing was sent.'}`);
    return parts.join(' ');
  }
  if (status === 'pending_approval') {
    parts.push(`but the send needs a person's approval first (${send?.approvalId}); nothing has been sent yet. ${send?.message ?? ''}`.trim());
    return parts.join(' ');
  }
  if (status === 'outcome_unknown') {
    parts.push(`and started ${how}, but Sendoso's answer was unclear; giftguard is checking whether it went out and will not send it twice.`);
    return parts.join(' ');
  }
  const tracking = settled?.trackingCode ?? send?.trackingCode;
  const approved = settled?.status === 'sent' ? ' after approval' : '';
  parts.push(`and started ${how}${approved};`);
  parts.push(
    collecting
      ? `${input.recipientName} will get an email to confirm ${'their'} address within ${input.expireAfterDays} days.`
      : `it ships to ${input.recipientName} at ${input.address!.city}.`,
  );
  if (tracking) parts.push(`Tracking code ${tracking}.`);
  return parts.join(' ');
}

export const abmSendMachine = setup({
  types: {
    context: {} as AbmContext,
    input: {} as AbmSendInput,
    output: {} as AbmSendOutput,
    events: {} as { type: 'run.cancel' },
  },
  actors: {
    ...stepActors,
    checkBudget: namedActor<BudgetCheck, { group: GroupFound }>('checkBudget'),
    sendGift: namedActor<RunSpendResult, { input: AbmSendInput; group: GroupFound; campaign: CampaignFound }>('sendGift'),
    waitForApproval: namedActor<SettledResult, { approvalId: string; deadlineAt: number }>('waitForApproval'),
  },
  // The shared steps' context updates (see steps.ts), typed here against this machine's context.
  actions: { keepGroup: assign(keepGroup), keepCampaign: assign(keepCampaign), keepError: assign(keepError) },
  // Each reads the sendGift actor's result, given as params by the transition (see actorOutput).
  guards: {
    sent: (_, send: RunSpendResult) => send.status === 'sent',
    needsApproval: (_, send: RunSpendResult) => send.status === 'pending_approval',
    dryRun: (_, send: RunSpendResult) => send.status === 'dry_run',
  },
}).createMachine({
  id: 'abm-send',
  context: ({ input }) => ({ input }),
  initial: 'findingGroup',
  on: { 'run.cancel': '.cancelled' },
  states: {
    findingGroup: findGroupStep('checkingBudget'),
    checkingBudget: {
      invoke: {
        src: 'checkBudget',
        input: ({ context }) => ({ group: context.group! }),
        onDone: { target: 'findingCampaign', actions: assign({ budget: ({ event }) => event.output }) },
        onError: failOnError(),
      },
    },
    findingCampaign: findCampaignStep('mail', 'sending'),
    sending: {
      invoke: {
        src: 'sendGift',
        input: ({ context }) => ({ input: context.input, group: context.group!, campaign: context.campaign! }),
        onDone: [
          { guard: { type: 'sent', params: actorOutput }, target: 'sent', actions: assign({ send: ({ event }) => event.output }) },
          { guard: { type: 'dryRun', params: actorOutput }, target: 'dryRun', actions: assign({ send: ({ event }) => event.output }) },
          {
            guard: { type: 'needsApproval', params: actorOutput },
            target: 'awaitingApproval',
            actions: assign({ send: ({ event }) => event.output, deadlineAt: ({ event }) => event.output.approvalExpiresAt ?? 0 }),
          },
          { target: 'outcomeUnknown', actions: assign({ send: ({ event }) => event.output }) },
        ],
        onError: failOnError(),
      },
    },
    awaitingApproval: {
      invoke: {
        src: 'waitForApproval',
        input: ({ context }) => ({ approvalId: context.send!.approvalId!, deadlineAt: context.deadlineAt! }),
        onDone: [
          { guard: ({ event }) => event.output.status === 'sent', target: 'sent', actions: assign({ settled: ({ event }) => event.output }) },
          { target: 'failed', actions: assign({ settled: ({ event }) => event.output, error: ({ event }) => event.output.message }) },
        ],
        onError: failOnError(),
      },
    },
    sent: { type: 'final', entry: assign({ status: 'sent' as const }) },
    dryRun: { type: 'final', entry: assign({ status: 'dry_run' as const }) },
    outcomeUnknown: { type: 'final', entry: assign({ status: 'outcome_unknown' as const }) },
    failed: { type: 'final', entry: assign({ status: 'failed' as const }) },
    cancelled: { type: 'final', entry: assign({ status: 'cancelled' as const }) },
  },
  output: ({ context }) => {
    const status = context.status ?? 'failed';
    return {
      status,
      summary: summarize(context, status),
      ...((context.settled?.trackingCode ?? context.send?.trackingCode) && { trackingCode: context.settled?.trackingCode ?? context.send?.trackingCode }),
      ...(context.send?.approvalId && { approvalId: context.send.approvalId }),
    };
  },
});
