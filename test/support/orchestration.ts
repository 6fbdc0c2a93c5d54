/**
 * @module Test support: a sandbox, the real guard over it, the in-process MCP tools over the
 * account's gateway, and an orchestrator persisting runs into one SQLite database — everything
 * `giftguard run` wires, built inline for tests.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Guard, SqliteLedger, loadPolicy } from '../../src/guard/index.js';
import type { Policy } from '../../src/guard/index.js';
import { silentLogger } from '../../src/log/index.js';
import { Orchestrator, SqliteRunStore, inProcessToolClient, localGuardView } from '../../src/orchestrator/index.js';
import type { OrchestratorOptions, RunStore, ToolClient } from '../../src/orchestrator/index.js';
import { sendosoCampaignDirectory, sendosoDispatcher, sendosoSendHistory, sendosoSenderGroups } from '../../src/sendoso/index.js';
import { openDatabase } from '../../src/storage/index.js';
import type { SqliteDatabase } from '../../src/storage/index.js';
import { allTools, testRuntime } from './mcp.js';
import { startSandboxWithClient } from './sandbox-client.js';
import type { SandboxWithClient } from './sandbox-client.js';

export interface Orchestration extends SandboxWithClient {
  readonly db: SqliteDatabase;
  readonly dbPath: string;
  readonly ledger: SqliteLedger;
  readonly guard: Guard;
  readonly runs: RunStore;
  readonly tools: ToolClient;
  readonly orchestrator: Orchestrator;
  /** Another instance's orchestrator on the same runs, tools and guard (its own owner id). */
  instance(options?: Partial<OrchestratorOptions>): Orchestrator;
}

export async function startOrchestration(
  options: {
    policy?: Policy;
    dbPath?: string;
    requestsPerSecond?: number;
    sandboxRateLimit?: number;
    settleMs?: number;
    batchConcurrency?: number;
    /** The runs' store (default: SQLite in the ledger's file). */
    runs?: RunStore;
    /** Options of the first orchestrator (its lease timings, its run store as it sees it). */
    orchestrator?: Partial<OrchestratorOptions>;
  } = {},
): Promise<Orchestration> {
  const env = await startSandboxWithClient({ rateLimit: options.sandboxRateLimit ?? 10_000, gatewayRate: options.requestsPerSecond ?? 1000 });
  const dbPath = options.dbPath ?? join(mkdtempSync(join(tmpdir(), 'giftguard-orch-')), 'giftguard.db');
  const db = openDatabase(dbPath);
  const ledger = new SqliteLedger(db);
  const logger = silentLogger();
  const store = options.runs ?? new SqliteRunStore(db);
  let orchestrator: Orchestrator | undefined;
  const guard = new Guard({
    ledger,
    policy: options.policy ?? (await loadPolicy(['policies']))!,
    campaigns: sendosoCampaignDirectory(env.gatewayClient, env.clock),
    dispatcher: sendosoDispatcher(env.gateway),
    clock: env.clock,
    logger,
    settleMs: options.settleMs ?? 0,
    staleDispatchMs: 0,
    onSettled: (settlements) => orchestrator?.applySettlements(settlements),
    history: sendosoSendHistory(env.gatewayClient, env.clock),
    senderGroups: sendosoSenderGroups(env.gatewayClient, env.clock),
  });
  const tools = await inProcessToolClient({ tools: allTools, runtime: { ...testRuntime(env, guard), viaFrom: 'giftguard' }, clock: env.clock, logger, version: 'test', runnerId: 'orchestrator' });
  const instances: Orchestrator[] = [];
  const instance = (more: Partial<OrchestratorOptions> = {}) => {
    const made = new Orchestrator({
      store,
      tools,
      guard: localGuardView(guard, ledger, sendosoSendHistory(env.gatewayClient, env.clock), env.clock),
      clock: env.clock,
      logger,
      pollMs: 1000,
      ...(options.batchConcurrency !== undefined && { batchConcurrency: options.batchConcurrency }),
      ...more,
    });
    instances.push(made);
    return made;
  };
  const runner = instance(options.orchestrator);
  orchestrator = runner;
  return {
    ...env,
    db,
    dbPath,
    ledger,
    guard,
    runs: store,
    tools,
    orchestrator,
    instance,
    close: async () => {
      for (const made of instances) await made.stop();
      await tools.close();
      db.close();
      await env.close();
    },
  };
}
