/**
 * @module Bench worker: a sandbox in its own thread (real time), as Sendoso would be its own
 * service, with balances large enough that no send is held for funds.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { defaultSeed, startSandbox } from '../src/sandbox/index.js';
import type { Cents } from '../src/domain/index.js';

const { rateLimit } = workerData as { rateLimit: number };
const seed = defaultSeed();
const rich = {
  ...seed,
  users: seed.users.map((u) => ({ ...u, balance: 100_000_000 as Cents })),
  groups: seed.groups.map((g) => ({ ...g, budget: 100_000_000 as Cents })),
};
const sandbox = await startSandbox({ rateLimit, control: true, seed: rich });
parentPort!.postMessage({ url: sandbox.url, apiBaseUrl: sandbox.apiBaseUrl, token: sandbox.issueToken().access_token });
parentPort!.on('message', async () => {
  await sandbox.close();
  process.exit(0);
});
