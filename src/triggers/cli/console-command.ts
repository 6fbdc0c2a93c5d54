/**
 * @module `giftguard console …`: who may sign in to the web console. `invite` creates an identity
 * (`console:<name>`, the one policies list as an approver) and prints a one-time sign-in link for
 * it; `link` prints a new link for an identity that has one (the local operator by default);
 * `list` shows identities with the groups they may approve for; `revoke` ends an identity's
 * sessions and links at once. What someone may approve is the policy's to say: `invite
 * --approver-for` checks it and says which line to add where it does not list them yet.
 */
import { Command } from 'commander';
import { publicBaseUrl } from '../../config/index.js';
import { GiftingError } from '../../domain/index.js';
import type { Policy } from '../../guard/index.js';
import { runningServe } from '../../storage/index.js';
import type { App, AppFactory } from './app.js';
import { table, when } from './format.js';
import type { CliIo } from './io.js';

async function withApp<T>(factory: AppFactory, io: CliIo, run: (app: App) => Promise<T>): Promise<T> {
  const app = factory({ env: io.env });
  try {
    return await run(app);
  } finally {
    await app.close();
  }
}

/** Hours a link works, from --valid-hours (default and bounds from the console). */
function validFor(value: string | undefined, defaultMs: number, maxMs: number): number {
  if (value === undefined) return defaultMs;
  const hours = Number(value);
  if (!Number.isFinite(hours) || hours * 3_600_000 < 60_000 || hours * 3_600_000 > maxMs) {
    throw new GiftingError('bad_request', `--valid-hours must be a number of hours from 0.02 (a minute) to ${maxMs / 3_600_000} (got "${value}")`);
  }
  return Math.round(hours * 3_600_000);
}

/** The sign-in link for a token, at the URL the running serve answers (or would). */
async function linkFor(app: App, token: string): Promise<{ url: string; where: string }> {
  const serve = await runningServe(app.dataDirectory());
  const url = `${serve?.url ?? publicBaseUrl(app.config)}/console/sign-in?token=${token}`;
  const where = serve
    ? `answered by giftguard serve (process ${serve.pid})`
    : `no giftguard serve is running on ${app.dataDirectory()}; the link answers once \`giftguard serve\` (npm start) runs on port ${app.config.port}${app.config.publicUrl ? ` behind ${app.config.publicUrl}` : ''}`;
  return { url, where };
}

/** The groups whose policy lists `identity` among its approvers. */
async function approverGroups(policy: Policy | undefined, identity: string): Promise<string[]> {
  if (!policy) return [];
  const { isListedApprover } = await import('../../guard/index.js');
  return policy.groups.filter((g) => isListedApprover(g.approval.approvers, identity)).map((g) => String(g.group));
}

/**
 * For each group someone should approve for: nothing when its policy lists them already, else the
 * exact line to add and where. Throws on a group the policy does not have.
 */
async function approverAdvice(app: App, identity: string, groups: readonly string[]): Promise<string[]> {
  if (groups.length === 0) return [];
  const policy = await app.policy();
  if (!policy) throw new GiftingError('config', `No spend policy found in ${app.config.policies.join(', ')}; --approver-for names a group of one.`);
  const { findGroupPolicy, isListedApprover } = await import('../../guard/index.js');
  const lines: string[] = [];
  for (const name of groups) {
    const group = findGroupPolicy(policy, name);
    if (!group) throw new GiftingError('not_found', `No policy for group "${name}"; groups: ${policy.groups.map((g) => g.group).join(', ')}. Nobody was invited.`);
    const approvers = group.approval.approvers;
    if (isListedApprover(approvers, identity)) {
      lines.push(`${group.group}: its policy already lists ${identity} as an approver.`);
      continue;
    }
    const where = policy.sources[policy.groups.indexOf(group)] ?? app.config.policies.join(', ');
    lines.push(
      `${group.group}: add ${identity} to approval.approvers of the group "${group.group}" (declared at ${where}):`,
      `    approvers: [${[...approvers, identity].join(', ')}]`,
      ...(group.approval.above === undefined ? [`  ${group.group} has no approval.above threshold yet, so none of its sends wait for approval until one is set.`] : []),
    );
  }
  return lines;
}

export function consoleCommand(io: CliIo, factory: AppFactory): Command {
  const command = new Command('console').description('The web console (served by giftguard serve under /console): invite people, print sign-in links, revoke');

  command
    .command('invite')
    .description('Create a console identity for someone and print a one-time sign-in link for them')
    .requiredOption('--name <name>', 'who they are, e.g. "Dana (finance)"; their identity becomes console:dana-finance')
    .option('--approver-for <groups...>', 'groups whose approvals they should decide (the policy must list them; this says where to add it)')
    .option('--admin', 'may also manage MCP servers in the console')
    .option('--valid-hours <hours>', 'how long the link works (default 24, at most 168)')
    .addHelpText(
      'after',
      '\nThe link works once. Send it to them privately: whoever opens it first signs in as them.\nWhat they may approve is the policy\'s to say (approval.approvers lists identities); --approver-for tells you what to add.\n\nExample:\n  giftguard console invite --name "Dana (finance)" --approver-for Marketing "Enterprise Sales"',
    )
    .action(async (flags: { name: string; approverFor?: string[]; admin?: boolean; validHours?: string }) =>
      withApp(factory, io, async (app) => {
        const { INVITE_LINK_MS, MAX_LINK_MS, consoleIdentityFor, operatorIdentity } = await import('../console/index.js');
        const ms = validFor(flags.validHours, INVITE_LINK_MS, MAX_LINK_MS);
        // Checked before anyone is created: an unknown group leaves nothing behind.
        const advice = await approverAdvice(app, consoleIdentityFor(flags.name), flags.approverFor ?? []);
        const accounts = await app.consoleAccounts();
        const by = operatorIdentity(app.config.operator);
        const identity = await accounts.invite({ name: flags.name, admin: flags.admin === true, by });
        const link = await accounts.createSignInLink(identity.id, ms);
        await app.ledger().recordGuardEvent({ at: app.clock.now(), event: 'console_invite', outcome: identity.admin ? 'invited_admin' : 'invited', caller: by, reasons: [identity.id] });
        const { url, where } = await linkFor(app, link.token);
        const listed = await approverGroups(await app.policy(), identity.id);
        io.stdout.write(
          [
            `Invited ${identity.name} as ${identity.id}${identity.admin ? ' (admin: may manage MCP servers)' : ''}.`,
            listed.length > 0 ? `The policy lets ${identity.id} approve for: ${listed.join(', ')}.` : `No group's policy lists ${identity.id} as an approver yet: they can see budgets and approvals, not decide them.`,
            '',
            `One-time sign-in link (works once, until ${when(link.expiresAt)}; send it privately — whoever opens it first signs in as ${identity.id}):`,
            `  ${url}`,
            `  ${where}`,
            ...(advice.length > 0 ? ['', 'Approvals:', ...advice.map((line) => `  ${line}`), '  Policy changes apply within seconds; no restart needed.'] : []),
            '',
          ].join('\n'),
        );
      }),
    );

  command
    .command('link')
    .description('Print a new one-time sign-in link for an identity (default: you, the local operator)')
    .argument('[identity]', 'e.g. console:dana-finance (default cli:<GIFTGUARD_OPERATOR>)')
    .option('--valid-hours <hours>', 'how long the link works (default 1 for yourself, 24 for others; at most 168)')
    .action(async (id: string | undefined, flags: { validHours?: string }) =>
      withApp(factory, io, async (app) => {
        const { INVITE_LINK_MS, MAX_LINK_MS, OPERATOR_LINK_MS, operatorIdentity } = await import('../console/index.js');
        const accounts = await app.consoleAccounts();
        const self = operatorIdentity(app.config.operator);
        const identity = id === undefined || id === self ? await accounts.ensureOperator(app.config.operator) : await accounts.identity(id);
        if (!identity) throw new GiftingError('not_found', `No console identity ${id}; invite them with giftguard console invite --name NAME (see giftguard console list)`);
        const link = await accounts.createSignInLink(identity.id, validFor(flags.validHours, identity.id === self ? OPERATOR_LINK_MS : INVITE_LINK_MS, MAX_LINK_MS));
        const { url, where } = await linkFor(app, link.token);
        io.stdout.write(`One-time sign-in link for ${identity.name} (${identity.id}), works once until ${when(link.expiresAt)}:\n  ${url}\n  ${where}\n`);
      }),
    );

  command
    .command('list')
    .description('List console identities: role, the groups they may approve for, live sessions')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) =>
      withApp(factory, io, async (app) => {
        const accounts = await app.consoleAccounts();
        const policy = await app.policy();
        const rows = await Promise.all((await accounts.identities()).map(async (i) => ({ ...i, approverFor: await approverGroups(policy, i.id) })));
        if (flags.json) {
          io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
          return;
        }
        if (rows.length === 0) {
          io.stdout.write('Nobody has signed in to the console yet. giftguard serve (npm start) prints a link for you; invite others with giftguard console invite --name NAME.\n');
          return;
        }
        io.stdout.write(
          table(
            ['IDENTITY', 'NAME', 'ROLE', 'APPROVES FOR', 'SESSIONS', 'LAST SEEN', 'STATUS'],
            rows.map((r) => [r.id, r.name, r.admin ? 'admin' : 'member', r.approverFor.join(', ') || '-', String(r.sessions), when(r.lastSeenAt), r.revokedAt === null ? 'active' : `revoked ${when(r.revokedAt)}`]),
          ),
        );
      }),
    );

  command
    .command('revoke')
    .description('Sign an identity out everywhere and void its unused links, now; it signs in again only when invited again')
    .argument('<identity>', 'e.g. console:dana-finance')
    .action(async (id: string) =>
      withApp(factory, io, async (app) => {
        const { operatorIdentity } = await import('../console/index.js');
        const accounts = await app.consoleAccounts();
        const { sessions, links } = await accounts.revoke(id);
        await app.ledger().recordGuardEvent({ at: app.clock.now(), event: 'console_revoke', outcome: 'revoked', caller: operatorIdentity(app.config.operator), reasons: [id] });
        io.stdout.write(`Revoked ${id}: ${sessions} session${sessions === 1 ? '' : 's'} ended, ${links} unused link${links === 1 ? '' : 's'} voided.\n`);
      }),
    );

  return command;
}
