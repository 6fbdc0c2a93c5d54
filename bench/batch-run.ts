/**
 * @module One giftguard batch as `giftguard run batch` wires it — ledger and pace in one SQLite
 * file, the account's gateway, the guard, the in-process tools and the orchestrator — against a
 * sandbox URL. The batch bench runs it in-process, and as `node batch-run.js <json>` in several
 * processes at once sharing one data file (and so one rate limit).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { systemClock } from '../src/domain/index.js';
import { Guard, SqliteLedger, mergePolicyFiles, parsePolicyText } from '../src/guard/index.js';
import { silentLogger } from '../src/log/index.js';
import { Orchestrator, SqliteRunStore, inProcessToolClient, localGuardView } from '../src/orchestrator/index.js';
import {
  Pacer,
  SendosoGateway,
  SendosoHttp,
  SqlitePacingStore,
  createSendosoClient,
  sendosoCampaignDirectory,
  sendosoDispatcher,
  sendosoSendHistory,
  staticAccessToken,
} from '../src/sendoso/index.js';
import { openDatabase, startBackgroundCheckpoints } from '../src/storage/index.js';
import { buildTools, sendosoCatalogue } from '../src/tools/index.js';

export interface BatchRunInput {
  readonly apiBaseUrl: string;
  readonly token: string;
  readonly dbPath: string;
  /**
   * The attendee CSV (see {@link writeAttendeesCsv}), as `giftguard run batch` is given one: the
   * measured process never holds the list, so its memory is giftguard's, not the bench's.
   */
  readonly csvPath: string;
  readonly requestsPerSecond: number;
}

/** Writes `emails` as an attendee CSV at `path` (an `email` column) and returns `path`. */
export function writeAttendeesCsv(path: string, emails: readonly string[]): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `email\n${emails.join('\n')}\n`);
  return path;
}

export interface BatchRunResult {
  /** Epoch ms the batch started and ended (to combine runs in several processes). */
  readonly startedAt: number;
  readonly endedAt: number;
  readonly wallMs: number;
  readonly failed: number;
  readonly status: string;
  /** This process's peak resident set size, MB. */
  readonly peakRssMb: number;
}

/** giftguard as `giftguard run` wires it, against a Sendoso URL, on one SQLite file. */
export async function wireGiftguard(input: { apiBaseUrl: string; token: string; dbPath: string; requestsPerSecond: number }) {
  const db = openDatabase(input.dbPath);
  const stopCheckpoints = startBackgroundCheckpoints(db, input.dbPath);
  const logger = silentLogger();
  const clock = systemClock;
  const http = new SendosoHttp({ apiBaseUrl: input.apiBaseUrl, auth: staticAccessToken(input.token), clock, logger });
  const pacer = new Pacer({ account: input.apiBaseUrl, store: new SqlitePacingStore(db), requestsPerSecond: input.requestsPerSecond, clock, logger });
  const gateway = new SendosoGateway({ http, pacer, clock, logger });
  const client = createSendosoClient(gateway);
  const ledger = new SqliteLedger(db);
  const policy = mergePolicyFiles([
    parsePolicyText('bench.yaml', 'version: 1\ngroups:\n  - group: Marketing\n    caps: { per_day: 100000000 }\n  - group: New Hires Q3\n    caps: { per_day: 100000000 }\n').file!,
  ]);
  const guard = new Guard({ ledger, policy, campaigns: sendosoCampaignDirectory(client, clock), dispatcher: sendosoDispatcher(gateway), clock, logger });
  const runtime = { transport: gateway, gate: guard, viaFrom: 'giftguard', clock, outsideCallerWaitMs: 5000 };
  const tools = await inProcessToolClient({ tools: buildTools(sendosoCatalogue), runtime, clock, logger, version: 'bench', runnerId: `bench:${process.pid}` });
  const store = new SqliteRunStore(db);
  const orchestrator = new Orchestrator({ store, tools, guard: localGuardView(guard, ledger, sendosoSendHistory(client, clock), clock), clock, logger });
  return {
    db,
    store,
    tools,
    orchestrator,
    async close() {
      await tools.close();
      gateway.stop();
      await stopCheckpoints();
      db.close();
    },
  };
}

/** Peak RSS of this process so far, in MB. */
export const peakRssMb = () => process.resourceUsage().maxRSS / 1024;

export async function runBatch(input: BatchRunInput): Promise<BatchRunResult> {
  const giftguard = await wireGiftguard(input);
  const startedAt = Date.now();
  const start = performance.now();
  const run = await (await giftguard.orchestrator.start('batch', { campaign: 'Amazon eGift 10', group: 'Marketing', csvPath: input.csvPath, partial: false })).finished;
  const wallMs = performance.now() - start;
  const endedAt = Date.now();
  const output = run.output as { loaded?: { valid: number }; progress?: { refused: number; retrying: number; unknown: number } } | null;
  await giftguard.close();
  const peak = peakRssMb();
  // No progress means nothing was sent: every row failed (counted only now, after the peak is read).
  const failed = output?.progress
    ? output.progress.refused + output.progress.retrying + output.progress.unknown
    : (output?.loaded?.valid ?? readFileSync(input.csvPath, 'utf8').trimEnd().split('\n').length - 1);
  return { startedAt, endedAt, wallMs, failed, status: run.status, peakRssMb: peak };
}

// As a child process: run the batch described by argv[2] (or a file named by it) and print the result as JSON.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const arg = process.argv[2]!;
  const input = JSON.parse(arg.startsWith('{') ? arg : readFileSync(arg, 'utf8')) as BatchRunInput;
  const result = await runBatch(input);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
