/**
 * @module Runs workflows: creates or restores the XState actor, provides its named actors,
 * persists the snapshot after every step (and logs each state it enters), and reports when a run
 * has finished or is waiting for a person. A restored actor restarts the promise actor of the state
 * it was in; those actors consult the ledger first (idempotency keys), so no effect repeats.
 */
import { createActor } from 'xstate';
import type { ContextFrom, InputFrom, Snapshot, StateValue, Subscription } from 'xstate';
import { GiftingError } from '../domain/index.js';
import type { Clock } from '../domain/index.js';
import type { Delivery, Settlement } from '../guard/index.js';
import type { Logger } from '../log/index.js';
import { processAlive } from '../storage/index.js';
import {
  ABM_SEND_VERSION,
  ONBOARDING_AUDIT_VERSION,
  WEBINAR_EGIFT_BATCH_VERSION,
  abmSendMachine,
  batchSummary,
  onboardingAuditMachine,
  webinarEgiftBatchMachine,
} from '../../workflows/index.js';
import type { BatchProgress } from '../../workflows/index.js';
import { batchProgress, workflowActors } from './actors.js';
import type { ActorDeps } from './actors.js';
import type { GuardView } from './guard-view.js';
import { FINISHED } from './run-store.js';
import type { ItemSettlement, RunRecord, RunStatus, RunStore } from './run-store.js';
import type { ToolClient } from './tool-client.js';

/** Each workflow's machine, by the name runs are started and stored under. */
interface Machines {
  readonly abm: typeof abmSendMachine;
  readonly audit: typeof onboardingAuditMachine;
  readonly batch: typeof webinarEgiftBatchMachine;
}

export type WorkflowName = keyof Machines;

/** What a workflow is started with: its machine's declared input. */
export type InputOf<W extends WorkflowName> = InputFrom<Machines[W]>;

type ContextOf<W extends WorkflowName> = ContextFrom<Machines[W]>;

/**
 * The events the run loop sends: every machine takes `run.cancel`; only the batch takes
 * `run.resume`, and only a batch is ever paused as incomplete, the one state it is sent in.
 */
type RunEvent = { readonly type: 'run.cancel' } | { readonly type: 'run.resume'; readonly at: number };

/**
 * A run's actor as the run loop drives it, whichever its workflow: an XState actor of the
 * workflow's machine has this shape, with its snapshots' context typed as that machine's.
 */
interface RunActor<TContext> {
  start(): void;
  stop(): void;
  send(event: RunEvent): void;
  getPersistedSnapshot(): Snapshot<unknown>;
  subscribe(observer: { next: (snapshot: RunSnapshot<TContext>) => void; error: (error: unknown) => void }): Subscription;
}

/** What the run loop reads of a snapshot. Every workflow's output has a status and a summary. */
interface RunSnapshot<TContext> {
  readonly status: 'active' | 'done' | 'error' | 'stopped';
  readonly value: StateValue;
  readonly context: TContext;
  readonly output?: { readonly status: string; readonly summary: string } | undefined;
}

/**
 * How a run's actor begins: from the workflow's input or, when resumed, from its persisted
 * snapshot (XState then takes the context from the snapshot, not the input).
 */
interface RunStart<W extends WorkflowName> {
  readonly input: InputOf<W>;
  readonly snapshot?: Snapshot<unknown>;
}

interface WorkflowDefinition<W extends WorkflowName> {
  readonly version: number;
  /** States in which the run is paused rather than working, and the run status each one means. */
  readonly paused: Readonly<Record<string, 'waiting' | 'incomplete'>>;
  /** The approval a waiting run waits for, read from the machine's context. */
  readonly approvalOf?: (context: ContextOf<W>) => string | undefined;
  /** The run's summary while paused (a final state's summary comes from the machine's output). */
  readonly pausedSummary?: (context: ContextOf<W>) => string;
  /** The run's actor: the workflow's machine with its named actors bound to the run. */
  readonly actor: (deps: ActorDeps, from: RunStart<W>) => RunActor<ContextOf<W>>;
}

/** A batch run's context as its summary needs it (also read back from a stored output or snapshot). */
type BatchContext = Partial<Pick<ContextOf<'batch'>, 'progress' | 'precheck' | 'loaded' | 'campaign' | 'group'>>;

function pausedBatchSummary(context: BatchContext): string {
  return batchSummary({ status: 'incomplete', progress: context.progress, precheck: context.precheck, loaded: context.loaded, campaign: context.campaign?.name, group: context.group?.name });
}

// Each `actor` provides its own machine, so `provide` checks the implementations against the
// actors that machine declares, and `createActor` the input against the input it declares.
export const WORKFLOWS: { readonly [W in WorkflowName]: WorkflowDefinition<W> } = {
  abm: {
    version: ABM_SEND_VERSION,
    paused: { awaitingApproval: 'waiting' },
    approvalOf: (context) => context.send?.approvalId,
    actor: (deps, from) => createActor(abmSendMachine.provide({ actors: workflowActors(deps) }), from),
  },
  audit: {
    version: ONBOARDING_AUDIT_VERSION,
    paused: {},
    actor: (deps, from) => createActor(onboardingAuditMachine.provide({ actors: workflowActors(deps) }), from),
  },
  batch: {
    version: WEBINAR_EGIFT_BATCH_VERSION,
    paused: { incomplete: 'incomplete' },
    pausedSummary: pausedBatchSummary,
    actor: (deps, from) => createActor(webinarEgiftBatchMachine.provide({ actors: workflowActors(deps) }), from),
  },
};

/** Whether a stored run's workflow is one this giftguard knows. */
function isWorkflowName(name: string): name is WorkflowName {
  return Object.hasOwn(WORKFLOWS, name);
}

export interface OrchestratorOptions {
  readonly store: RunStore;
  readonly tools: ToolClient;
  readonly guard: GuardView | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly pollMs?: number;
  readonly batchConcurrency?: number;
  /** A batch sends each recipient at most one gift of its campaign within this window. */
  readonly batchWindowMs?: number;
  /** Whether a process id is alive (runs owned by live processes are not taken over). */
  readonly isAlive?: (pid: number) => boolean;
}

export interface RunListeners {
  readonly onProgress?: (progress: BatchProgress & { total: number }) => void;
}

/** A started run. */
export interface RunHandle {
  readonly id: string;
  /** Settles when the run finishes or starts waiting for a person (what a CLI waits for). */
  readonly settled: Promise<RunRecord>;
  /** Settles when the run finishes (or this process stops driving it). */
  readonly finished: Promise<RunRecord>;
}

/** What the machine's output says, as a run status. */
function finishedStatus(output: { readonly status: string } | undefined): RunStatus {
  switch (output?.status) {
    case 'sent':
    case 'done':
      return 'done';
    case 'dry_run':
      return 'dry_run';
    case 'incomplete':
      return 'incomplete';
    case 'cancelled':
      return 'cancelled';
    case 'outcome_unknown':
      return 'outcome_unknown';
    default:
      return 'failed';
  }
}

function approvalOfContext<W extends WorkflowName>(workflow: W, context: unknown): string | undefined {
  const definition: WorkflowDefinition<W> = WORKFLOWS[workflow];
  // Stored JSON gets its type back here, as in resume: the workflow name was checked first.
  return definition.approvalOf?.(context as ContextOf<W>);
}

/** The approval request a stored run waits on a person for, if any (ABM sends wait for one). */
function approvalWaitedOn(run: RunRecord): string | undefined {
  if (run.status !== 'waiting' || !isWorkflowName(run.workflow)) return undefined;
  const context = (run.snapshot as { context?: unknown } | null)?.context;
  return context === undefined ? undefined : approvalOfContext(run.workflow, context);
}

/**
 * Cancels a run: nothing more is sent; a run active in another process stops at its next check. A
 * request it was waiting on a person for is withdrawn with it, so approving that request later
 * cannot send a gift for a cancelled run. The one way to cancel, for the orchestrator and for a
 * CLI that has no Sendoso connection.
 */
export async function cancelRun(
  store: RunStore,
  id: string,
  by: string,
  now: number,
  withdraw: ((approvalId: string, by: string, reason: string) => Promise<boolean>) | undefined,
): Promise<{ readonly run: RunRecord; readonly withdrawn?: string }> {
  const waitedOn = store.get(id);
  const run = store.cancel(id, by, now);
  const approvalId = waitedOn && approvalWaitedOn(waitedOn);
  const withdrawn = approvalId !== undefined && withdraw !== undefined && (await withdraw(approvalId, by, `run ${id} was cancelled`));
  return withdrawn ? { run, withdrawn: approvalId } : { run };
}

/** Starts, restores, cancels and lists runs. */
export class Orchestrator {
  private readonly active = new Map<string, { actor: Pick<RunActor<unknown>, 'send' | 'stop'>; finish: () => void }>();
  private readonly log: Logger;

  constructor(private readonly options: OrchestratorOptions) {
    this.log = options.logger.child({ module: 'orchestrator' });
  }

  /**
   * Starts a new run of `workflow`. `origin` says where it was asked for (a Slack channel), so
   * news that comes later — a delivery — can be told there.
   */
  start<W extends WorkflowName>(workflow: W, input: InputOf<W>, listeners: RunListeners = {}, origin?: Record<string, unknown>): RunHandle {
    const definition = WORKFLOWS[workflow];
    const run = this.options.store.create(workflow, definition.version, input, this.options.clock.now());
    this.options.store.event(run.id, 'started', { workflow, input, ...(origin && { origin }) }, this.options.clock.now());
    return this.launch(workflow, run, { input }, listeners);
  }

  /**
   * Continues a run from its last persisted snapshot; an incomplete batch starts a new round of
   * retries for exactly its open rows. `by` (a console identity) is recorded in the run's log.
   */
  resume(id: string, listeners: RunListeners = {}, by?: string): RunHandle {
    const run = this.options.store.get(id);
    if (!run) throw new GiftingError('not_found', `No run ${id}; see giftguard runs list`);
    if (FINISHED.includes(run.status)) throw new GiftingError('bad_request', `Run ${id} is ${run.status}; there is nothing to resume.`);
    if (this.active.has(id)) throw new GiftingError('bad_request', `Run ${id} is already running in this process.`);
    if (!this.options.store.claim(id, this.options.isAlive ?? processAlive)) {
      throw new GiftingError('bad_request', `Run ${id} is being run by process ${run.ownerPid}; resume it there or stop that process first.`);
    }
    const workflow = run.workflow;
    if (!isWorkflowName(workflow) || run.machineVersion !== WORKFLOWS[workflow].version) {
      const unusable = isWorkflowName(workflow)
        ? `it was made by version ${run.machineVersion} of the ${workflow} workflow and this giftguard has version ${WORKFLOWS[workflow].version}`
        : `it is of an unknown workflow "${workflow}"`;
      // Said once and recorded: a run no giftguard here can continue is over, not retried at every start.
      const reason = `Run ${id} cannot be resumed: ${unusable}.`;
      this.options.store.save(id, { status: 'failed', state: run.state ?? 'unknown', snapshot: run.snapshot, summary: reason }, this.options.clock.now());
      this.options.store.release(id);
      throw new GiftingError('bad_request', reason);
    }
    const now = this.options.clock.now();
    this.options.store.event(id, 'resumed', { pid: process.pid, ...(by !== undefined && { by }) }, now);
    // The store keeps runs as JSON, whatever their workflow: `start` wrote this input and this
    // snapshot for this workflow, at the machine version just checked, so they are restored as its.
    const input = run.input as InputOf<typeof workflow>;
    const from = run.snapshot ? { input, snapshot: run.snapshot as Snapshot<unknown> } : { input };
    return this.launch(workflow, run, from, listeners, run.status === 'incomplete' ? now : undefined);
  }

  /**
   * Takes over every run that is running or waiting and that no live process drives — left by a
   * stopped process, or by a CLI that started a run and returned while it waits for a person.
   * `serve` calls this at start and every few seconds, so such runs finish without a restart.
   */
  resumeUnfinished(listeners: RunListeners = {}): RunHandle[] {
    const handles: RunHandle[] = [];
    const isAlive = this.options.isAlive ?? processAlive;
    for (const run of this.options.store.unfinished()) {
      if (this.active.has(run.id) || (run.ownerPid !== null && run.ownerPid !== process.pid && isAlive(run.ownerPid))) continue;
      try {
        handles.push(this.resume(run.id, listeners));
      } catch (error) {
        this.log.warn({ runId: run.id, err: error }, 'could not resume run');
      }
    }
    return handles;
  }

  /**
   * News of sends after they went out (Sendoso's webhooks): each run that asked hears of it in its
   * event log, and a finished single-send run's summary grows by the milestone — "Address
   * confirmed on …", "Delivered on …", or a problem to act on. Returns the runs told.
   */
  recordDeliveries(deliveries: readonly Delivery[]): string[] {
    const { store, clock } = this.options;
    const told = new Set<string>();
    for (const d of deliveries) {
      if (!d.runId || !d.milestone) continue;
      const run = store.get(d.runId);
      if (!run) continue;
      store.event(run.id, 'delivery', { status: d.status, at: d.at, milestone: d.milestone.words, problem: d.milestone.problem, recipient: d.recipient, campaign: d.touchName }, clock.now());
      if (run.workflow === 'abm' && FINISHED.includes(run.status) && run.summary) {
        const day = new Date(d.at).toISOString().slice(0, 10);
        const sentence = `${d.milestone.words[0]!.toUpperCase()}${d.milestone.words.slice(1)} on ${day}.`;
        if (!run.summary.includes(sentence)) store.setOutcome(run.id, run.status, run.output, `${run.summary} ${sentence}`, clock.now());
      }
      told.add(run.id);
    }
    return [...told];
  }

  /** Where a run was asked for (e.g. a Slack channel), as its trigger recorded it at start. */
  origin(runId: string): Record<string, unknown> | undefined {
    const started = this.options.store.events(runId).find((e) => e.type === 'started');
    return (started?.data as { origin?: Record<string, unknown> } | undefined)?.origin;
  }

  /** Outcomes that became known later reach the rows that carried them (see {@link settleRunItems}). */
  applySettlements(settlements: readonly Settlement[]): void {
    settleRunItems(this.options.store, settlements, this.options.clock, (id) => this.active.has(id));
  }

  /** Cancels a run (see cancelRun); one this process drives stops at once. */
  async cancel(id: string, by = 'orchestrator'): Promise<RunRecord> {
    const { run } = await cancelRun(this.options.store, id, by, this.options.clock.now(), this.options.guard && ((approvalId, who, reason) => this.options.guard!.withdrawApproval(approvalId, who, reason)));
    this.active.get(id)?.actor.send({ type: 'run.cancel' });
    return run;
  }

  /** Stops actors in this process without changing their runs' status (shutdown); they resume later. */
  async stop(): Promise<void> {
    for (const [id, { actor, finish }] of [...this.active]) {
      actor.stop();
      this.options.store.release(id);
      finish();
    }
    this.active.clear();
  }

  /** Runs an actor for `run`; with `resumeAt`, a paused (incomplete) run is sent `run.resume` once started. */
  private launch<W extends WorkflowName>(
    workflow: W,
    run: RunRecord,
    from: RunStart<W>,
    listeners: RunListeners,
    resumeAt?: number,
  ): RunHandle {
    const { store, clock } = this.options;
    const definition: WorkflowDefinition<W> = WORKFLOWS[workflow];
    // Asked before every send: the status column alone, not the run's snapshot.
    const isCancelled = () => store.status(run.id) === 'cancelled';
    const guard = this.options.guard;
    const actor = definition.actor(
      {
        runId: run.id,
        tools: this.options.tools,
        guard: this.options.guard,
        store,
        clock,
        logger: this.log,
        cancelled: () => {
          const cancelled = isCancelled();
          if (cancelled) queueMicrotask(() => actor.send({ type: 'run.cancel' }));
          return cancelled;
        },
        onProgress: listeners.onProgress,
        ...(this.options.pollMs !== undefined && { pollMs: this.options.pollMs }),
        ...(this.options.batchConcurrency !== undefined && { batchConcurrency: this.options.batchConcurrency }),
        ...(this.options.batchWindowMs !== undefined && { batchWindowMs: this.options.batchWindowMs }),
      },
      from,
    );
    let resolveSettled: (run: RunRecord) => void = () => {};
    let resolveFinished: (run: RunRecord) => void = () => {};
    const settled = new Promise<RunRecord>((resolve) => (resolveSettled = resolve));
    const finished = new Promise<RunRecord>((resolve) => (resolveFinished = resolve));
    let isSettled = false;
    const settle = () => {
      if (isSettled) return;
      isSettled = true;
      resolveSettled(store.get(run.id)!);
    };
    const finish = () => {
      this.active.delete(run.id);
      store.release(run.id);
      settle();
      resolveFinished(store.get(run.id)!);
    };
    this.active.set(run.id, { actor, finish });
    {
      let lastState: string | undefined;
      actor.subscribe({
        next: (snap) => {
          const state = typeof snap.value === 'string' ? snap.value : JSON.stringify(snap.value);
          const now = clock.now();
          const paused = definition.paused[state];
          // A cancel recorded by another process wins over whatever the machine did next.
          const status: RunStatus = snap.status === 'done' ? (isCancelled() ? 'cancelled' : finishedStatus(snap.output)) : isCancelled() ? 'cancelled' : (paused ?? 'running');
          store.save(
            run.id,
            {
              status,
              state,
              snapshot: actor.getPersistedSnapshot(),
              ...(snap.status === 'done' && { output: snap.output, summary: snap.output?.summary ?? null }),
              ...(paused && definition.pausedSummary && { summary: definition.pausedSummary(snap.context) }),
            },
            now,
          );
          if (state !== lastState) {
            store.event(run.id, 'state', { state }, now);
            lastState = state;
          }
          if (snap.status === 'done') {
            store.event(run.id, 'finished', { status }, now);
            finish();
          } else if (status === 'incomplete' && resumeAt === undefined) {
            // Nothing more happens until someone resumes it: this process lets it go.
            queueMicrotask(() => actor.stop());
            finish();
          } else if (status === 'waiting') {
            // Settle only while the person has not answered yet: a restored run whose approval was
            // already given finishes in a moment, and saying "nothing sent yet" would be false.
            const approvalId = definition.approvalOf?.(snap.context);
            if (!approvalId || !guard) settle();
            else void guard.approval(approvalId).then((a) => (a === undefined || a.status === 'pending' ? settle() : undefined), () => settle());
          }
        },
        error: (error: unknown) => {
          // One line: the run's summary is what the CLI prints and what Slack shows.
          const message = (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
          store.save(run.id, { status: 'failed', state: 'error', snapshot: null, summary: message }, clock.now());
          store.event(run.id, 'error', { message }, clock.now());
          this.log.error({ runId: run.id, err: error }, 'run failed');
          finish();
        },
      });
      actor.start();
      if (resumeAt !== undefined) {
        const at = resumeAt;
        resumeAt = undefined; // from here on, reaching `incomplete` again means this round is over
        actor.send({ type: 'run.resume', at });
      }
    }
    return { id: run.id, settled, finished };
  }
}

/**
 * Outcomes that became known after the fact (reconciliation, a person's answer to an approval)
 * reach the rows that carried them, whichever run owns them. A batch no process is driving (`isActive`
 * says which are) gets its counts and summary rewritten, and an incomplete batch whose last open
 * rows turned out sent is done.
 */
export function settleRunItems(store: RunStore, settlements: readonly Settlement[], clock: Clock, isActive: (runId: string) => boolean = () => false): void {
  if (settlements.length === 0) return;
  const rows = settlements.map((s): ItemSettlement => ({ ref: s.ref, status: s.outcome === 'sent' ? 'sent' : s.outcome === 'refused' ? 'refused' : 'retry', detail: s.detail }));
  for (const id of store.settleItems(rows)) {
    const run = store.get(id);
    if (!run || run.workflow !== 'batch' || isActive(id) || (run.status !== 'done' && run.status !== 'incomplete')) continue;
    const output = (run.output ?? (run.snapshot as { context?: BatchContext } | null)?.context ?? {}) as BatchContext;
    const progress = batchProgress(store.itemCounts(id));
    const status = progress.retrying + progress.unknown > 0 ? 'incomplete' : 'done';
    const input = run.input as { campaign?: string; group?: string };
    const summary = batchSummary({ status, progress, precheck: output.precheck, loaded: output.loaded, campaign: output.campaign?.name ?? input.campaign, group: output.group?.name ?? input.group });
    store.setOutcome(id, status, { ...output, status, summary, progress }, summary, clock.now());
    store.event(id, 'settled', { progress }, clock.now());
  }
}
