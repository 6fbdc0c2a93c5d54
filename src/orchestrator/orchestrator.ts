/**
 * @module Runs workflows: creates or restores the XState actor, provides its named actors,
 * persists the snapshot after every step (and logs each state it enters), and reports when a run
 * has finished or is waiting for a person. A restored actor restarts the promise actor of the state
 * it was in; those actors consult the ledger first (idempotency keys), so no effect repeats.
 */
import { createActor } from 'xstate';
import type { AnyActorRef, AnyStateMachine, Snapshot } from 'xstate';
import { GiftingError } from '../domain/index.js';
import type { Clock } from '../domain/index.js';
import type { Logger } from '../log/index.js';
import {
  ABM_SEND_VERSION,
  ONBOARDING_AUDIT_VERSION,
  WEBINAR_EGIFT_BATCH_VERSION,
  abmSendMachine,
  onboardingAuditMachine,
  webinarEgiftBatchMachine,
} from '../../workflows/index.js';
import type { BatchProgress } from '../../workflows/index.js';
import { workflowActors } from './actors.js';
import type { GuardView } from './guard-view.js';
import { FINISHED } from './run-store.js';
import type { RunRecord, RunStatus, RunStore } from './run-store.js';
import type { ToolClient } from './tool-client.js';

export type WorkflowName = 'abm' | 'audit' | 'batch';

interface WorkflowDefinition {
  readonly machine: AnyStateMachine;
  readonly version: number;
  /** States in which the run waits for a person rather than working. */
  readonly waiting: readonly string[];
}

export const WORKFLOWS: Record<WorkflowName, WorkflowDefinition> = {
  abm: { machine: abmSendMachine, version: ABM_SEND_VERSION, waiting: ['awaitingApproval'] },
  audit: { machine: onboardingAuditMachine, version: ONBOARDING_AUDIT_VERSION, waiting: [] },
  batch: { machine: webinarEgiftBatchMachine, version: WEBINAR_EGIFT_BATCH_VERSION, waiting: [] },
};

export interface OrchestratorOptions {
  readonly store: RunStore;
  readonly tools: ToolClient;
  readonly guard: GuardView | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly pollMs?: number;
  readonly batchConcurrency?: number;
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
function finishedStatus(output: unknown): RunStatus {
  const status = (output as { status?: string } | undefined)?.status;
  switch (status) {
    case 'sent':
    case 'done':
      return 'done';
    case 'dry_run':
      return 'dry_run';
    case 'cancelled':
      return 'cancelled';
    case 'outcome_unknown':
      return 'outcome_unknown';
    default:
      return 'failed';
  }
}

const defaultIsAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Starts, restores, cancels and lists runs. */
export class Orchestrator {
  private readonly active = new Map<string, { actor: AnyActorRef; finish: () => void }>();
  private readonly log: Logger;

  constructor(private readonly options: OrchestratorOptions) {
    this.log = options.logger.child({ module: 'orchestrator' });
  }

  /** Starts a new run of `workflow`. */
  start(workflow: WorkflowName, input: unknown, listeners: RunListeners = {}): RunHandle {
    const definition = WORKFLOWS[workflow];
    const run = this.options.store.create(workflow, definition.version, input, this.options.clock.now());
    this.options.store.event(run.id, 'started', { workflow, input }, this.options.clock.now());
    return this.launch(run, undefined, listeners);
  }

  /** Continues a run from its last persisted snapshot. */
  resume(id: string, listeners: RunListeners = {}): RunHandle {
    const run = this.options.store.get(id);
    if (!run) throw new GiftingError('not_found', `No run ${id}; see giftguard runs list`);
    if (FINISHED.includes(run.status)) throw new GiftingError('bad_request', `Run ${id} is ${run.status}; there is nothing to resume.`);
    if (this.active.has(id)) throw new GiftingError('bad_request', `Run ${id} is already running in this process.`);
    if (!this.options.store.claim(id, this.options.isAlive ?? defaultIsAlive)) {
      throw new GiftingError('bad_request', `Run ${id} is being run by process ${run.ownerPid}; resume it there or stop that process first.`);
    }
    const definition = WORKFLOWS[run.workflow as WorkflowName];
    if (!definition) throw new GiftingError('bad_request', `Run ${id} is of an unknown workflow "${run.workflow}".`);
    if (run.machineVersion !== definition.version) {
      throw new GiftingError('bad_request', `Run ${id} was made by version ${run.machineVersion} of the ${run.workflow} workflow; this giftguard has version ${definition.version} and cannot resume it.`);
    }
    this.options.store.event(id, 'resumed', { pid: process.pid }, this.options.clock.now());
    return this.launch(run, run.snapshot ?? undefined, listeners);
  }

  /** Resumes every unfinished run not owned by a live process; returns their ids. */
  resumeUnfinished(listeners: RunListeners = {}): RunHandle[] {
    const handles: RunHandle[] = [];
    for (const run of this.options.store.unfinished()) {
      if (this.active.has(run.id)) continue;
      try {
        handles.push(this.resume(run.id, listeners));
      } catch (error) {
        this.log.warn({ runId: run.id, err: error }, 'could not resume run');
      }
    }
    return handles;
  }

  /** Cancels a run: no further sends. A run active in another process stops at its next check. */
  cancel(id: string, by = 'orchestrator'): RunRecord {
    const run = this.options.store.cancel(id, by, this.options.clock.now());
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

  private launch(run: RunRecord, snapshot: unknown, listeners: RunListeners): RunHandle {
    const { store, clock } = this.options;
    const definition = WORKFLOWS[run.workflow as WorkflowName];
    const isCancelled = () => store.get(run.id)?.status === 'cancelled';
    const machine = definition.machine.provide({
      actors: workflowActors({
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
      }) as never,
    });
    const actor: AnyActorRef = createActor(machine, snapshot ? { snapshot: snapshot as Snapshot<unknown>, input: run.input } : { input: run.input });
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
        next: (snap: { status: string; value: unknown; output?: unknown; error?: unknown }) => {
          const state = typeof snap.value === 'string' ? snap.value : JSON.stringify(snap.value);
          const now = clock.now();
          // A cancel recorded by another process wins over whatever the machine did next.
          const status: RunStatus =
            snap.status === 'done' ? (isCancelled() ? 'cancelled' : finishedStatus(snap.output)) : definition.waiting.includes(state) ? 'waiting' : isCancelled() ? 'cancelled' : 'running';
          store.save(
            run.id,
            {
              status,
              state,
              snapshot: actor.getPersistedSnapshot(),
              ...(snap.status === 'done' && { output: snap.output, summary: (snap.output as { summary?: string } | undefined)?.summary ?? null }),
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
          } else if (status === 'waiting') {
            settle();
          }
        },
        error: (error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          store.save(run.id, { status: 'failed', state: 'error', snapshot: null, summary: message }, clock.now());
          store.event(run.id, 'error', { message }, clock.now());
          this.log.error({ runId: run.id, err: error }, 'run failed');
          finish();
        },
      });
      actor.start();
    }
    return { id: run.id, settled, finished };
  }
}
