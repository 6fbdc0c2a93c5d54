/**
 * @module Test support: lets a run go to its end on the injected clock. Whenever nothing is on
 * the wire (no request reached the sandbox for a few polls and the gateway has nothing in
 * flight), time jumps to the next timer — a pause, a backoff, a round of retries, a settle
 * window — so minutes of virtual time pass in milliseconds, and never while a request is out.
 */
import type { RunHandle, RunRecord } from '../../src/orchestrator/index.js';
import type { SandboxWithClient } from './sandbox-client.js';

export async function driveToEnd(env: SandboxWithClient, started: RunHandle | Promise<RunHandle>, options: { maxVirtualMs?: number; onTick?: () => void | Promise<void> } = {}): Promise<RunRecord> {
  const run = await started;
  let finished: RunRecord | undefined;
  void run.finished.then((r) => (finished = r));
  const start = env.clock.now();
  let seen = -1;
  let quiet = 0;
  while (!finished) {
    await new Promise((r) => setTimeout(r, 3));
    await options.onTick?.();
    const now = env.sandbox.requestLog.length;
    quiet = now === seen && env.pacer.stats().inFlight === 0 ? quiet + 1 : 0;
    seen = now;
    if (quiet < 3) continue;
    quiet = 0;
    const next = env.clock.nextTimerAt();
    env.clock.advance(next === undefined ? 1000 : Math.max(1, next - env.clock.now()));
    if (env.clock.now() - start > (options.maxVirtualMs ?? 6 * 3_600_000)) throw new Error('the run did not finish within its virtual time budget');
  }
  return finished;
}
