/**
 * Onboarding audit: did every member of a team group get the onboarding gift? Finds the group and
 * its members, pages through sends once, and reports each member as gifted (status, tracking
 * code, date) or missing, flagging sends stuck in "Confirming Address". With `fix`, the missing
 * members are proposed as address-collection sends and, once confirmed, sent through the guard.
 */
import { assign, setup } from 'xstate';
import type { RunSpendResult } from '../src/domain/index.js';
import { namedActor } from './named-actor.js';
import type { CampaignFound, GroupFound } from './shared-types.js';
import { failOnError, findCampaignStep, findGroupStep, keepCampaign, keepError, keepGroup, stepActors } from './steps.js';
import type { StepContext } from './steps.js';

export const ONBOARDING_AUDIT_VERSION = 1;

export interface OnboardingAuditInput {
  readonly group: string;
  readonly campaign: string;
  /** Only sends created at or after this instant count (epoch ms). */
  readonly since: number;
  /** A send still "Confirming Address" after this many days is flagged. */
  readonly stuckAfterDays: number;
  /** Propose sends for missing members. */
  readonly fix: boolean;
  /** Start the proposed sends (with `fix`). */
  readonly confirm: boolean;
  readonly expireAfterDays: number;
  /** The audit's own clock reading at start, for "stuck" ages (epoch ms). */
  readonly now: number;
}

export interface Member {
  readonly name: string;
  readonly email: string;
}

export interface SendSeen {
  readonly id: number;
  readonly email: string;
  readonly status: string;
  readonly trackingCode: string | null;
  readonly createdAt: number;
}

export interface AuditLine {
  readonly name: string;
  readonly email: string;
  readonly gifted: boolean;
  readonly status?: string | undefined;
  readonly trackingCode?: string | null | undefined;
  readonly date?: number | undefined;
  readonly stuck: boolean;
  /** Set when `fix` started a send for a missing member. */
  readonly fix?: RunSpendResult | { readonly status: 'failed'; readonly message: string } | undefined;
  /** With `fix` but not `confirm`: the send that `--fix --yes` would start for this missing member. */
  readonly proposed?: 'address_collection' | undefined;
}

export interface OnboardingAuditOutput {
  readonly status: 'done' | 'failed' | 'cancelled';
  readonly group?: string | undefined;
  readonly campaign?: string | undefined;
  readonly lines: readonly AuditLine[];
  readonly stuck: readonly SendSeen[];
  readonly summary: string;
}

interface AuditContext extends StepContext<OnboardingAuditInput> {
  /** Only until the lines are made: a run's snapshot keeps the report, not the history it came from. */
  readonly members?: readonly Member[] | undefined;
  readonly sends?: readonly SendSeen[] | undefined;
  /** Sends stuck in "Confirming Address", kept for the output. */
  readonly stuck?: readonly SendSeen[];
  readonly lines?: readonly AuditLine[];
  readonly status?: OnboardingAuditOutput['status'];
}

const DAY = 86_400_000;

/**
 * Pure: members × sends → one line per member. The latest send of the campaign counts. Keyed by
 * address, so the work is linear in members plus sends (10k members × 100k sends is one pass over
 * each, not a billion comparisons).
 */
export function crossReference(input: OnboardingAuditInput, members: readonly Member[], sends: readonly SendSeen[]): AuditLine[] {
  const latestByEmail = new Map<string, SendSeen>();
  for (const send of sends) {
    const key = send.email.toLowerCase();
    const known = latestByEmail.get(key);
    if (!known || send.createdAt > known.createdAt) latestByEmail.set(key, send);
  }
  return members.map((member) => {
    const latest = latestByEmail.get(member.email.toLowerCase());
    if (!latest) return { name: member.name, email: member.email, gifted: false, stuck: false, ...(input.fix && !input.confirm && { proposed: 'address_collection' as const }) };
    return {
      name: member.name,
      email: member.email,
      gifted: true,
      status: latest.status,
      trackingCode: latest.trackingCode,
      date: latest.createdAt,
      stuck: isStuck(latest, input),
    };
  });
}

function isStuck(send: SendSeen, input: OnboardingAuditInput): boolean {
  return send.status === 'Confirming Address' && input.now - send.createdAt > input.stuckAfterDays * DAY;
}

/** Names a summary lists before saying how many more (the report has every one). */
const NAMED_IN_SUMMARY = 10;

function namesOf(lines: readonly AuditLine[]): string {
  const named = lines.slice(0, NAMED_IN_SUMMARY).map((l) => l.name).join(', ');
  return lines.length > NAMED_IN_SUMMARY ? `${named} and ${lines.length - NAMED_IN_SUMMARY} more` : named;
}

function summarize(context: AuditContext): string {
  if (context.status === 'failed') return context.error ?? 'The audit failed.';
  if (context.status === 'cancelled') return 'The audit was cancelled.';
  const lines = context.lines ?? [];
  const gifted = lines.filter((l) => l.gifted).length;
  const missing = lines.filter((l) => !l.gifted);
  const stuck = lines.filter((l) => l.stuck).length;
  const parts = [`${context.group?.name}: ${gifted} of ${lines.length} members got ${context.campaign?.name}; ${missing.length} missing${missing.length ? ` (${namesOf(missing)})` : ''}.`];
  if (stuck > 0) parts.push(`${stuck} send${stuck === 1 ? ' is' : 's are'} stuck in "Confirming Address" for more than ${context.input.stuckAfterDays} days.`);
  const fixed = missing.filter((m) => m.fix);
  if (fixed.length > 0) {
    parts.push(`Started ${fixed.filter((m) => m.fix?.status === 'sent').length} address-collection send(s); ${fixed.filter((m) => m.fix?.status === 'pending_approval').length} wait for approval; ${fixed.filter((m) => m.fix?.status === 'failed').length} failed.`);
  } else if (context.input.fix && missing.length > 0) {
    parts.push(`Proposed: ${missing.length} address-collection send(s) of ${context.campaign?.name}; run again with --fix --yes to start them.`);
  }
  return parts.join(' ');
}

export const onboardingAuditMachine = setup({
  types: {
    context: {} as AuditContext,
    input: {} as OnboardingAuditInput,
    output: {} as OnboardingAuditOutput,
    events: {} as { type: 'run.cancel' },
  },
  actors: {
    ...stepActors,
    listMembers: namedActor<Member[], { group: GroupFound }>('listMembers'),
    scanSends: namedActor<SendSeen[], { touchId: number; since: number }>('scanSends'),
    sendMissing: namedActor<AuditLine[], { lines: readonly AuditLine[]; group: GroupFound; campaign: CampaignFound; expireAfterDays: number }>('sendMissing'),
  },
  // The shared steps' context updates (see steps.ts), typed here against this machine's context.
  actions: { keepGroup: assign(keepGroup), keepCampaign: assign(keepCampaign), keepError: assign(keepError) },
  guards: {
    fixAndConfirmed: ({ context }) => context.input.fix && context.input.confirm && (context.lines ?? []).some((l) => !l.gifted),
  },
}).createMachine({
  id: 'onboarding-audit',
  context: ({ input }) => ({ input }),
  initial: 'findingGroup',
  on: { 'run.cancel': '.cancelled' },
  states: {
    findingGroup: findGroupStep('listingMembers'),
    listingMembers: {
      invoke: {
        src: 'listMembers',
        input: ({ context }) => ({ group: context.group! }),
        onDone: { target: 'findingCampaign', actions: assign({ members: ({ event }) => event.output }) },
        onError: failOnError(),
      },
    },
    findingCampaign: findCampaignStep('any', 'scanningSends'),
    scanningSends: {
      invoke: {
        src: 'scanSends',
        input: ({ context }) => ({ touchId: context.campaign!.id, since: context.input.since }),
        onDone: {
          target: 'reported',
          actions: assign({
            lines: ({ context, event }) => crossReference(context.input, context.members ?? [], event.output),
            stuck: ({ context, event }) => event.output.filter((s) => isStuck(s, context.input)),
            members: undefined,
            sends: undefined,
          }),
        },
        onError: failOnError(),
      },
    },
    reported: {
      always: [{ guard: 'fixAndConfirmed', target: 'fixing' }, { target: 'done' }],
    },
    fixing: {
      invoke: {
        src: 'sendMissing',
        input: ({ context }) => ({ lines: context.lines!, group: context.group!, campaign: context.campaign!, expireAfterDays: context.input.expireAfterDays }),
        onDone: { target: 'done', actions: assign({ lines: ({ event }) => event.output }) },
        onError: failOnError(),
      },
    },
    done: { type: 'final', entry: assign({ status: 'done' as const }) },
    failed: { type: 'final', entry: assign({ status: 'failed' as const }) },
    cancelled: { type: 'final', entry: assign({ status: 'cancelled' as const }) },
  },
  output: ({ context }) => ({
    status: context.status ?? 'failed',
    group: context.group?.name,
    campaign: context.campaign?.name,
    lines: context.lines ?? [],
    // A run restored from before `stuck` was kept has its sends instead.
    stuck: context.stuck ?? (context.sends ?? []).filter((s) => isStuck(s, context.input)),
    summary: summarize(context),
  }),
});
