/**
 * Webinar eGift batch: validate every attendee row (bad and duplicate emails are reported, never
 * sent), find the eGift campaign and the group, pre-check the whole batch against the guard (the
 * total must fit the caps, else stop before sending anything — unless `partial`), then send each
 * through the limiter and report per recipient. Recipients already gifted within the policy's
 * frequency window are skipped. Attendees live in the run's item table, not in context, so a batch
 * of any size persists cheaply and resumes where it stopped.
 */
import { assign, setup } from 'xstate';
import { messageOf, namedActor, usd } from './named-actor.js';
import type { CampaignFound, GroupFound } from './shared-types.js';

export const WEBINAR_EGIFT_BATCH_VERSION = 1;

export interface WebinarBatchInput {
  readonly campaign: string;
  readonly group: string;
  readonly csvPath: string;
  readonly partial: boolean;
  readonly message?: string | undefined;
  readonly dryRun?: boolean | undefined;
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
  readonly costPerSendCents: number;
  /** Why not all fit (policy sentences). */
  readonly reasons: readonly string[];
}

export interface BatchProgress {
  readonly sent: number;
  readonly pendingApproval: number;
  readonly failed: number;
  readonly unknown: number;
  readonly skipped: number;
}

export interface WebinarBatchOutput {
  readonly status: 'done' | 'failed' | 'cancelled' | 'dry_run';
  readonly summary: string;
  readonly loaded?: AttendeesLoaded | undefined;
  readonly precheck?: BatchPrecheck | undefined;
  readonly progress?: BatchProgress | undefined;
}

interface BatchContext {
  readonly input: WebinarBatchInput;
  readonly loaded?: AttendeesLoaded;
  readonly campaign?: CampaignFound;
  readonly group?: GroupFound;
  readonly precheck?: BatchPrecheck;
  readonly progress?: BatchProgress;
  readonly error?: string;
  readonly status?: WebinarBatchOutput['status'];
}

function summarize(context: BatchContext): string {
  const { loaded, precheck, progress, campaign, group } = context;
  if (context.status === 'failed') return context.error ?? 'The batch failed.';
  if (context.status === 'cancelled') return `The batch was cancelled${progress ? ` after ${progress.sent} sends` : ''}; nothing more will be sent.`;
  const rejected = (loaded?.invalid.length ?? 0) + (loaded?.duplicates.length ?? 0);
  const head = `${loaded?.valid ?? 0} valid attendee(s)${rejected ? `, ${rejected} row(s) rejected` : ''}; ${campaign?.name} from ${group?.name}.`;
  if (context.status === 'dry_run') {
    return `${head} Dry run: ${precheck?.fits ?? 0} of ${precheck?.toSend ?? 0} would be sent now (${usd((precheck?.fits ?? 0) * (precheck?.costPerSendCents ?? 0))}); ${precheck?.skipped ?? 0} already gifted.`;
  }
  return `${head} Sent ${progress?.sent ?? 0}, waiting for approval ${progress?.pendingApproval ?? 0}, failed ${progress?.failed ?? 0}, being checked ${progress?.unknown ?? 0}, skipped as already gifted ${progress?.skipped ?? 0}.`;
}

export const webinarEgiftBatchMachine = setup({
  types: {
    context: {} as BatchContext,
    input: {} as WebinarBatchInput,
    output: {} as WebinarBatchOutput,
    events: {} as { type: 'run.cancel' },
  },
  actors: {
    loadAttendees: namedActor<AttendeesLoaded, { csvPath: string }>('loadAttendees'),
    findCampaign: namedActor<CampaignFound, { name: string; deliveryType: 'mail' | 'email' | 'any' }>('findCampaign'),
    findGroup: namedActor<GroupFound, { name: string }>('findGroup'),
    precheckBatch: namedActor<BatchPrecheck, { group: GroupFound; campaign: CampaignFound }>('precheckBatch'),
    sendBatch: namedActor<BatchProgress, { group: GroupFound; campaign: CampaignFound; limit: number; message?: string | undefined }>('sendBatch'),
  },
  guards: {
    noneValid: ({ event }) => (event as unknown as { output: AttendeesLoaded }).output.valid === 0,
    overCaps: ({ context, event }) => {
      const check = (event as unknown as { output: BatchPrecheck }).output;
      return check.fits < check.toSend && !context.input.partial;
    },
    dryRun: ({ context }) => context.input.dryRun === true,
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
            guard: 'noneValid',
            target: 'failed',
            actions: assign({ loaded: ({ event }) => event.output, error: ({ event }) => `No valid attendee rows in the CSV (${event.output.invalid.length} invalid, ${event.output.duplicates.length} duplicates); nothing was sent.` }),
          },
          { target: 'findingCampaign', actions: assign({ loaded: ({ event }) => event.output }) },
        ],
        onError: { target: 'failed', actions: assign({ error: ({ event }) => messageOf(event.error) }) },
      },
    },
    findingCampaign: {
      invoke: {
        src: 'findCampaign',
        input: ({ context }) => ({ name: context.input.campaign, deliveryType: 'email' as const }),
        onDone: { target: 'findingGroup', actions: assign({ campaign: ({ event }) => event.output }) },
        onError: { target: 'failed', actions: assign({ error: ({ event }) => messageOf(event.error) }) },
      },
    },
    findingGroup: {
      invoke: {
        src: 'findGroup',
        input: ({ context }) => ({ name: context.input.group }),
        onDone: { target: 'prechecking', actions: assign({ group: ({ event }) => event.output }) },
        onError: { target: 'failed', actions: assign({ error: ({ event }) => messageOf(event.error) }) },
      },
    },
    prechecking: {
      invoke: {
        src: 'precheckBatch',
        input: ({ context }) => ({ group: context.group!, campaign: context.campaign! }),
        onDone: [
          {
            guard: 'overCaps',
            target: 'failed',
            actions: assign({
              precheck: ({ event }) => event.output,
              error: ({ event }) =>
                `The batch does not fit the spend policy: only ${event.output.fits} of ${event.output.toSend} sends fit right now. ${event.output.reasons.join(' ')} Nothing was sent; use --partial to send the ${event.output.fits} that fit.`,
            }),
          },
          { guard: 'dryRun', target: 'dryRun', actions: assign({ precheck: ({ event }) => event.output }) },
          { target: 'sending', actions: assign({ precheck: ({ event }) => event.output }) },
        ],
        onError: { target: 'failed', actions: assign({ error: ({ event }) => messageOf(event.error) }) },
      },
    },
    sending: {
      invoke: {
        src: 'sendBatch',
        input: ({ context }) => ({
          group: context.group!,
          campaign: context.campaign!,
          limit: context.input.partial ? context.precheck!.fits : context.precheck!.toSend,
          message: context.input.message,
        }),
        onDone: { target: 'done', actions: assign({ progress: ({ event }) => event.output }) },
        onError: { target: 'failed', actions: assign({ error: ({ event }) => messageOf(event.error) }) },
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
