/**
 * @module Runs workflows: creates or restores the XState actor, provides its named actors,
 * persists the snapshot after every step (and logs each state it enters), and reports when a run
 * has finished or is waiting for a person. A restored actor restarts the promise actor of the state
 * it was in; those actors consult the ledger first (idempotency keys), so no effect repeats.
 *
 * A run is driven by whoever holds its lease (run-lease.ts): the process that started or claimed
 * it renews the leases of every run it drives, and lets each go when the run finishes, pauses or
 * the process stops. Any instance takes over a run whose lease ran out (`resumeUnfinished`); the
 * one that lost it stops driving it at its next renewal or save, and its late saves are refused.
 */
import { createActor } from 'xstate';
import type { ContextFrom, InputFrom, Snapshot, StateValue, Subscription } from 'xstate';
import { GiftingError } from '../domain/index.js';
import type { CancelTimer, Clock } from '../domain/index.js';
import type { Delivery, Settlement } from '../guard/index.js';
import type { Logger } from '../log/index.js';
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
import { RUN_LEASE_MS, RUN_LEASE_RENEW_MS, newOwnerId } from './run-lease.js';
import { FINISHED } from './run-store.js';
import type { ItemSettlement, RunRecord, RunStatus, RunStore, RunUpdate } from './run-store.js';
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
  /** This process's owner id for run leases (default: a new `host:pid:random`). */
  readonly owner?: string;
  /** How long a lease holds without renewal (default {@link RUN_LEASE_MS}). */
  readonly leaseMs?: number;
  /** How often this process renews its leases (default {@link RUN_LEASE_RENEW_MS}); well under `leaseMs`. */
  readonly renewMs?: number;
  /**
   * Whether a lease holder is known to be gone before its lease runs out, so its runs are taken
   * over at once (SQLite: a dead process of this host). By default none is: leases run out.
   */
  readonly ownerGone?: (owner: string) => boolean;
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
  const waitedOn = await store.get(id);
  const run = await store.cancel(id, by, now);
  const approvalId = waitedOn && approvalWaitedOn(waitedOn);
  const withdrawn = approvalId !== undefined && withdraw !== undefined && (await withdraw(approvalId, by, `run ${id} was cancelled`));
  return withdrawn ? { run, withdrawn: approvalId } : { run };
}

/** A run this process drives: its actor, and how to end it here (finished, or its lease lost). */
interface ActiveRun {
  readonly actor: Pick<RunActor<unknown>, 'send' | 'stop'>;
  /** The run is over here: its lease is let go, its handle settles. */
  readonly finish: () => Promise<void>;
  /** Another instance holds the run now: stop at once, let nothing go, write nothing more. */
  readonly lose: () => void;
}

/** Starts, restores, cancels and lists runs. */
export class Orchestrator {
  private readonly active = new Map<string, ActiveRun>();
  private readonly log: Logger;
  /** This process's id in run leases. */
  readonly owner: string;
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private renewal: CancelTimer | undefined;

  constructor(private readonly options: OrchestratorOptions) {
    this.log = options.logger.child({ module: 'orchestrator' });
    this.owner = options.owner ?? newOwnerId();
    this.leaseMs = options.leaseMs ?? RUN_LEASE_MS;
    this.renewMs = options.renewMs ?? RUN_LEASE_RENEW_MS;
    if (this.renewMs >= this.leaseMs) throw new Error(`giftguard: run leases must be renewed (every ${this.renewMs} ms) more often than they last (${this.leaseMs} ms)`);
  }

  /**
   * Starts a new run of `workflow`, held by this process. `origin` says where it was asked for (a
   * Slack channel), so news that comes later — a delivery — can be told there.
   */
  async start<W extends WorkflowName>(workflow: W, input: InputOf<W>, listeners: RunListeners = {}, origin?: Record<string, unknown>): Promise<RunHandle> {
    const { store, clock } = this.options;
    const definition = WORKFLOWS[workflow];
    const run = await store.create(workflow, definition.version, input, clock.now(), { owner: this.owner, until: clock.now() + this.leaseMs });
    await store.event(run.id, 'started', { workflow, input, ...(origin && { origin }) }, clock.now());
    return this.launch(workflow, run, { input }, listeners);
  }

  /**
   * Continues a run from its last persisted snapshot; an incomplete batch starts a new round of
   * retries for exactly its open rows. `by` (a console identity) is recorded in the run's log.
   * Refused while another process's lease holds the run.
   */
  async resume(id: string, listeners: RunListeners = {}, by?: string): Promise<RunHandle> {
    const { store, clock } = this.options;
    const run = await store.get(id);
    if (!run) throw new GiftingError('not_found', `No run ${id}; see giftguard runs list`);
    if (FINISHED.includes(run.status)) throw new GiftingError('bad_request', `Run ${id} is ${run.status}; there is nothing to resume.`);
    if (this.active.has(id)) throw new GiftingError('bad_request', `Run ${id} is already running in this process.`);
    const gone = run.owner !== null && run.owner !== this.owner && (this.options.ownerGone?.(run.owner) ?? false);
    if (!(await store.claim(id, this.owner, clock.now(), this.leaseMs, gone ? run.owner! : undefined))) {
      const holder = (await store.get(id)) ?? run;
      const until = holder.leaseUntil === null ? '' : ` (its lease runs until ${new Date(holder.leaseUntil).toISOString()}, then any instance may take it over)`;
      throw new GiftingError('bad_request', `Run ${id} is being run by ${holder.owner ?? 'another process'}${until}; resume it there or stop that process first.`);
    }
    const workflow = run.workflow;
    if (!isWorkflowName(workflow) || run.machineVersion !== WORKFLOWS[workflow].version) {
      const unusable = isWorkflowName(workflow)
        ? `it was made by version ${run.machineVersion} of the ${workflow} workflow and this giftguard has version ${WORKFLOWS[workflow].version}`
        : `it is of an unknown workflow "${workflow}"`;
      // Said once and recorded: a run no giftguard here can continue is over, not retried at every start.
      const reason = `Run ${id} cannot be resumed: ${unusable}.`;
      await store.save(id, { status: 'failed', state: run.state ?? 'unknown', snapshot: run.snapshot, summary: reason }, clock.now(), this.owner);
      await store.release(id, this.owner);
      throw new GiftingError('bad_request', reason);
    }
    const now = clock.now();
    await store.event(id, 'resumed', { pid: process.pid, owner: this.owner, ...(by !== undefined && { by }), ...(run.owner !== null && run.owner !== this.owner && { from: run.owner }) }, now);
    // An operator watching several instances sees in each log which runs moved to it, and from whom.
    if (run.owner !== null && run.owner !== this.owner) this.log.info({ runId: id, workflow, from: run.owner, status: run.status }, 'took over a run from another process');
    // The store keeps runs as JSON, whatever their workflow: `start` wrote this input and this
    // snapshot for this workflow, at the machine version just checked, so they are restored as its.
    const input = run.input as InputOf<typeof workflow>;
    const from = run.snapshot ? { input, snapshot: run.snapshot as Snapshot<unknown> } : { input };
    return this.launch(workflow, run, from, listeners, run.status === 'incomplete' ? now : undefined);
  }

  /**
   * Takes over every run that is running or waiting and that nobody holds — its lease let go (a
   * CLI that started a run and returned while it waits for a person) or run out (an instance that
   * died or stalled), on any host. `serve` calls this at start and every few seconds, so such runs
   * finish without a restart. Of several instances looking at once, the claim lets one have each run.
   */
  async resumeUnfinished(listeners: RunListeners = {}): Promise<RunHandle[]> {
    const handles: RunHandle[] = [];
    const now = this.options.clock.now();
    for (const run of await this.options.store.unfinished()) {
      if (this.active.has(run.id)) continue;
      const free = run.owner === null || run.owner === this.owner || (run.leaseUntil ?? 0) <= now || (this.options.ownerGone?.(run.owner) ?? false);
      if (!free) continue;
      try {
        handles.push(await this.resume(run.id, listeners));
      } catch (error) {
        // Another instance claiming it first is the usual reason, and no fault.
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
  async recordDeliveries(deliveries: readonly Delivery[]): Promise<string[]> {
    const { store, clock } = this.options;
    const told = new Set<string>();
    for (const d of deliveries) {
      if (!d.runId || !d.milestone) continue;
      const run = await store.get(d.runId);
      if (!run) continue;
      await store.event(run.id, 'delivery', { status: d.status, at: d.at, milestone: d.milestone.words, problem: d.milestone.problem, recipient: d.recipient, campaign: d.touchName }, clock.now());
      if (run.workflow === 'abm' && FINISHED.includes(run.status) && run.summary) {
        const day = new Date(d.at).toISOString().slice(0, 10);
        const sentence = `${d.milestone.words[0]!.toUpperCase()}${d.milestone.words.slice(1)} on ${day}.`;
        if (!run.summary.includes(sentence)) await store.setOutcome(run.id, run.status, run.output, `${run.summary} ${sentence}`, clock.now());
      }
      told.add(run.id);
    }
    return [...told];
  }

  /** Where a run was asked for (e.g. a Slack channel), as its trigger recorded it at start. */
  async origin(runId: string): Promise<Record<string, unknown> | undefined> {
    const started = (await this.options.store.events(runId)).find((e) => e.type === 'started');
    return (started?.data as { origin?: Record<string, unknown> } | undefined)?.origin;
  }

  /** Outcomes that became known later reach the rows that carried them (see {@link settleRunItems}). */
  applySettlements(settlements: readonly Settlement[]): Promise<void> {
    return settleRunItems(this.options.store, settlements, this.options.clock, (id) => this.active.has(id));
  }

  /** Cancels a run (see cancelRun); one this process drives stops at once. */
  async cancel(id: string, by = 'orchestrator'): Promise<RunRecord> {
    const { run } = await cancelRun(this.options.store, id, by, this.options.clock.now(), this.options.guard && ((approvalId, who, reason) => this.options.guard!.withdrawApproval(approvalId, who, reason)));
    this.active.get(id)?.actor.send({ type: 'run.cancel' });
    return run;
  }

  /**
   * Stops actors in this process without changing their runs' status (shutdown) and lets their
   * leases go, so another instance resumes them at once rather than when the leases run out.
   */
  async stop(): Promise<void> {
    this.renewal?.();
    this.renewal = undefined;
    const running = [...this.active.values()];
    for (const { actor } of running) actor.stop();
    await Promise.all(running.map(({ finish }) => finish()));
    this.active.clear();
  }

  /** Renews this process's leases every `renewMs` while it drives any run. */
  private keepLeases(): void {
    if (this.renewal || this.active.size === 0) return;
    this.renewal = this.options.clock.setTimer(this.renewMs, () => {
      this.renewal = undefined;
      void this.renewLeases().finally(() => this.keepLeases());
    });
  }

  private async renewLeases(): Promise<void> {
    const ids = [...this.active.keys()];
    if (ids.length === 0) return;
    try {
      const held = new Set(await this.options.store.renew(ids, this.owner, this.options.clock.now(), this.leaseMs));
      for (const id of ids) if (!held.has(id)) this.active.get(id)?.lose();
    } catch (error) {
      // The store is unreachable: keep driving (a save will tell if the lease was lost) and try again.
      this.log.warn({ err: error }, 'could not renew run leases');
    }
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
    const owner = this.owner;
    const definition: WorkflowDefinition<W> = WORKFLOWS[workflow];
    /** Set once another instance holds the run: this process sends and writes nothing more for it. */
    let lost = false;
    // Asked before every send: the status and owner columns alone, not the run's snapshot. A run
    // another instance holds now (this process stalled past its lease) is given up before it
    // sends again; a send already in flight is kept single by its idempotency key in the ledger.
    const isCancelled = async () => {
      const holder = await store.holder(run.id);
      if (holder && holder.owner !== owner) entry.lose();
      return lost || holder?.status === 'cancelled';
    };
    const guard = this.options.guard;
    const actor = definition.actor(
      {
        runId: run.id,
        tools: this.options.tools,
        guard: this.options.guard,
        store,
        clock,
        logger: this.log,
        cancelled: async () => {
          if (lost) return true;
          const cancelled = await isCancelled();
          if (cancelled && !lost) queueMicrotask(() => actor.send({ type: 'run.cancel' }));
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
    /** The run as last written here: what a handle settles with if the store cannot be read. */
    let last: RunRecord = run;
    const current = async () => (await store.get(run.id).catch(() => undefined)) ?? last;
    let isSettled = false;
    const settle = async () => {
      if (isSettled) return;
      isSettled = true;
      resolveSettled(await current());
    };
    let isFinished = false;
    const end = async (release: boolean) => {
      if (isFinished) return;
      isFinished = true;
      if (this.active.get(run.id) === entry) this.active.delete(run.id);
      if (release) await store.release(run.id, owner).catch((error: unknown) => this.log.warn({ runId: run.id, err: error }, 'could not let a run go; its lease runs out instead'));
      await settle();
      resolveFinished(await current());
    };
    // The actor reports each step synchronously; the store is async. Steps are written one after
    // another, in order, so the stored snapshot and event log never go back in time.
    let writes: Promise<void> = Promise.resolve();
    const write = (work: () => Promise<void>) => {
      writes = writes.then(async () => {
        if (lost) return;
        try {
          await work();
        } catch (error) {
          // The store failed: stop driving the run here. Its lease runs out and an instance that
          // can reach the store continues it from the last snapshot written.
          this.log.error({ runId: run.id, err: error }, 'could not record a run step; this process stops driving the run');
          lost = true;
          actor.stop();
          await end(false);
        }
      });
    };
    const save = async (update: RunUpdate, now: number) => {
      if (await store.save(run.id, update, now, owner)) {
        last = { ...last, status: update.status, state: update.state, summary: update.summary ?? last.summary, updatedAt: now };
        return true;
      }
      entry.lose();
      return false;
    };
    const entry: ActiveRun = {
      actor,
      // After the steps already reported are written: letting the lease go first would fence them out.
      finish: async () => {
        await writes;
        await end(true);
      },
      lose: () => {
        if (lost || isFinished) return;
        lost = true;
        this.log.warn({ runId: run.id }, 'another instance took this run over (its lease ran out here); this process stops driving it');
        actor.stop();
        void end(false);
      },
    };
    this.active.set(run.id, entry);
    this.keepLeases();
    {
      let lastState: string | undefined;
      actor.subscribe({
        next: (snap) => {
          // What the step was, read now: the write below runs later, when the actor may have moved on.
          const state = typeof snap.value === 'string' ? snap.value : JSON.stringify(snap.value);
          const snapshot = actor.getPersistedSnapshot();
          const done = snap.status === 'done';
          const output = snap.output;
          const paused = definition.paused[state];
          const pausedSummary = paused && definition.pausedSummary ? definition.pausedSummary(snap.context) : undefined;
          const approvalId = definition.approvalOf?.(snap.context);
          const resuming = resumeAt !== undefined;
          write(async () => {
            const now = clock.now();
            // A cancel recorded by another process wins over whatever the machine did next.
            const cancelled = await isCancelled();
            const status: RunStatus = done ? (cancelled ? 'cancelled' : finishedStatus(output)) : cancelled ? 'cancelled' : (paused ?? 'running');
            const update: RunUpdate = {
              status,
              state,
              snapshot,
              ...(done && { output, summary: output?.summary ?? null }),
              ...(pausedSummary !== undefined && { summary: pausedSummary }),
            };
            if (!(await save(update, now))) return;
            if (state !== lastState) {
              await store.event(run.id, 'state', { state }, now);
              lastState = state;
            }
            if (done) {
              await store.event(run.id, 'finished', { status }, now);
              await end(true);
            } else if (status === 'incomplete' && !resuming) {
              // Nothing more happens until someone resumes it: this process lets it go.
              actor.stop();
              await end(true);
            } else if (status === 'waiting') {
              // Settle only while the person has not answered yet: a restored run whose approval was
              // already given finishes in a moment, and saying "nothing sent yet" would be false.
              if (!approvalId || !guard) await settle();
              else void guard.approval(approvalId).then((a) => (a === undefined || a.status === 'pending' ? settle() : undefined), () => settle());
            }
          });
        },
        error: (error: unknown) => {
          // One line: the run's summary is what the CLI prints and what Slack shows.
          const message = (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
          this.log.error({ runId: run.id, err: error }, 'run failed');
          write(async () => {
            if (!(await save({ status: 'failed', state: 'error', snapshot: null, summary: message }, clock.now()))) return;
            await store.event(run.id, 'error', { message }, clock.now());
            await end(true);
          });
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
export async function settleRunItems(store: RunStore, settlements: readonly Settlement[], clock: Clock, isActive: (runId: string) => boolean = () => false): Promise<void> {
  if (settlements.length === 0) return;
  const rows = settlements.map((s): ItemSettlement => ({ ref: s.ref, status: s.outcome === 'sent' ? 'sent' : s.outcome === 'refused' ? 'refused' : 'retry', detail: s.detail }));
  for (const id of await store.settleItems(rows)) {
    const run = await store.get(id);
    if (!run || run.workflow !== 'batch' || isActive(id) || (run.status !== 'done' && run.status !== 'incomplete')) continue;
    const output = (run.output ?? (run.snapshot as { context?: BatchContext } | null)?.context ?? {}) as BatchContext;
    const progress = batchProgress(await store.itemCounts(id));
    const status = progress.retrying + progress.unknown > 0 ? 'incomplete' : 'done';
    const input = run.input as { campaign?: string; group?: string };
    const summary = batchSummary({ status, progress, precheck: output.precheck, loaded: output.loaded, campaign: output.campaign?.name ?? input.campaign, group: output.group?.name ?? input.group });
    await store.setOutcome(id, status, { ...output, status, summary, progress }, summary, clock.now());
    await store.event(id, 'settled', { progress }, clock.now());
  }
}
