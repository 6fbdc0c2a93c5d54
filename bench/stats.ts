/**
 * @module Small statistics for benchmarks: percentiles, a latency run, a run with several calls in
 * flight, and interleaved runs of several targets so no figure depends on the order they ran in.
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
  /** Process CPU time (user + system) per call, in ms: robust when other work shares the machine. */
  readonly cpuMsPerCall: number;
}

/** Runs `task` `count` times sequentially after `warmup` unmeasured runs. */
export async function measure(task: () => Promise<unknown>, count: number, warmup = Math.min(200, count)): Promise<LatencyRun> {
  for (let i = 0; i < warmup; i++) await task();
  return measureConcurrent(task, count, 1);
}

/**
 * Runs `task` `count` times with `concurrency` calls in flight (each worker starts its next call
 * when its previous one ends); no warm-up. Throughput is calls over wall time.
 */
export async function measureConcurrent(task: () => Promise<unknown>, count: number, concurrency: number): Promise<LatencyRun> {
  const samplesMs: number[] = [];
  let started = 0;
  const worker = async () => {
    while (started < count) {
      started++;
      const t0 = performance.now();
      await task();
      samplesMs.push(performance.now() - t0);
    }
  };
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, worker));
  const wallMs = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  return { samplesMs, wallMs, perSecond: (count / wallMs) * 1000, cpuMsPerCall: (cpu.user + cpu.system) / 1000 / count };
}

/**
 * Measures several targets at one concurrency, interleaved: every target is warmed up first, then
 * the calls are split into `rounds` slices and each round runs every target once, starting at a
 * different target each round, so drift in the machine's load and GC debt land on all of them
 * alike. With --expose-gc, garbage is collected between slices so one target's garbage is not
 * collected on another's clock. Throughput is all calls over the summed wall time of the slices.
 */
export async function interleaved<K extends string>(
  targets: Readonly<Record<K, () => Promise<unknown>>>,
  options: { count: number; concurrency: number; rounds?: number; warmup?: number },
): Promise<Record<K, LatencyRun>> {
  const names = Object.keys(targets) as K[];
  const rounds = Math.max(1, Math.min(options.rounds ?? 6, options.count));
  const warmup = options.warmup ?? Math.min(300, options.count);
  const gc = (globalThis as { gc?: () => void }).gc;
  for (const name of names) await measureConcurrent(targets[name], warmup, options.concurrency);
  const samples = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<K, number[]>;
  const wall = Object.fromEntries(names.map((n) => [n, 0])) as Record<K, number>;
  const cpu = Object.fromEntries(names.map((n) => [n, 0])) as Record<K, number>;
  for (let round = 0; round < rounds; round++) {
    const slice = Math.floor(options.count / rounds) + (round < options.count % rounds ? 1 : 0);
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length]!;
      gc?.();
      const run = await measureConcurrent(targets[name], slice, options.concurrency);
      samples[name].push(...run.samplesMs);
      wall[name] += run.wallMs;
      cpu[name] += run.cpuMsPerCall * slice;
    }
  }
  return Object.fromEntries(
    names.map((n) => [n, { samplesMs: samples[n], wallMs: wall[n], perSecond: (samples[n].length / wall[n]) * 1000, cpuMsPerCall: cpu[n] / samples[n].length }]),
  ) as Record<K, LatencyRun>;
}

export const fmt = (n: number, digits = 3) => n.toFixed(digits);
