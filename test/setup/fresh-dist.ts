/**
 * Tests import the sources, but the ones that start giftguard as a process (the installed entry,
 * bin/giftguard.js) run dist/. So that `npx vitest` never tests yesterday's build, dist/ is rebuilt
 * before any test runs whenever a source changed since it was built (npm test has just built it,
 * and then this costs one fingerprint of the tree).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export default function setup(): void {
  const script = join(import.meta.dirname, '..', '..', 'scripts', 'build-if-stale.mjs');
  const built = spawnSync(process.execPath, [script], { stdio: 'inherit' });
  if (built.status !== 0) throw new Error(`dist/ is stale and could not be rebuilt (build-if-stale exited ${built.status}); the spawned-CLI tests would run old code`);
}
