/**
 * @module `giftguard connect [--group NAME]` and `giftguard connections list|remove`. Connecting
 * runs the OAuth 2.0 authorization-code flow as people expect of a CLI (RFC 8252): it prints (or
 * opens) Sendoso's authorize URL, receives the code on a loopback callback with `state` checked,
 * learns who signed in and which team group they send for, and keeps the token pair encrypted.
 * From then on that group's sends go out as that person, and Sendoso charges that group.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { Command, Option } from 'commander';
import { GiftingError } from '../../domain/index.js';
import type { SenderIdentity } from '../../sendoso/index.js';
import type { AppFactory, SendosoConnection } from './app.js';
import { table, when } from './format.js';
import type { CliIo } from './io.js';
import { integer } from './options.js';

const CALLBACK_PATH = '/oauth/callback';

const page = (title: string, text: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p>${text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')}</p></body></html>`;

/** Waits for one authorization answer on a loopback port; resolves with the code. */
function loopback(port: number, expectedState: string, timeoutMs: number): Promise<{ server: Server; port: number; code: Promise<string> }> {
  return new Promise((resolveServer, rejectServer) => {
    let settle: { resolve: (code: string) => void; reject: (error: Error) => void };
    const code = new Promise<string>((resolve, reject) => (settle = { resolve, reject }));
    const timer = setTimeout(() => settle.reject(new GiftingError('oauth', `No answer from Sendoso within ${Math.round(timeoutMs / 60_000)} minutes; nothing was connected. Run giftguard connect again.`)), timeoutMs);
    const server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const answer = (status: number, title: string, text: string) => {
        response.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': "default-src 'none'" });
        response.end(page(title, text));
      };
      if (url.pathname !== CALLBACK_PATH) return answer(404, 'Not found', 'This is giftguard connect waiting for Sendoso.');
      // The state ties the answer to this very request: anything else is not ours to accept.
      if (url.searchParams.get('state') !== expectedState) return answer(400, 'Not this request', 'The answer does not belong to this giftguard connect (state mismatch); it was ignored.');
      clearTimeout(timer);
      const error = url.searchParams.get('error');
      const got = url.searchParams.get('code');
      if (error || !got) {
        answer(400, 'Not connected', `Sendoso answered ${error ?? 'without a code'}; nothing was connected.`);
        settle.reject(new GiftingError('oauth', error === 'access_denied' ? 'Access was denied on Sendoso; nothing was connected.' : `Sendoso answered ${error ?? 'without a code'}; nothing was connected.`));
        return;
      }
      answer(200, 'giftguard is connecting', 'You can close this window; the terminal says what happened.');
      settle.resolve(got);
    });
    server.once('error', (error) => rejectServer(new GiftingError('config', `Cannot listen on 127.0.0.1:${port} for Sendoso's answer: ${error.message}. Choose another --port.`)));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      resolveServer({ server, port: typeof address === 'object' && address ? address.port : port, code: code.finally(() => clearTimeout(timer)) });
    });
  });
}

/** Opens a URL in the desktop's browser, if there is one; quietly does nothing otherwise. */
function openBrowser(url: string): void {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    const child = spawn(command, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // no browser here: the printed URL is enough
  }
}

const groupMatches = (identity: SenderIdentity, group: string) =>
  identity.groupName.trim().toLowerCase() === group.trim().toLowerCase() || String(identity.groupId) === group.trim();

export function connectCommand(io: CliIo, factory: AppFactory): Command {
  return new Command('connect')
    .description("Connect a Sendoso sender (OAuth): a group's sends then go out as that person, and Sendoso charges that group")
    .option('--group <name>', 'the team group the sender must belong to (refused if they do not)')
    .addOption(new Option('--port <n>', 'loopback port for Sendoso\'s answer (default: any free port; use the one registered for your OAuth app)').default(0).argParser(integer('--port', 0, 65_535)))
    .option('--open', 'open the URL in a browser as well as printing it')
    .addOption(new Option('--timeout <minutes>', 'how long to wait for the answer').default(10).argParser(integer('--timeout', 1, 120)))
    .addHelpText(
      'after',
      `
The URL is printed; open it, sign in to Sendoso as someone of the group, and allow giftguard. With
no browser, follow it with any HTTP client: the embedded sandbox's consent page is a plain form
(see the README, "Connect each group's sender").`,
    )
    .action(async (flags: { group?: string; port: number; open?: boolean; timeout: number }) => {
      const app = factory({ env: io.env });
      let server: Server | undefined;
      try {
        const connection = await app.connectSendoso({ sandboxPort: 0 });
        const { MemoryTokenStore, SendosoOAuth, sendosoIdentity, staticAccessToken } = await import('../../sendoso/index.js');
        const oauth = connection.oauth;
        if (!oauth) {
          throw new GiftingError('config', 'Connecting a sender needs giftguard\'s OAuth client at Sendoso: set SENDOSO_CLIENT_ID and SENDOSO_CLIENT_SECRET.');
        }
        const state = randomBytes(16).toString('base64url');
        const listening = await loopback(flags.port, state, flags.timeout * 60_000);
        server = listening.server;
        const redirect = `http://127.0.0.1:${listening.port}${CALLBACK_PATH}`;
        const client = new SendosoOAuth({ ...oauth, store: new MemoryTokenStore(), logger: app.logger });
        const url = client.authorizeUrl(redirect, 'public write update', state);
        io.stdout.write(
          `To connect a Sendoso sender${flags.group ? ` for ${flags.group}` : ''}, open this URL and sign in to Sendoso as ${flags.group ? `one of ${flags.group}'s people` : 'the person giftguard should send as'}:\n\n  ${url}\n\nWaiting for Sendoso to send you back to ${redirect} (up to ${flags.timeout} minutes)…\n`,
        );
        if (flags.open) openBrowser(url);
        const code = await listening.code;
        const tokens = await client.exchangeCode(code, redirect);
        const identity = await sendosoIdentity(connection.clientFor(staticAccessToken(tokens.accessToken)));
        if (flags.group && !groupMatches(identity, flags.group)) {
          throw new GiftingError(
            'bad_request',
            `You signed in as ${identity.userName} <${identity.userEmail}>, who sends for ${identity.groupName}, not ${flags.group}; nothing was connected. Run giftguard connect --group "${flags.group}" again and sign in as one of ${flags.group}'s people.`,
          );
        }
        const saved = await app.connections().save(
          { account: connection.account, userId: identity.userId, userEmail: identity.userEmail, userName: identity.userName, groupId: identity.groupId, groupName: identity.groupName, origin: 'oauth' },
          tokens,
        );
        io.stdout.write(`Connected ${identity.userName} <${identity.userEmail}>: ${identity.groupName}'s sends now go out as them, and Sendoso charges ${identity.groupName} (connection ${saved.id}).\n`);
      } finally {
        server?.close();
        server?.closeAllConnections();
        await app.close();
      }
    });
}

/** Who sends for whom: each stored connection, and the configured one. */
async function describe(connection: SendosoConnection) {
  const rows = (await connection.senders.list()).map((c) => ({ id: c.id, group: c.groupName, sender: `${c.userName} <${c.userEmail}>`, origin: c.origin, since: c.updatedAt as number | null }));
  const primary = await connection.senders.primary();
  if (primary && !rows.some((r) => r.sender.endsWith(`<${primary.userEmail}>`))) {
    rows.unshift({ id: 'configured', group: primary.groupName, sender: `${primary.userName} <${primary.userEmail}>`, origin: 'configured', since: null });
  }
  return rows;
}

export function connectionsCommand(io: CliIo, factory: AppFactory): Command {
  const connections = new Command('connections').description('Sendoso sender connections: who sends (and pays) for which group');
  connections
    .command('list')
    .description('List sender connections (never their tokens)')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const app = factory({ env: io.env });
      try {
        const rows = await describe(await app.connectSendoso({ sandboxPort: 0 }));
        if (flags.json) io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        else if (rows.length === 0) io.stdout.write('No sender is connected. Connect one per group: giftguard connect --group "Marketing"\n');
        else io.stdout.write(table(['ID', 'GROUP', 'SENDS AS', 'HOW', 'SINCE'], rows.map((r) => [r.id, r.group, r.sender, r.origin, when(r.since)])));
      } finally {
        await app.close();
      }
    });
  connections
    .command('remove')
    .description('Remove a sender connection: its group can no longer send until another is connected')
    .argument('<id>', 'the connection id (giftguard connections list)')
    .action(async (id: string) => {
      const app = factory({ env: io.env });
      try {
        if (!(await app.connections().remove(id))) throw new GiftingError('not_found', `No sender connection ${id}; see giftguard connections list`);
        io.stdout.write(`Removed ${id}. Its tokens are deleted from giftguard.\n`);
      } finally {
        await app.close();
      }
    });
  return connections;
}
