/**
 * @module `giftguard run abm|audit|batch` (start a workflow and wait until it finishes or waits for
 * a person) and `giftguard runs list|show|resume|cancel`.
 */
import { Command, Option } from 'commander';
import { AUDIT_DEFAULTS, GiftingError } from '../../domain/index.js';
import type { OnboardingAuditOutput, WebinarBatchOutput } from '../../../workflows/index.js';
import { auditReport } from '../audit-report.js';
import type { AuditReportFormat } from '../audit-report.js';
import type { InputOf, Orchestrator, RunHandle, RunItem, RunListeners, RunRecord, WorkflowName } from '../../orchestrator/index.js';
import type { App, AppFactory } from './app.js';
import { terminalText } from '../escape.js';
import { oneLine, table, when } from './format.js';
import { integer } from './options.js';
import type { CliIo } from './io.js';

const DAY = 86_400_000;


/** "2026-08-01", an ISO time, or "90d" (days ago). */
function parseSince(value: string, now: number): number {
  const relative = /^(\d+)d$/.exec(value.trim());
  if (relative) return now - Number(relative[1]) * DAY;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new GiftingError('bad_request', `--since must be a date (2026-08-01) or a number of days ago (90d); got "${value}"`);
  return ms;
}

/**
 * Progress for batches: a bar on a terminal; JSON lines on stdout with --json; otherwise a plain
 * line on stderr at every tenth of the way, so piped human output stays readable.
 */
async function progressListener(io: CliIo, runId: () => string, json: boolean): Promise<{ listeners: RunListeners; stop: () => void }> {
  const tty = (io.stdout as NodeJS.WriteStream).isTTY === true;
  if (json) {
    return {
      listeners: { onProgress: (p) => io.stdout.write(`${JSON.stringify({ run: runId(), progress: p })}\n`) },
      stop: () => undefined,
    };
  }
  if (tty) {
    const { SingleBar } = await import('cli-progress');
    const bar = new SingleBar(
      { format: 'sending {bar} {value}/{total}  sent {sent}  approval {approval}  refused {refused}  skipped {skipped}  to send {retrying}  checking {unknown}', stream: io.stdout as NodeJS.WriteStream, hideCursor: true },
    );
    let started = false;
    return {
      listeners: {
        onProgress: (p) => {
          const done = p.sent + p.alreadySent + p.pendingApproval + p.refused + p.skipped;
          const payload = { sent: p.sent + p.alreadySent, approval: p.pendingApproval, refused: p.refused, skipped: p.skipped, retrying: p.retrying, unknown: p.unknown };
          if (!started) {
            bar.start(p.total, done, payload);
            started = true;
          } else bar.update(done, payload);
        },
      },
      stop: () => started && bar.stop(),
    };
  }
  let lastStep = -1;
  return {
    listeners: {
      onProgress: (p) => {
        const done = p.sent + p.alreadySent + p.pendingApproval + p.refused + p.skipped;
        const step = p.total === 0 ? 10 : Math.floor((done / p.total) * 10);
        if (step === lastStep) return;
        lastStep = step;
        io.stderr.write(`${done}/${p.total}: sent ${p.sent + p.alreadySent}, approval ${p.pendingApproval}, refused ${p.refused}, skipped ${p.skipped}, to send ${p.retrying}, checking ${p.unknown}\n`);
      },
    },
    stop: () => undefined,
  };
}

async function withOrchestrator<T>(factory: AppFactory, io: CliIo, toolsUrl: string | undefined, run: (orchestrator: Orchestrator, app: App) => Promise<T>): Promise<T> {
  const app = factory({ env: io.env, overrides: { toolsUrl } });
  try {
    const connection = await app.connectSendoso({ sandboxPort: 0 });
    return await run((await app.orchestration(connection)).orchestrator, app);
  } finally {
    await app.close();
  }
}

/** How many rows a batch report lists per kind before pointing at `runs show`. */
const LISTED_ROWS = 20;

/**
 * A finished batch's rows that were not sent, with their line and reason: rejected by the CSV
 * check (never sent), refused by the policy, and still open.
 */
export function batchRowLines(run: RunRecord, items: readonly RunItem[]): string[] {
  const output = run.output as WebinarBatchOutput | null;
  const rejected = [
    ...(output?.loaded?.invalid ?? []).map((r) => ({ line: r.line, text: r.reason })),
    ...(output?.loaded?.duplicates ?? []).map((r) => ({ line: r.line, text: `${r.email} appears earlier in the file` })),
  ].sort((a, b) => a.line - b.line);
  const sections: [string, { line: number; text: string }[]][] = [
    ['Rejected rows (not sent)', rejected],
    ['Refused by the spend policy or Sendoso', items.filter((i) => i.status === 'refused').map((i) => ({ line: i.line, text: `${i.email}: ${i.detail ?? 'refused'}` }))],
    ['Waiting for approval', items.filter((i) => i.status === 'pending_approval').map((i) => ({ line: i.line, text: `${i.email}: ${i.detail ?? 'approval requested'}` }))],
    ['Not finished', items.filter((i) => i.status === 'retry' || i.status === 'outcome_unknown' || i.status === 'pending').map((i) => ({ line: i.line, text: `${i.email}: ${i.detail ?? i.status}` }))],
  ];
  const lines: string[] = [];
  for (const [title, rows] of sections) {
    if (rows.length === 0) continue;
    lines.push(`${title}: ${rows.length}`);
    for (const row of rows.slice(0, LISTED_ROWS)) lines.push(`  line ${row.line}: ${terminalText(oneLine(row.text, 300))}`);
    if (rows.length > LISTED_ROWS) lines.push(`  … and ${rows.length - LISTED_ROWS} more (giftguard runs show ${run.id})`);
  }
  return lines;
}

/** Prints a run's end state for people (or as JSON) and sets the exit code. */
async function report(io: CliIo, run: RunRecord, options: { json: boolean; format?: string; items?: () => Promise<readonly RunItem[]> }): Promise<void> {
  const format = options.format ?? 'table';
  const summary = terminalText(run.summary ?? run.status);
  if (options.json || format === 'json') {
    io.stdout.write(`${JSON.stringify({ id: run.id, workflow: run.workflow, status: run.status, summary: run.summary, output: run.output }, null, 2)}\n`);
  } else if (run.workflow === 'audit' && run.output && (run.status === 'done')) {
    io.stdout.write(auditReport(run.output as OnboardingAuditOutput, format as AuditReportFormat));
    if (format === 'table') io.stdout.write(`\n${summary}\n`);
  } else if (run.status === 'waiting') {
    const approval = (run.snapshot as { context?: { send?: { approvalId?: string; message?: string } } } | null)?.context?.send;
    io.stdout.write(
      `Run ${run.id} is waiting for a person to approve ${approval?.approvalId ?? 'the send'}. Nothing has been sent yet.\n` +
        `  Approve: giftguard approvals approve ${approval?.approvalId ?? '<id>'}    Deny: giftguard approvals deny ${approval?.approvalId ?? '<id>'}\n` +
        `  giftguard serve resumes the run (or: giftguard runs resume ${run.id}).\n`,
    );
  } else {
    io.stdout.write(`${summary}\n`);
    if (run.workflow === 'batch' && options.items) {
      const rows = batchRowLines(run, await options.items());
      if (rows.length > 0) io.stdout.write(`${rows.join('\n')}\n`);
    }
  }
  // Not done is not success: a failed, cancelled or incomplete run exits non-zero.
  if (run.status === 'failed' || run.status === 'cancelled' || run.status === 'incomplete') io.setExitCode?.(1);
}

async function startAndWait<W extends WorkflowName>(orchestrator: Orchestrator, io: CliIo, workflow: W, input: InputOf<W>, json: boolean): Promise<RunRecord> {
  let id = '';
  const progress = await progressListener(io, () => id, json);
  let handle: RunHandle;
  try {
    handle = await orchestrator.start(workflow, input, progress.listeners);
    id = handle.id;
    if (!json) io.stderr.write(`Run ${handle.id} (${workflow}) started.\n`);
    return await handle.settled;
  } finally {
    progress.stop();
  }
}

export function runCommand(io: CliIo, factory: AppFactory): Command {
  const run = new Command('run').description('Start a workflow: abm, audit or batch');

  run
    .command('abm')
    .description('Send a physical gift to one person: address collection unless you give the address')
    .requiredOption('--group <name>', 'the team group that pays, e.g. "Enterprise Sales"')
    .requiredOption('--campaign <name-or-id>', 'a physical campaign, e.g. "Executive Whiskey Set"')
    .requiredOption('--name <name>', 'the recipient, e.g. "Sarah Connor"')
    .requiredOption('--email <email>', "the recipient's email")
    .option('--company <name>', "the recipient's company")
    .option('--address <street>', 'ship to this address instead of asking the recipient (with --city, --state, --zip, --country)')
    .option('--city <city>')
    .option('--state <state>')
    .option('--zip <zip>')
    .option('--country <country>', 'default USA')
    .option('--message <text>', 'a note for the recipient')
    .addOption(new Option('--expire-after-days <n>', 'days to confirm the address (2-7)').default(7).argParser(integer('--expire-after-days', 1, 30)))
    .option('--dry-run', 'evaluate the policy and report; send nothing')
    .option('--json', 'print JSON')
    .option('--tools-url <url>', 'use a remote MCP server (same tool names) instead of the in-process tools')
    .action(async (flags: Record<string, string | number | boolean | undefined>) => {
      const address = flags.address
        ? {
            address: String(flags.address),
            city: required(flags.city, '--city'),
            state: required(flags.state, '--state'),
            zip: required(flags.zip, '--zip'),
            country: String(flags.country ?? 'USA'),
          }
        : undefined;
      const input = {
        group: String(flags.group),
        campaign: String(flags.campaign),
        recipientName: String(flags.name),
        recipientEmail: String(flags.email),
        ...(flags.company && { company: String(flags.company) }),
        ...(address && { address }),
        ...(flags.message && { message: String(flags.message) }),
        expireAfterDays: Number(flags.expireAfterDays),
        dryRun: flags.dryRun === true,
      };
      await withOrchestrator(factory, io, flags.toolsUrl as string | undefined, async (orchestrator) =>
        report(io, await startAndWait(orchestrator, io, 'abm', input, flags.json === true), { json: flags.json === true }),
      );
    });

  run
    .command('audit')
    .description('Check that every member of a group got a campaign (e.g. the onboarding gift)')
    .requiredOption('--group <name>', 'e.g. "New Hires Q3"')
    .requiredOption('--campaign <name-or-id>', 'e.g. "Welcome Swag Box"')
    .option('--since <date>', 'only sends since this date (2026-08-01) or days ago (90d)', `${AUDIT_DEFAULTS.sinceDays}d`)
    .addOption(new Option('--stuck-after-days <n>', 'flag sends "Confirming Address" for longer than this').default(AUDIT_DEFAULTS.stuckAfterDays).argParser(integer('--stuck-after-days', 0, 365)))
    .option('--fix', 'propose address-collection sends for missing members')
    .option('--yes', 'with --fix: start them (through the spend policy)')
    .addOption(new Option('--expire-after-days <n>', 'days to confirm the address for --fix sends (2-7)').default(AUDIT_DEFAULTS.expireAfterDays).argParser(integer('--expire-after-days', 1, 30)))
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'csv', 'markdown']).default('table'))
    .option('--tools-url <url>', 'use a remote MCP server instead of the in-process tools')
    .action(async (flags: { group: string; campaign: string; since: string; stuckAfterDays: number; fix?: boolean; yes?: boolean; expireAfterDays: number; format: string; toolsUrl?: string }) =>
      withOrchestrator(factory, io, flags.toolsUrl, async (orchestrator, app) => {
        const { auditInput } = await import('../../orchestrator/index.js');
        const now = app.clock.now();
        const input = auditInput(
          { group: flags.group, campaign: flags.campaign, since: parseSince(flags.since, now), stuckAfterDays: flags.stuckAfterDays, fix: flags.fix, confirm: flags.yes, expireAfterDays: flags.expireAfterDays },
          now,
        );
        await report(io, await startAndWait(orchestrator, io, 'audit', input, flags.format === 'json'), { json: false, format: flags.format });
      }),
    );

  run
    .command('batch')
    .description('Send an eGift to every attendee in a CSV (columns: email, and optionally name, company)')
    .requiredOption('--campaign <name-or-id>', 'an eGift campaign, e.g. "Q3 Webinar Attendees"')
    .requiredOption('--group <name>', 'the team group that pays, e.g. Marketing')
    .requiredOption('--csv <file>', 'the attendee list')
    .option('--partial', 'if the whole batch does not fit the caps, send as many as fit (default: send none)')
    .option('--message <text>', 'the eGift email text')
    .option('--dry-run', 'validate and pre-check only; send nothing')
    .option('--json', 'print JSON (progress as JSON lines)')
    .option('--tools-url <url>', 'use a remote MCP server instead of the in-process tools')
    .action(async (flags: { campaign: string; group: string; csv: string; partial?: boolean; message?: string; dryRun?: boolean; json?: boolean; toolsUrl?: string }) =>
      withOrchestrator(factory, io, flags.toolsUrl, async (orchestrator, app) => {
        const input = { campaign: flags.campaign, group: flags.group, csvPath: flags.csv, partial: flags.partial === true, ...(flags.message && { message: flags.message }), dryRun: flags.dryRun === true };
        const run = await startAndWait(orchestrator, io, 'batch', input, flags.json === true);
        await report(io, run, { json: flags.json === true, items: () => app.runs().items(run.id) });
      }),
    );
  return run;
}

function required(value: unknown, flag: string): string {
  if (value === undefined || value === '') throw new GiftingError('bad_request', `${flag} is needed with --address`);
  return String(value);
}

export function runsCommand(io: CliIo, factory: AppFactory): Command {
  const runs = new Command('runs').description('Workflow runs: list, show, resume, cancel');
  runs
    .command('list')
    .description('Recent runs, newest first')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const app = factory({ env: io.env });
      try {
        const list = await app.runs().list(50);
        if (flags.json) {
          io.stdout.write(`${JSON.stringify(list.map(({ snapshot: _s, ...r }) => r), null, 2)}\n`);
          return;
        }
        io.stdout.write(
          list.length === 0
            ? 'No runs yet. Start one with: giftguard run abm|audit|batch --help\n'
            : table(['ID', 'WORKFLOW', 'STATUS', 'STATE', 'STARTED', 'SUMMARY'], list.map((r) => [r.id, r.workflow, r.status, r.state ?? '-', when(r.createdAt), oneLine(r.summary ?? '', 80)])),
        );
      } finally {
        await app.close();
      }
    });
  runs
    .command('show')
    .description('A run: status, summary, its event log and items')
    .argument('<id>', 'the run id')
    .option('--json', 'print JSON')
    .action(async (id: string, flags: { json?: boolean }) => {
      const app = factory({ env: io.env });
      try {
        const run = await app.runs().get(id);
        if (!run) throw new GiftingError('not_found', `No run ${id}; see giftguard runs list`);
        const events = await app.runs().events(id);
        const items = await app.runs().items(id);
        if (flags.json) {
          const { snapshot: _s, ...rest } = run;
          io.stdout.write(`${JSON.stringify({ ...rest, events, items }, null, 2)}\n`);
          return;
        }
        const state = run.state && run.state !== run.status ? `, in ${run.state}` : '';
        // Who drives it: with several instances, where to look (or how long until another takes it over).
        const driver =
          run.owner === null
            ? ''
            : `Driven by ${run.owner}${run.leaseUntil === null ? '' : `; its lease runs until ${when(run.leaseUntil)}${run.leaseUntil <= app.clock.now() ? ' (ran out: the next instance to look takes it over)' : ''}`}\n`;
        io.stdout.write(`Run ${run.id} (${run.workflow}): ${run.status}${state}\n${driver}${run.summary ? `${terminalText(run.summary)}\n` : ''}\nEvents:\n`);
        io.stdout.write(table(['#', 'WHEN', 'EVENT', 'DETAIL'], events.map((e) => [String(e.seq), when(e.at), e.type, e.data === null ? '' : JSON.stringify(e.data).slice(0, 100)])));
        if (items.length > 0) {
          const counts = await app.runs().itemCounts(id);
          io.stdout.write(`\nItems: ${items.length} (${Object.entries(counts).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s.replace('_', ' ')}`).join(', ')})\n`);
          io.stdout.write(table(['LINE', 'EMAIL', 'STATUS', 'DETAIL'], items.map((i) => [String(i.line), i.email, i.status, oneLine(i.detail ?? '', 200)])));
        }
        // Rows the CSV check rejected are not items (they were never sendable): listed from the output.
        const loaded = (run.output as WebinarBatchOutput | null)?.loaded;
        const rejected = [
          ...(loaded?.invalid ?? []).map((r) => [String(r.line), r.reason] as const),
          ...(loaded?.duplicates ?? []).map((r) => [String(r.line), `${r.email} appears earlier in the file`] as const),
        ].sort((a, b) => Number(a[0]) - Number(b[0]));
        if (rejected.length > 0) io.stdout.write(`\nRejected rows (not sent): ${rejected.length}\n${table(['LINE', 'REASON'], rejected.map(([line, reason]) => [line, reason]))}`);
      } finally {
        await app.close();
      }
    });
  runs
    .command('resume')
    .description('Continue an unfinished run from where it stopped (nothing already sent is sent again)')
    .argument('<id>', 'the run id')
    .option('--json', 'print JSON')
    .action(async (id: string, flags: { json?: boolean }) =>
      withOrchestrator(factory, io, undefined, async (orchestrator, app) => {
        let runId = id;
        const progress = await progressListener(io, () => runId, flags.json === true);
        try {
          const handle = await orchestrator.resume(id, progress.listeners);
          runId = handle.id;
          await report(io, await handle.settled, { json: flags.json === true, items: () => app.runs().items(runId) });
        } finally {
          progress.stop();
        }
      }),
    );
  runs
    .command('cancel')
    .description('Cancel a run: nothing more is sent (sends already made stay made)')
    .argument('<id>', 'the run id')
    .action(async (id: string) => {
      const app = factory({ env: io.env });
      try {
        const { cancelRun } = await import('../../orchestrator/index.js');
        const approvals = app.approvals();
        const { withdrawn } = await cancelRun(app.runs(), id, `cli:${app.config.operator}`, app.clock.now(), (approvalId, by, reason) => approvals.withdraw(approvalId, by, reason));
        io.stdout.write(`Cancelled ${id}.${withdrawn ? ` Its approval request ${withdrawn} is withdrawn.` : ''} A process still running it stops before its next send.\n`);
      } finally {
        await app.close();
      }
    });
  return runs;
}
