import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Spawned CLIs run dist/: rebuilt first if any source changed (test/setup/fresh-dist.ts).
    globalSetup: ['test/setup/fresh-dist.ts'],
    // Several suites start HTTP servers and child processes; forks keep them isolated.
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
