/**
 * @module One onboarding audit as `giftguard run audit` wires it, in its own process, against a
 * sandbox URL: prints its wall time, this process's peak RSS, the send-history pages it fetched
 * and the bytes its run row stores (snapshot and output).
 */
import { readFileSync } from 'node:fs';
import { peakRssMb, wireGiftguard } from './batch-run.js';

export interface AuditRunInput {
  readonly apiBaseUrl: string;
  readonly token: string;
  readonly dbPath: string;
  readonly group: string;
  readonly campaign: string;
  readonly sinceDays: number;
}

export interface AuditRunResult {
  readonly wallMs: number;
  readonly peakRssMb: number;
  readonly status: string;
  readonly members: number;
  readonly missing: number;
  readonly historyPages: number;
  readonly snapshotBytes: number;
  readonly outputBytes: number;
}

export async function runAudit(input: AuditRunInput): Promise<AuditRunResult> {
  const giftguard = await wireGiftguard({ ...input, requestsPerSecond: 100_000 });
  let historyPages = 0;
  const call = giftguard.tools.call.bind(giftguard.tools);
  giftguard.tools.call = (name, args, meta) => {
    if (name === 'list_all_sendoso_sends') historyPages += 1;
    return call(name, args, meta);
  };
  const now = Date.now();
  const start = performance.now();
  const run = await (await giftguard.orchestrator.start('audit', {
    group: input.group,
    campaign: input.campaign,
    since: now - input.sinceDays * 86_400_000,
    stuckAfterDays: 3,
    fix: false,
    confirm: false,
    expireAfterDays: 7,
    now,
  })).finished;
  const wallMs = performance.now() - start;
  const sizes = giftguard.db.prepare('SELECT length(snapshot) AS snapshot, length(output) AS output FROM runs WHERE id = ?').get(run.id) as { snapshot: number | null; output: number | null };
  const lines = ((run.output as { lines?: { gifted: boolean }[] } | null)?.lines ?? []);
  await giftguard.close();
  return {
    wallMs,
    peakRssMb: peakRssMb(),
    status: run.status,
    members: lines.length,
    missing: lines.filter((l) => !l.gifted).length,
    historyPages,
    snapshotBytes: sizes.snapshot ?? 0,
    outputBytes: sizes.output ?? 0,
  };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const arg = process.argv[2]!;
  const input = JSON.parse(arg.startsWith('{') ? arg : readFileSync(arg, 'utf8')) as AuditRunInput;
  process.stdout.write(`${JSON.stringify(await runAudit(input))}\n`);
}
