/**
 * @module Test support: a sandbox, the real guard over it, the in-process MCP tools with a
 * limiter, and an orchestrator persisting runs into one SQLite database — everything `giftguard
 * run` wires, built inline for tests.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Guard, SqliteLedger, loadPolicy } from '../../src/guard/index.js';
import type { Policy } from '../../src/guard/index.js';
import { AccountLimiter } from '../../src/limiter/index.js';
import { silentLogger } from '../../src/log/index.js';
import { Orchestrator, RunStore, inProcessToolClient, localGuardView } from '../../src/orchestrator/index.js';
import type { ToolClient } from '../../src/orchestrator/index.js';
import { sendosoCampaignDirectory, sendosoDispatcher, sendosoSendHistory } from '../../src/sendoso/index.js';
import { openDatabase } from '../../src/storage/index.js';
import type { SqliteDatabase } from '../../src/storage/index.js';
import { allTools } from './mcp.js';
import { startSandboxWithClient } from './sandbox-client.js';
import type { SandboxWithClient } from './sandbox-client.js';

export interface Orchestration extends SandboxWithClient {
  readonly db: SqliteDatabase;
  readonly dbPath: string;
  readonly ledger: SqliteLedger;
  readonly guard: Guard;
  readonly runs: RunStore;
  readonly tools: ToolClient;
  readonly limiter: AccountLimiter;
  readonly orchestrator: Orchestrator;
}

export async function startOrchestration(options: { policy?: Policy; dbPath?: string; requestsPerSecond?: number; sandboxRateLimit?: number } = {}): Promise<Orchestration> {
  const env = await startSandboxWithClient({ rateLimit: options.sandboxRateLimit ?? 10_000 });
  const dbPath = options.dbPath ?? join(mkdtempSync(join(tmpdir(), 'giftguard-orch-')), 'giftguard.db');
  const db = openDatabase(dbPath);
  const ledger = new SqliteLedger(db);
  const logger = silentLogger();
  const guard = new Guard({
    ledger,
    policy: options.policy ?? (await loadPolicy(['policies']))!,
    campaigns: sendosoCampaignDirectory(env.client, env.clock),
    dispatcher: sendosoDispatcher(env.client.http),
    clock: env.clock,
    logger,
    settleMs: 0,
    staleDispatchMs: 0,
  });
  const limiter = new AccountLimiter({ requestsPerSecond: options.requestsPerSecond ?? 1000, clock: env.clock, logger });
  const tools = await inProcessToolClient({ tools: allTools, runtime: { http: env.client.http, gate: guard, viaFrom: 'giftguard' }, limiter, clock: env.clock, logger, version: 'test', runnerId: 'orchestrator' });
  const store = new RunStore(db);
  const orchestrator = new Orchestrator({ store, tools, guard: localGuardView(guard, ledger, sendosoSendHistory(env.client), env.clock), clock: env.clock, logger, pollMs: 1000 });
  return {
    ...env,
    db,
    dbPath,
    ledger,
    guard,
    runs: store,
    tools,
    limiter,
    orchestrator,
    close: async () => {
      await orchestrator.stop();
      await tools.close();
      await limiter.stop();
      db.close();
      await env.close();
    },
  };
}
