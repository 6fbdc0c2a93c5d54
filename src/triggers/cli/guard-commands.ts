/**
 * @module The guard's commands: `policy check|explain`, `budget`, `approvals list|approve|deny`
 * and `reconcile`.
 */
import { Command, Option } from 'commander';
import { GiftingError, formatMoney } from '../../domain/index.js';
import type { Cents } from '../../domain/index.js';
import type { Decider, Guard, Policy } from '../../guard/index.js';
import type { App, AppFactory, SendosoConnection } from './app.js';
import { list, table, when } from './format.js';
import type { CliIo } from './io.js';

const money = (c: Cents | undefined) => (c === undefined ? '-' : formatMoney(c));

async function requirePolicy(app: App): Promise<Policy> {
  const policy = await app.policy();
  if (!policy) throw new GiftingError('config', `No spend policy found in ${app.config.policies.join(', ')}; every spend is refused until one exists (see policies/default.yaml in the repository).`);
  return policy;
}

async function withGuard<T>(factory: AppFactory, io: CliIo, policies: string | undefined, run: (guard: Guard, app: App, connection: SendosoConnection) => Promise<T>): Promise<T> {
  const app = factory({ env: io.env, overrides: { policies } });
  try {
    await requirePolicy(app);
    const connection = await app.connectSendoso({ sandboxPort: 0 });
    return await run(app.guard(connection), app, connection);
  } finally {
    await app.close();
  }
}

/** Resolves a campaign given by id or exact name. */
async function touchIdOf(connection: SendosoConnection, ref: string): Promise<number> {
  if (/^\d+$/.test(ref)) return Number(ref);
  const names: string[] = [];
  for await (const touch of connection.client.touches.listAll()) {
    if (touch.name.toLowerCase() === ref.trim().toLowerCase()) return touch.id;
    names.push(touch.name);
  }
  throw new GiftingError('not_found', `No active campaign named "${ref}". Campaigns: ${names.join(', ')}`);
}

export function policyCommand(io: CliIo, factory: AppFactory): Command {
  const policy = new Command('policy').description('Spend policies: validate them, and explain a decision');
  policy
    .command('check')
    .description('Validate policy files (default: the configured policies directory), and resolve the campaigns they name against the account')
    .argument('[files...]', 'policy files or directories')
    .option('--offline', 'check the files only; do not look campaign names up in Sendoso')
    .action(async (files: string[], flags: { offline?: boolean }) => {
      const app = factory({ env: io.env, ...(files.length > 0 && { overrides: { policies: files.join(',') } }) });
      try {
        const { loadPolicy } = await import('../../guard/index.js');
        const paths = app.config.policies;
        const loaded = await loadPolicy(paths);
        if (!loaded) throw new GiftingError('config', `No policy files in ${paths.join(', ')}`);
        let campaigns = '';
        if (!flags.offline && loaded.touchRefs.length > 0) {
          // Names are resolved exactly as the guard resolves them before deciding anything.
          const guard = app.guard(await app.connectSendoso({ sandboxPort: 0 }));
          const resolved = await guard.decisionPolicy();
          if (!resolved.policy) throw new GiftingError('config', resolved.refusal.message);
          for (const warning of resolved.warnings ?? []) io.stderr.write(`warning: ${warning}\n`);
          campaigns = ` Campaign names resolved against the account: ${loaded.touchRefs.length}.`;
        }
        io.stdout.write(
          `OK: ${loaded.groups.length} group${loaded.groups.length === 1 ? '' : 's'} (${loaded.groups.map((g) => g.group).join(', ')}), timezone ${loaded.timezone}` +
            `${loaded.killSwitch ? ', GLOBAL KILL SWITCH ON' : ''}${loaded.dryRun ? ', dry run' : ''}; ${loaded.costs.length} declared campaign cost${loaded.costs.length === 1 ? '' : 's'}.${campaigns}\n`,
        );
        // A threshold nobody may answer leaves every such send waiting until it expires.
        for (const group of loaded.groups) {
          if (group.approval.above !== undefined && group.approval.approvers.length === 0) {
            io.stdout.write(
              `warning: ${group.group} needs approval above ${money(group.approval.above)} but lists no approvers; only \`approvals approve --override "reason"\` can decide (add approval.approvers, e.g. [cli:${app.config.operator}] or a Slack user id)\n`,
            );
          }
        }
      } finally {
        await app.close();
      }
    });
  policy
    .command('explain')
    .description('Show the decision for a send, every rule consulted and the headroom left on each cap (reserves nothing)')
    .requiredOption('--group <name>', 'the group that would pay')
    .requiredOption('--touch <id-or-name>', 'the campaign, by touch id or exact name')
    .requiredOption('--email <list>', 'recipient email(s), comma-separated')
    .option('--policies <paths>', 'policy files or directories')
    .option('--json', 'print JSON')
    .action(async (flags: { group: string; touch: string; email: string; policies?: string; json?: boolean }) =>
      withGuard(factory, io, flags.policies, async (guard, _app, connection) => {
        const touchId = await touchIdOf(connection, flags.touch);
        const result = await guard.explain({ group: flags.group, touchId, emails: list(flags.email) });
        if (!result) throw new GiftingError('not_found', `No active campaign with touch id ${touchId}`);
        const { decision } = result;
        if (flags.json) {
          io.stdout.write(`${JSON.stringify(decision, null, 2)}\n`);
          return;
        }
        const verdict = { allow: 'ALLOW', deny: 'DENY', needs_approval: 'NEEDS APPROVAL' }[decision.outcome];
        io.stdout.write(`Decision: ${verdict}${decision.dryRun ? ' (dry run: nothing would be reserved or sent)' : ''}\n`);
        if (decision.total !== undefined) io.stdout.write(`Reserves: ${money(decision.total)} (${money(decision.costPerSend)} per send)\n`);
        for (const reason of decision.reasons) io.stdout.write(`  - ${reason.message}\n`);
        io.stdout.write(
          `\nRules consulted:\n${table(
            ['RULE', 'RESULT', 'DETAIL', 'HEADROOM AFTER'],
            decision.consulted.map((c) => [c.rule, c.passed ? 'ok' : 'FAIL', c.detail, c.headroomAfter === undefined ? '-' : money(c.headroomAfter)]),
          )}`,
        );
      }),
    );
  return policy;
}

export function budgetCommand(io: CliIo, factory: AppFactory): Command {
  return new Command('budget')
    .description('Show caps, captured, held and available per window for each group')
    .option('--group <name>', 'only this group')
    .option('--policies <paths>', 'policy files or directories')
    .option('--json', 'print JSON')
    .action(async (flags: { group?: string; policies?: string; json?: boolean }) => {
      const app = factory({ env: io.env, overrides: { policies: flags.policies } });
      try {
        const policy = await requirePolicy(app);
        const groups = flags.group ? [flags.group] : policy.groups.map((g) => String(g.group));
        const rows: Record<string, unknown>[] = [];
        for (const group of groups) {
          if (!policy.groups.some((g) => String(g.group).toLowerCase() === group.toLowerCase())) {
            throw new GiftingError('not_found', `No policy for group "${group}"; groups: ${policy.groups.map((g) => g.group).join(', ')}`);
          }
          for (const line of await app.ledger().budget(group, policy, app.clock.now())) rows.push({ group, ...line });
        }
        if (flags.json) {
          io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
          return;
        }
        io.stdout.write(
          table(
            ['GROUP', 'WINDOW', 'CAP', 'CHARGED', 'HELD', 'AVAILABLE', 'OUTSIDE GIFTGUARD', 'CHARGED − DECLARED'],
            rows.map((r) => [
              String(r.group),
              String(r.window),
              money(r.cap as Cents),
              money(r.captured as Cents),
              money(r.held as Cents),
              money(r.available as Cents),
              money(r.observed as Cents),
              money(((r.captured as number) - (r.declared as number)) as Cents),
            ]),
          ),
        );
        io.stdout.write(
          `\nCHARGED is what Sendoso charged for giftguard's sends (the declared cost until Sendoso says); OUTSIDE GIFTGUARD is sends made in Sendoso directly, ${policy.outsideSends.count ? 'counted against the caps' : 'not counted (outside_sends.count: false)'}; as of the last history sync.\n`,
        );
      } finally {
        await app.close();
      }
    });
}

const APPROVER_HELP = `
You decide as cli:<name>, the name in GIFTGUARD_OPERATOR (default "operator"). The group's policy must
list that identity under approval.approvers (Slack users are listed by their user id), e.g.
  approval: { above: 200, approvers: [U0APPROVER1, cli:operator] }
Anyone else is refused unless they pass --override with a reason, which is logged and audited.`;

/** Who the CLI decides as: the configured local operator, never a name typed per command. */
function decider(app: App, flags: { override?: string; by?: string }): Decider {
  if (flags.by !== undefined) {
    throw new GiftingError(
      'bad_request',
      `--by was removed: a name typed on the command line proved nothing. The CLI decides as cli:${app.config.operator} (GIFTGUARD_OPERATOR), which the group's approvers must list; or pass --override "reason".`,
    );
  }
  return { identity: `cli:${app.config.operator}`, override: flags.override };
}

/** An unlisted approver is told the one way the CLI still lets them decide. */
async function withOverrideHint<T>(decision: Promise<T>): Promise<T> {
  try {
    return await decision;
  } catch (error) {
    if (error instanceof GiftingError && error.code === 'forbidden') {
      throw new GiftingError('forbidden', `${error.message} To decide anyway, pass --override "reason": it is recorded and audited.`);
    }
    throw error;
  }
}

export function approvalsCommand(io: CliIo, factory: AppFactory): Command {
  const approvals = new Command('approvals').description('Sends waiting for a person: list, approve, deny');
  approvals
    .command('list')
    .description('List approval requests (pending by default)')
    .option('--all', 'include decided and expired ones')
    .option('--json', 'print JSON')
    .action(async (flags: { all?: boolean; json?: boolean }) => {
      const app = factory({ env: io.env });
      try {
        const approvals = app.approvals();
        const rows = flags.all ? await approvals.history() : await approvals.pending();
        if (flags.json) {
          io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
          return;
        }
        io.stdout.write(
          rows.length === 0
            ? flags.all
              ? 'No approval requests yet.\n'
              : 'No approval requests are waiting.\n'
            : table(
                ['ID', 'STATUS', 'GROUP', 'CAMPAIGN', 'RECIPIENTS', 'AMOUNT', 'EXPIRES', ...(flags.all ? ['DECIDED BY'] : []), 'WHY'],
                rows.map((a) => [
                  a.id,
                  a.status,
                  a.group,
                  a.touchName,
                  a.recipients.join(','),
                  formatMoney(a.amount, a.currency),
                  when(a.expiresAt),
                  ...(flags.all ? [a.decidedBy ?? '-'] : []),
                  a.reasons.map((r) => r.message).join(' '),
                ]),
              ),
        );
      } finally {
        await app.close();
      }
    });
  approvals
    .command('approve')
    .description('Approve a waiting send as cli:<GIFTGUARD_OPERATOR>; the hard caps are re-checked now, and it is sent at once')
    .argument('<id>', 'the approval id')
    .option('--override <reason>', 'approve although the group\'s policy does not list you as an approver; the reason is recorded')
    .addOption(new Option('--by <name>').hideHelp())
    .addHelpText('after', APPROVER_HELP)
    .action(async (id: string, flags: { override?: string; by?: string }) =>
      withGuard(factory, io, undefined, async (_guard, app, connection) => {
        const result = await withOverrideHint(app.approvals(connection).approve(id, decider(app, flags)));
        if (result.status === 'voided') throw new GiftingError('bad_request', result.reason);
        if (result.status === 'denied') {
          throw new GiftingError('bad_request', `Approval ${id} cannot be honoured now:\n  - ${result.reasons.map((r) => r.message).join('\n  - ')}`);
        }
        io.stdout.write(`Approved ${id} as ${decider(app, flags).identity}${flags.override ? ' (override, recorded)' : ''}${result.sent ? ' and sent it' : '; it will be sent by the running giftguard service'}.\n`);
      }),
    );
  approvals
    .command('deny')
    .description('Refuse a waiting send, as cli:<GIFTGUARD_OPERATOR>')
    .argument('<id>', 'the approval id')
    .option('--reason <text>', 'why (recorded)')
    .option('--override <reason>', 'deny although the group\'s policy does not list you as an approver; the reason is recorded')
    .addOption(new Option('--by <name>').hideHelp())
    .addHelpText('after', APPROVER_HELP)
    .action(async (id: string, flags: { reason?: string; override?: string; by?: string }) => {
      const app = factory({ env: io.env });
      try {
        await requirePolicy(app);
        // Denying sends nothing, so it needs no Sendoso connection.
        await withOverrideHint(app.approvals().deny(id, decider(app, flags), flags.reason));
        io.stdout.write(`Denied ${id} as ${decider(app, flags).identity}${flags.override ? ' (override, recorded)' : ''}. Nothing was sent.\n`);
      } finally {
        await app.close();
      }
    });
  return approvals;
}

export function reconcileCommand(io: CliIo, factory: AppFactory): Command {
  return new Command('reconcile')
    .description('Settle sends whose outcome is unknown by checking Sendoso\'s send list (never a blind retry)')
    .action(async () =>
      withGuard(factory, io, undefined, async (guard, app, connection) => {
        const report = await guard.reconcile(app.sendHistory(connection));
        io.stdout.write(
          report.checked === 0
            ? 'Nothing to reconcile: no send has an unknown outcome.\n'
            : `Checked ${report.checked}: ${report.sent} found in Sendoso (sent), ${report.failed} proved absent (released), ${report.stillUnknown} still open.\n`,
        );
        const synced = await guard.syncHistory();
        if (synced.imported + synced.updated + synced.rebooked > 0) {
          io.stdout.write(
            `Send history: ${synced.imported} send(s) made outside giftguard now counted, ${synced.updated} updated, ${synced.rebooked} of giftguard's re-booked at what Sendoso charged.\n`,
          );
        }
      }),
    );
}
