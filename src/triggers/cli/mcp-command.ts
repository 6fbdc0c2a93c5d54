/**
 * @module `giftguard mcp …` (scoped MCP servers: create, list, revoke, stdio) and
 * `giftguard api-token …` (the second factor a server can require).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { Command, Option } from 'commander';
import { GiftingError } from '../../domain/index.js';
import { publicBaseUrl } from '../../config/index.js';
import { runningServe, writePrivateFileSync } from '../../storage/index.js';
import type { ToolScope } from '../../tools/index.js';
import type { App, AppFactory } from './app.js';
import { list, table, when } from './format.js';
import type { CliIo } from './io.js';
import { integer } from './options.js';

function parseExpiry(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new GiftingError('bad_request', `--expires-at must be an ISO 8601 time such as 2026-12-31T23:59:00Z (got "${value}")`);
  if (ms < now + 60_000) throw new GiftingError('bad_request', `--expires-at must be at least 60 seconds in the future (got ${new Date(ms).toISOString()})`);
  return ms;
}

async function withApp<T>(factory: AppFactory, io: CliIo, run: (app: App) => Promise<T> | T): Promise<T> {
  const app = factory({ env: io.env });
  try {
    return await run(app);
  } finally {
    await app.close();
  }
}

/** The mcp-remote release the snippets name (pinned: a snippet should not change under its user). */
export const MCP_REMOTE = 'mcp-remote@0.15.1';

/** What a connection snippet needs to know about the server it connects to. */
export interface SnippetTarget {
  readonly url: string;
  readonly token: string;
  /** Clients must also send a giftguard API token. */
  readonly requireApiTokenAuth: boolean;
}

/**
 * How a client starts `giftguard mcp stdio` from this copy: the bin's absolute path for a checkout
 * or a project install; `npx giftguard@<version>` when running from npx's cache, which npm may
 * delete at any time.
 */
function stdioLauncher(app: App): { command: string; args: string[] } {
  const root = app.config.location.packageRoot;
  if (root.split(sep).includes('_npx')) return { command: 'npx', args: ['-y', `giftguard@${app.version}`, 'mcp', 'stdio'] };
  return { command: process.execPath, args: [join(root, 'bin', 'giftguard.js'), 'mcp', 'stdio'] };
}

/** Where the mcp-remote snippet expects the API-token header file. */
export const headerFileFor = (app: App) => join(app.config.home, 'mcp-remote.headers');

/**
 * Snippets a person pastes into Claude Desktop, mcp-remote and ChatGPT. No secret is put where
 * `ps` shows it to other local users: the stdio server takes its token from the environment, and
 * mcp-remote reads the API-token header from an owner-only file.
 */
export function connectionHelp(target: SnippetTarget, app: App): string {
  const loopback = /^http:\/\/(127\.|localhost|\[::1\])/.test(target.url);
  const headerFile = headerFileFor(app);
  const remoteArgs = [
    '-y',
    MCP_REMOTE,
    target.url,
    ...(target.requireApiTokenAuth ? ['--header-file', headerFile] : []),
    ...(target.url.startsWith('http:') && !loopback ? ['--allow-http'] : []),
  ];
  const remote = { mcpServers: { giftguard: { command: 'npx', args: remoteArgs } } };
  const stdio = {
    mcpServers: {
      giftguard: {
        ...stdioLauncher(app),
        env: {
          GIFTGUARD_HOME: app.config.home,
          GIFTGUARD_MCP_TOKEN: target.token,
          ...(target.requireApiTokenAuth && { GIFTGUARD_API_TOKEN: 'ggapi_… (from giftguard api-token create)' }),
        },
      },
    },
  };
  return [
    'Connect it:',
    target.requireApiTokenAuth
      ? '  ChatGPT   cannot send the API-token header this server requires; create one without --require-api-token-auth for ChatGPT.'
      : '  ChatGPT   Settings → Apps & Connectors → Advanced → Developer mode, then "Create" a connector with this URL.\n' +
        '            ChatGPT needs a public HTTPS URL: run a tunnel to this port and set GIFTGUARD_PUBLIC_URL to it.',
    '  Claude Desktop (claude_desktop_config.json), through mcp-remote:',
    indent(prettyJson(remote), 4),
    ...(target.requireApiTokenAuth
      ? [
          '    mcp-remote sends the API token from that file (owner-only, never on a command line); write it with:',
          `      giftguard api-token create --name "claude desktop" --header-file ${headerFile}`,
        ]
      : []),
    '  or over stdio, without the HTTP server (the token travels in the environment, not on the command line):',
    indent(prettyJson(stdio), 4),
    `  Any MCP client: Streamable HTTP at the URL above; legacy SSE at the URL + /sse.${target.requireApiTokenAuth ? ' Send Authorization: Bearer ggapi_… with every request.' : ''}`,
  ].join('\n');
}

/** JSON with two-space indentation but short arrays kept on one line, as people write config. */
const prettyJson = (value: unknown) =>
  JSON.stringify(value, null, 2).replace(/\[\s+([^[\]{}]*?)\s+\]/g, (_m, inner: string) => `[${inner.split(/,\s+/).join(', ')}]`);

const indent = (text: string, n: number) =>
  text
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n');

/** The stdio server's token: from --token-file, GIFTGUARD_MCP_TOKEN or (discouraged) --token. */
function stdioToken(flags: { token?: string; tokenFile?: string }, io: CliIo, fromSettings: string | undefined): string | undefined {
  const given = [flags.token !== undefined, flags.tokenFile !== undefined, fromSettings !== undefined].filter(Boolean).length;
  if (given > 1) throw new GiftingError('bad_request', 'Give the MCP token one way: GIFTGUARD_MCP_TOKEN, --token-file or --token');
  if (flags.tokenFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(flags.tokenFile, 'utf8');
    } catch (error) {
      throw new GiftingError('bad_request', `Cannot read --token-file ${flags.tokenFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    const token = text.trim();
    if (token === '') throw new GiftingError('bad_request', `--token-file ${flags.tokenFile} is empty`);
    return token;
  }
  if (flags.token !== undefined) {
    io.stderr.write('giftguard: warning: --token puts the MCP token where ps shows it to every local user; use GIFTGUARD_MCP_TOKEN or --token-file\n');
    return flags.token;
  }
  return fromSettings;
}

/**
 * A server bound to a group the policy does not name could only ever be refused: say so now, with
 * the groups it does name. (With no policy at all every spend is refused anyway, and said so.)
 */
async function assertPolicyGroup(app: App, group: string): Promise<void> {
  const policy = await app.policy();
  if (!policy) return;
  const { findGroupPolicy } = await import('../../guard/index.js');
  if (!findGroupPolicy(policy, group)) {
    throw new GiftingError('bad_request', `No spend policy covers the group "${group}", so every send through this server would be refused. Groups in the policy: ${policy.groups.map((g) => g.group).join(', ')}.`);
  }
}

/** `giftguard mcp` */
export function mcpCommand(io: CliIo, factory: AppFactory): Command {
  const mcp = new Command('mcp').description('Scoped MCP servers: each has its own secret URL and its own set of tools');

  mcp
    .command('create')
    .description('Create a scoped MCP server and print its URL (shown once)')
    .requiredOption('--name <name>', 'a name to recognise it by')
    .option('--methods <list>', 'read (list+get), write (create+update+delete), custom, or exact method/tool names; comma-separated (default: all)')
    .option('--tags <list>', 'only tools with one of these tags: campaigns, gifts, groups, users, sends, reporting, giftguard (default: all)')
    .option('--expires-at <iso>', 'stop working at this time (at least 60 s ahead), e.g. 2026-12-31T23:59:00Z')
    .option('--require-api-token-auth', 'also require "Authorization: Bearer <giftguard API token>" (see giftguard api-token create)')
    .option('--group <name>', 'the spend-policy group its sending tools charge')
    .option('--json', 'print JSON instead of text')
    .addHelpText('after', '\nExample:\n  giftguard mcp create --name "read-only reporting" --methods read')
    .action(async (flags: { name: string; methods?: string; tags?: string; expiresAt?: string; requireApiTokenAuth?: boolean; group?: string; json?: boolean }) =>
      withApp(factory, io, async (app) => {
        const { assertUsableScope } = await import('../../tools/index.js');
        const scope: ToolScope = { methods: list(flags.methods), tags: list(flags.tags) };
        const tools = assertUsableScope(app.tools, scope);
        if (flags.group !== undefined) await assertPolicyGroup(app, flags.group);
        const { server, token } = await app.registry().createServer({
          name: flags.name,
          scope,
          group: flags.group,
          expiresAt: parseExpiry(flags.expiresAt, app.clock.now()),
          requireApiTokenAuth: flags.requireApiTokenAuth,
        });
        // The serve running on this data directory answers the URL, whatever port it was given.
        const serve = await runningServe(app.dataDirectory());
        const url = `${serve?.url ?? publicBaseUrl(app.config)}/mcp/${token}`;
        if (flags.json) {
          io.stdout.write(`${JSON.stringify({ ...server, url, serveRunning: serve !== undefined, tools: tools.map((t) => t.name) }, null, 2)}\n`);
          return;
        }
        io.stdout.write(
          [
            `Created MCP server ${server.id} "${server.name}" with ${tools.length} tool${tools.length === 1 ? '' : 's'}: ${tools.map((t) => t.name).join(', ')}`,
            server.expiresAt ? `It stops working at ${when(server.expiresAt)}.` : 'It does not expire; revoke it with: giftguard mcp revoke ' + server.id,
            server.requireApiTokenAuth ? 'Clients must also send Authorization: Bearer <giftguard API token>.' : '',
            '',
            'URL (shown only now; anyone with it can use these tools — keep it secret):',
            `  ${url}`,
            serve
              ? `  answered by giftguard serve (process ${serve.pid}) using ${app.dataDirectory()}`
              : `  No giftguard serve is running on ${app.dataDirectory()}; the URL answers once \`giftguard serve\` runs on port ${app.config.port}${app.config.publicUrl ? ` behind ${app.config.publicUrl}` : ''}.`,
            '',
            connectionHelp({ url, token, requireApiTokenAuth: server.requireApiTokenAuth }, app),
            '',
          ]
            .filter((line, i, all) => line !== '' || all[i - 1] !== '')
            .join('\n'),
        );
      }),
    );

  mcp
    .command('list')
    .description('List MCP servers (their URLs cannot be shown again)')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) =>
      withApp(factory, io, async (app) => {
        const { selectTools } = await import('../../tools/index.js');
        const servers = await app.registry().listServers();
        if (flags.json) {
          io.stdout.write(`${JSON.stringify(servers.map((s) => ({ ...s, tools: selectTools(app.tools, s.scope).map((t) => t.name) })), null, 2)}\n`);
          return;
        }
        if (servers.length === 0) {
          io.stdout.write('No MCP servers. Create one with: giftguard mcp create --name NAME [--methods read]\n');
          return;
        }
        io.stdout.write(
          table(
            ['ID', 'NAME', 'METHODS', 'TAGS', 'TOOLS', 'GROUP', 'API TOKEN', 'EXPIRES', 'CREATED'],
            servers.map((s) => [
              s.id,
              s.name,
              s.scope.methods?.join(',') || 'all',
              s.scope.tags?.join(',') || 'all',
              String(selectTools(app.tools, s.scope).length),
              s.group ?? '-',
              s.requireApiTokenAuth ? 'required' : '-',
              s.expiresAt !== null && s.expiresAt <= app.clock.now() ? `expired ${when(s.expiresAt)}` : when(s.expiresAt),
              when(s.createdAt),
            ]),
          ),
        );
      }),
    );

  mcp
    .command('revoke')
    .description('Delete an MCP server; its URL stops working at once')
    .argument('<id>', 'the server id from giftguard mcp list')
    .action(async (id: string) =>
      withApp(factory, io, async (app) => {
        if (!(await app.registry().revokeServer(id))) throw new GiftingError('not_found', `No MCP server ${id}; see giftguard mcp list`);
        io.stdout.write(`Revoked ${id}; its URL no longer works.\n`);
      }),
    );

  mcp
    .command('stdio')
    .description('Serve MCP over stdin/stdout (for Claude Desktop and other local clients)')
    .option('--token-file <path>', 'read the MCP token (from giftguard mcp create) from this file; or set GIFTGUARD_MCP_TOKEN')
    .addOption(new Option('--token <token>', 'the MCP token on the command line (visible to other local users in ps; prefer GIFTGUARD_MCP_TOKEN)').hideHelp())
    .option('--methods <list>', 'without a token: read, write, custom or exact names (default: all)')
    .option('--tags <list>', 'without a token: only tools with one of these tags')
    .option('--group <name>', 'without a token: the spend-policy group sending tools charge')
    .addHelpText(
      'after',
      [
        '',
        'The token comes from GIFTGUARD_MCP_TOKEN or --token-file, never the command line, where ps shows it to',
        'every local user. It is checked on every call: revoked or expired, the next call is refused. A server',
        'made with --require-api-token-auth also needs GIFTGUARD_API_TOKEN.',
        'Without SENDOSO_API_URL it uses the sandbox of a running giftguard serve, or starts a private one.',
        'Logs go to stderr; stdout carries only MCP.',
      ].join('\n'),
    )
    .action(async (flags: { token?: string; tokenFile?: string; methods?: string; tags?: string; group?: string }) => {
      const app = factory({ env: io.env, service: true });
      try {
        const token = stdioToken(flags, io, app.config.mcpToken);
        if (token !== undefined && (flags.methods || flags.tags || flags.group)) throw new GiftingError('bad_request', 'A token already fixes the scope; leave out --methods, --tags and --group');
        const stdio = await app.mcpStdio({ token, scope: { methods: list(flags.methods), tags: list(flags.tags) }, group: flags.group });
        const why = await Promise.race([stdio.closed.then(() => 'client gone' as const), io.untilStopped().then(() => 'stop signal' as const)]);
        await stdio.stop({ drain: why === 'stop signal' });
      } finally {
        await app.close();
      }
    });

  return mcp;
}

/** `giftguard api-token` */
export function apiTokenCommand(io: CliIo, factory: AppFactory): Command {
  const command = new Command('api-token').description('giftguard API tokens: the second factor an MCP server can require');
  command
    .command('create')
    .description('Create an API token and print it (shown once)')
    .requiredOption('--name <name>', 'a name to recognise it by')
    .option('--expires-at <iso>', 'stop working at this time (at least 60 s ahead)')
    .option('--header-file <path>', 'write "Authorization: Bearer <token>" to this owner-only file for mcp-remote --header-file, instead of printing the token')
    .option('--token-file <path>', "write the token alone to this owner-only file (Prometheus' credentials_file), instead of printing it")
    .action(async (flags: { name: string; expiresAt?: string; headerFile?: string; tokenFile?: string }) =>
      withApp(factory, io, async (app) => {
        const registry = app.registry();
        if (flags.headerFile !== undefined && flags.tokenFile !== undefined) throw new GiftingError('bad_request', '--header-file and --token-file: choose one (create a second token for the other use)');
        const [flag, given] = flags.tokenFile !== undefined ? ['--token-file', flags.tokenFile] : ['--header-file', flags.headerFile];
        // Checked before the token exists, so a bad path leaves no token behind.
        const path = given === undefined ? undefined : resolve(given);
        if (path !== undefined) {
          if (!existsSync(dirname(path))) throw new GiftingError('bad_request', `${flag}: the directory ${dirname(path)} does not exist`);
          if (existsSync(path)) throw new GiftingError('bad_request', `${flag}: ${path} already exists; remove it first (the token in it keeps working until you revoke it with giftguard api-token revoke)`);
        }
        const { apiToken, token } = await registry.createApiToken(flags.name, parseExpiry(flags.expiresAt, app.clock.now()));
        const created = `Created API token ${apiToken.id} "${apiToken.name}"${apiToken.expiresAt ? `, valid until ${when(apiToken.expiresAt)}` : ''}.\n`;
        if (path !== undefined && flag === '--token-file') {
          writePrivateFileSync(path, `${token}\n`);
          io.stdout.write(`${created}Wrote the token to ${path} (mode 0600), e.g. for Prometheus: authorization: { type: Bearer, credentials_file: ${path} }\n`);
          return;
        }
        if (path !== undefined) {
          writePrivateFileSync(path, `Authorization: Bearer ${token}\n`);
          io.stdout.write(`${created}Wrote its Authorization header to ${path} (mode 0600), for: npx -y ${MCP_REMOTE} URL --header-file ${path}\n`);
          return;
        }
        io.stdout.write(`${created}Token (shown only now): ${token}\nClients send it as: Authorization: Bearer ${token}\n`);
      }),
    );
  command
    .command('list')
    .description('List API tokens')
    .action(async () =>
      withApp(factory, io, async (app) => {
        const tokens = await app.registry().listApiTokens();
        io.stdout.write(
          tokens.length === 0
            ? 'No API tokens. Create one with: giftguard api-token create --name NAME\n'
            : table(['ID', 'NAME', 'EXPIRES', 'CREATED'], tokens.map((t) => [t.id, t.name, when(t.expiresAt), when(t.createdAt)])),
        );
      }),
    );
  command
    .command('revoke')
    .description('Delete an API token; it stops working at once')
    .argument('<id>', 'the token id from giftguard api-token list')
    .action(async (id: string) =>
      withApp(factory, io, async (app) => {
        if (!(await app.registry().revokeApiToken(id))) throw new GiftingError('not_found', `No API token ${id}; see giftguard api-token list`);
        io.stdout.write(`Revoked ${id}.\n`);
      }),
    );
  return command;
}

/** `giftguard audit` */
export function auditCommand(io: CliIo, factory: AppFactory): Command {
  return new Command('audit')
    .description('Show recent MCP tool calls (personal data in arguments is redacted)')
    .option('--server <id>', 'only calls to this MCP server')
    .addOption(new Option('--limit <n>', 'how many, newest first').default(20).argParser(integer('--limit', 1, 10_000)))
    .option('--json', 'print JSON')
    .action(async (flags: { server?: string; limit: number; json?: boolean }) =>
      withApp(factory, io, async (app) => {
        const rows = await app.toolCalls().list({ ...(flags.server && { serverId: flags.server }), limit: flags.limit });
        if (flags.json) {
          io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
          return;
        }
        io.stdout.write(
          rows.length === 0
            ? 'No tool calls recorded yet.\n'
            : table(
                ['WHEN', 'SERVER', 'TOOL', 'OUTCOME', 'STATUS', 'MS', 'CLIENT'],
                rows.map((r) => [
                  when(r.at),
                  r.serverId,
                  r.tool,
                  r.outcome,
                  r.status === undefined ? '-' : String(r.status),
                  r.durationMs.toFixed(1),
                  r.clientName ? `${r.clientName} ${r.clientVersion ?? ''}`.trim() : '-',
                ]),
              ),
        );
      }),
    );
}
