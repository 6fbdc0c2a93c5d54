/**
 * Webinar eGift batch: validate every attendee row (bad and duplicate emails are reported, never
 * sent), find the eGift campaign and the group, pre-check the whole batch against the guard (the
 * total must fit the caps, else stop before sending anything — unless `partial`, which sends every
 * row that fits and lets the guard refuse the rest), then send each and report per recipient.
 * Recipients already gifted within the policy's frequency window are skipped; a recipient already
 * sent this campaign by any run within the batch window is reported as already sent.
 *
 * Sending retries what failed for a passing reason (rate limits past the gateway's patience,
 * Sendoso unreachable, an unknown outcome that reconciliation settled as not sent) until the
 * retry deadline. The run ends `done` only when every row is sent, refused or invalid; otherwise
 * it waits as `incomplete` until `run.resume` sends exactly the rows still open. Attendees live in
 * the run's item table, not in context, so a batch of any size persists cheaply.
 */
import { assign, setup } from 'xstate';
import { cents, formatMoney } from '../src/domain/index.js';
import type { Cents } from '../src/domain/index.js';
import { namedActor } from './named-actor.js';
import type { CampaignFound, GroupFound } from './shared-types.js';
import { actorOutput, failOnError, findCampaignStep, findGroupStep, keepCampaign, keepError, keepGroup, stepActors } from './steps.js';
import type { StepContext } from './steps.js';

export const WEBINAR_EGIFT_BATCH_VERSION = 2;

/** How long a batch keeps retrying by default before it stops as incomplete (1 h). */
export const BATCH_RETRY_FOR_MS = 3_600_000;

export interface WebinarBatchInput {
  readonly campaign: string;
  readonly group: string;
  readonly csvPath: string;
  readonly partial: boolean;
  readonly message?: string | undefined;
  readonly dryRun?: boolean | undefined;
  /** How long to keep retrying rows that failed for a passing reason (default 1 h). */
  readonly retryForMs?: number | undefined;
}

export interface AttendeesLoaded {
  readonly valid: number;
  readonly invalid: readonly { readonly line: number; readonly reason: string }[];
  readonly duplicates: readonly { readonly line: number; readonly email: string }[];
}

export interface BatchPrecheck {
  /** Recipients to send now (after skips), and those skipped as already gifted. */
  readonly toSend: number;
  readonly skipped: number;
  /** How many of `toSend` fit every cap right now. */
  readonly fits: number;
  readonly costPerSendCents: Cents;
  /** Why not all fit (policy sentences). */
  readonly reasons: readonly string[];
  /** When the check was made (epoch ms): retries are timed from here. */
  readonly checkedAt: number;
}

export interface BatchProgress {
  readonly sent: number;
  /** Sent this campaign earlier, by another run or request within the batch window; not sent again. */
  readonly alreadySent: number;
  readonly pendingApproval: number;
  /** Refused by the spend policy (or by Sendoso as invalid): final. */
  readonly refused: number;
  /** Failed for a passing reason and still to be retried (or waiting to be sent). */
  readonly retrying: number;
  /** Sent or not is being checked with Sendoso. */
  readonly unknown: number;
  readonly skipped: number;
}

/** Rows still open: neither sent, refused, skipped nor handed to a person. */
export function openRows(progress: BatchProgress): number {
  return progress.retrying + progress.unknown;
}

export interface WebinarBatchOutput {
  readonly status: 'done' | 'incomplete' | 'failed' | 'cancelled' | 'dry_run';
  readonly summary: string;
  readonly loaded?: AttendeesLoaded | undefined;
  readonly precheck?: BatchPrecheck | undefined;
  readonly progress?: BatchProgress | undefined;
}

interface BatchContext extends StepContext<WebinarBatchInput> {
  readonly loaded?: AttendeesLoaded;
  readonly precheck?: BatchPrecheck;
  readonly progress?: BatchProgress;
  /** Absolute deadline for retries (a restored run keeps it; `run.resume` sets a new one). */
  readonly retryUntil?: number;
  readonly status?: WebinarBatchOutput['status'];
}

/** The batch's one-paragraph summary from its counts; also used when outcomes settle later. */
export function batchSummary(parts: {
  readonly status: WebinarBatchOutput['status'];
  readonly loaded?: AttendeesLoaded | undefined;
  readonly precheck?: BatchPrecheck | undefined;
  readonly progress?: BatchProgress | undefined;
  readonly campaign?: string | undefined;
  readonly group?: string | undefined;
  readonly error?: string | undefined;
}): string {
  const { loaded, precheck, progress } = parts;
  if (parts.status === 'failed') return parts.error ?? 'The batch failed.';
  if (parts.status === 'cancelled') return `The batch was cancelled${progress ? ` after ${progress.sent} sends` : ''}; nothing more will be sent.`;
  const rejected = (loaded?.invalid.length ?? 0) + (loaded?.duplicates.length ?? 0);
  const head = `${loaded?.valid ?? 0} valid attendee(s)${rejected ? `, ${rejected} row(s) rejected` : ''}; ${parts.campaign} from ${parts.group}.`;
  if (parts.status === 'dry_run') {
    return `${head} Dry run: ${precheck?.fits ?? 0} of ${precheck?.toSend ?? 0} would be sent now (${formatMoney(cents((precheck?.fits ?? 0) * (precheck?.costPerSendCents ?? 0)))}); ${precheck?.skipped ?? 0} already gifted.`;
  }
  const p = progress;
  const counts = [
    `Sent ${p?.sent ?? 0}`,
    ...(p?.alreadySent ? [`already sent earlier ${p.alreadySent}`] : []),
    `waiting for approval ${p?.pendingApproval ?? 0}`,
    `refused ${p?.refused ?? 0}`,
    `skipped as already gifted ${p?.skipped ?? 0}`,
  ];
  const open = p ? openRows(p) : 0;
  const tail = parts.status === 'incomplete' && open > 0
    ? ` Not finished: ${p!.retrying} still to send, ${p!.unknown} being checked with Sendoso; \`giftguard runs resume\` sends exactly those.`
    : '';
  return `${head} ${counts.join(', ')}.${tail}`;
}

function summarize(context: BatchContext): string {
  return batchSummary({ status: context.status ?? 'failed', loaded: context.loaded, precheck: context.precheck, progress: context.progress, campaign: context.campaign?.name, group: context.group?.name, error: context.error });
}

export const webinarEgiftBatchMachine = setup({
  types: {
    context: {} as BatchContext,
    input: {} as WebinarBatchInput,
    output: {} as WebinarBatchOutput,
    events: {} as { type: 'run.cancel' } | { type: 'run.resume'; at: number },
  },
  actors: {
    ...stepActors,
    loadAttendees: namedActor<AttendeesLoaded, { csvPath: string }>('loadAttendees'),
    precheckBatch: namedActor<BatchPrecheck, { group: GroupFound; campaign: CampaignFound }>('precheckBatch'),
    sendBatch: namedActor<BatchProgress, { group: GroupFound; campaign: CampaignFound; retryUntil: number; message?: string | undefined }>('sendBatch'),
  },
  // The shared steps' context updates (see steps.ts), typed here against this machine's context.
  actions: { keepGroup: assign(keepGroup), keepCampaign: assign(keepCampaign), keepError: assign(keepError) },
  // Guards that read an actor's output get it as params from the transition (see actorOutput).
  guards: {
    noneValid: (_, loaded: AttendeesLoaded) => loaded.valid === 0,
    overCaps: ({ context }, check: BatchPrecheck) => check.fits < check.toSend && !context.input.partial,
    dryRun: ({ context }) => context.input.dryRun === true,
    rowsOpen: (_, progress: BatchProgress) => openRows(progress) > 0,
  },
}).createMachine({
  id: 'webinar-egift-batch',
  context: ({ input }) => ({ input }),
  initial: 'loadingAttendees',
  on: { 'run.cancel': '.cancelled' },
  states: {
    loadingAttendees: {
      invoke: {
        src: 'loadAttendees',
        input: ({ context }) => ({ csvPath: context.input.csvPath }),
        onDone: [
          {
            guard: { type: 'noneValid', params: actorOutput },
            target: 'failed',
            actions: assign({ loaded: ({ event }) => event.output, error: ({ event }) => `No valid attendee rows in the CSV (${event.output.invalid.length} invalid, ${event.output.duplicates.length} duplicates); nothing was sent.` }),
          },
          { target: 'findingCampaign', actions: assign({ loaded: ({ event }) => event.output }) },
        ],
        onError: failOnError(),
      },
    },
    findingCampaign: findCampaignStep('email', 'findingGroup'),
    findingGroup: findGroupStep('prechecking'),
    prechecking: {
      invoke: {
        src: 'precheckBatch',
        input: ({ context }) => ({ group: context.group!, campaign: context.campaign! }),
        onDone: [
          {
            guard: { type: 'overCaps', params: actorOutput },
            target: 'failed',
            actions: assign({
              precheck: ({ event }) => event.output,
              error: ({ event }) =>
                `The batch does not fit the spend policy: only ${event.output.fits} of ${event.output.toSend} sends fit right now. ${event.output.reasons.join(' ')} Nothing was sent; use --partial to send the ${event.output.fits} that fit.`,
            }),
          },
          { guard: 'dryRun', target: 'dryRun', actions: assign({ precheck: ({ event }) => event.output }) },
          {
            target: 'sending',
            actions: assign({
              precheck: ({ event }) => event.output,
              retryUntil: ({ context, event }) => event.output.checkedAt + (context.input.retryForMs ?? BATCH_RETRY_FOR_MS),
            }),
          },
        ],
        onError: failOnError(),
      },
    },
    sending: {
      invoke: {
        src: 'sendBatch',
        input: ({ context }) => ({ group: context.group!, campaign: context.campaign!, retryUntil: context.retryUntil!, message: context.input.message }),
        onDone: [
          { guard: { type: 'rowsOpen', params: actorOutput }, target: 'incomplete', actions: assign({ progress: ({ event }) => event.output }) },
          { target: 'done', actions: assign({ progress: ({ event }) => event.output }) },
        ],
        onError: failOnError(),
      },
    },
    /** Retries ran out with rows still open: waits for a person to resume it. */
    incomplete: {
      entry: assign({ status: 'incomplete' as const }),
      on: {
        'run.resume': {
          target: 'sending',
          actions: assign({ status: undefined, retryUntil: ({ context, event }) => event.at + (context.input.retryForMs ?? BATCH_RETRY_FOR_MS) }),
        },
      },
    },
    done: { type: 'final', entry: assign({ status: 'done' as const }) },
    dryRun: { type: 'final', entry: assign({ status: 'dry_run' as const }) },
    failed: { type: 'final', entry: assign({ status: 'failed' as const }) },
    cancelled: { type: 'final', entry: assign({ status: 'cancelled' as const }) },
  },
  output: ({ context }) => ({
    status: context.status ?? 'failed',
    summary: summarize(context),
    loaded: context.loaded,
    precheck: context.precheck,
    progress: context.progress,
  }),
});
