/**
 * @module `npm run bench`: every benchmark section in one run, printing ratios measured against a
 * baseline in that same run (absolute numbers vary by machine; ratios travel).
 * Usage: npm run bench [-- section ...]   (default: all sections)
 */
import { batchComparison } from './batch.js';
import { cliStartup } from './cli-startup.js';
import { clientOverhead } from './client-overhead.js';
import { growth } from './growth.js';
import { guardThroughput } from './guard.js';
import { mcpOverhead } from './mcp-overhead.js';
import { soak } from './soak.js';

const sections: Record<string, () => Promise<string[]>> = {
  client: () => clientOverhead(Number(process.env.BENCH_CALLS ?? 2000)),
  mcp: () => mcpOverhead(Number(process.env.BENCH_CALLS ?? 2000)),
  guard: () => guardThroughput(Number(process.env.BENCH_DECISIONS ?? 5000)),
  batch: () => batchComparison(Number(process.env.BENCH_BATCH ?? 1000)),
  growth: () => growth(),
  cli: () => cliStartup(Number(process.env.BENCH_CLI_RUNS ?? 5)),
  soak: () => soak(),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const chosen = wanted.length > 0 ? wanted : Object.keys(sections);
for (const name of chosen) {
  const run = sections[name];
  if (!run) {
    console.error(`unknown bench section "${name}"; choose from: ${Object.keys(sections).join(', ')}`);
    process.exitCode = 2;
    continue;
  }
  console.log(`\n== ${name} ==`);
  for (const line of await run()) console.log(line);
}
