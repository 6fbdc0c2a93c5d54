/**
 * @module Small statistics for benchmarks: percentiles and a latency run.
 */

/** The p-th percentile (0–100) of already-collected samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export interface LatencyRun {
  readonly samplesMs: number[];
  readonly wallMs: number;
  readonly perSecond: number;
}

/** Runs `task` `count` times sequentially after `warmup` unmeasured runs. */
export async function measure(task: () => Promise<unknown>, count: number, warmup = Math.min(200, count)): Promise<LatencyRun> {
  for (let i = 0; i < warmup; i++) await task();
  const samplesMs: number[] = [];
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await task();
    samplesMs.push(performance.now() - t0);
  }
  const wallMs = performance.now() - start;
  return { samplesMs, wallMs, perSecond: (count / wallMs) * 1000 };
}

export const fmt = (n: number, digits = 3) => n.toFixed(digits);
