/**
 * @module `giftguard sandbox`: serve the embedded Sendoso and print how to use it.
 */
import { Command, Option } from 'commander';
import { ConfigError } from '../../domain/index.js';
import type { Config } from '../../config/index.js';
import type { Logger } from '../../log/index.js';
import type { HeaderStyle, RunningSandbox } from '../../sandbox/index.js';
import type { CliIo } from './io.js';

/**
 * The sandbox's headerStyles, repeated for the option's choices: building the command tree (every
 * command, and --help) must not load the sandbox, which brings Svix with it.
 * test/cli/startup-modules.test.ts checks that the two agree.
 */
export const HEADER_STYLE_CHOICES: readonly HeaderStyle[] = ['ietf', 'ietf-structured', 'x-epoch-seconds', 'x-epoch-ms', 'retry-after-date', 'none'];

interface SandboxFlags {
  port?: string;
  host?: string;
  seed?: string;
  state?: string;
  rateLimit?: string;
  headerStyle?: string;
  control?: boolean;
  printSeed?: boolean;
  webhookUrl?: string;
  logLevel?: string;
}

/** The `sandbox` command. */
export function sandboxCommand(io: CliIo): Command {
  return new Command('sandbox')
    .description('Serve the embedded Sendoso API v3 sandbox (no Sendoso account needed)')
    .option('-p, --port <port>', 'port to listen on; 0 picks a free port (default 8787, env GIFTGUARD_SANDBOX_PORT)')
    .option('--host <host>', 'interface to listen on (default 127.0.0.1, env GIFTGUARD_SANDBOX_HOST)')
    .option('--seed <file>', 'seed JSON file to load instead of the built-in stories')
    .option('--state <file>', 'keep state in this JSON file across restarts')
    .option('--rate-limit <n>', 'requests per second before 429 (default 10, like Sendoso)')
    .addOption(new Option('--header-style <style>', 'how rate-limit headers are written (default ietf)').choices([...HEADER_STYLE_CHOICES]))
    .option('--control', 'serve /__sandbox control endpoints: virtual clock, faults, send log')
    .option('--webhook-url <url>', 'deliver Svix-signed webhooks for every send status change here (env GIFTGUARD_SANDBOX_WEBHOOK_URL; secret GIFTGUARD_SANDBOX_WEBHOOK_SECRET)')
    .option('--print-seed', 'print the built-in seed JSON (a start for your own --seed file) and exit')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (default info)')
    .addHelpText(
      'after',
      `
Examples:
  giftguard sandbox                        serve on http://127.0.0.1:8787 and print a token
  giftguard sandbox --control --port 0     any free port, with control endpoints
  giftguard sandbox --print-seed > my.json then: giftguard sandbox --seed my.json`,
    )
    .action(async (flags: SandboxFlags) => {
      const [{ defaultSeedText, newWebhookSecret }, { loadConfig }] = await Promise.all([import('../../sandbox/index.js'), import('../../config/index.js')]);
      if (flags.printSeed) {
        io.stdout.write(defaultSeedText());
        return;
      }
      const config = loadConfig(io.env, {
        sandboxPort: flags.port,
        sandboxHost: flags.host,
        sandboxSeed: flags.seed,
        sandboxState: flags.state,
        sandboxRateLimit: flags.rateLimit,
        sandboxHeaderStyle: flags.headerStyle,
        sandboxControl: flags.control,
        sandboxWebhookUrl: flags.webhookUrl,
        logLevel: flags.logLevel,
      }, { sandboxPort: '--port', sandboxHost: '--host' });
      const sandbox = await startConfiguredSandbox(config);
      // Webhooks for a receiver of the user's (e.g. a giftguard serve against this sandbox).
      const webhookSecret = config.sandboxWebhookUrl ? (config.sandboxWebhookSecret ?? newWebhookSecret()) : undefined;
      if (config.sandboxWebhookUrl && webhookSecret) sandbox.configureWebhooks({ url: config.sandboxWebhookUrl, secret: webhookSecret });
      io.stdout.write(describeSandbox(sandbox, config));
      if (config.sandboxWebhookUrl && webhookSecret && !config.sandboxWebhookSecret) {
        // Made up for this run only, and the receiver needs it: shown once, like the token above.
        io.stdout.write(`Webhooks to ${config.sandboxWebhookUrl}, signed with ${webhookSecret}\n(set it as GIFTGUARD_SENDOSO_WEBHOOK_SECRET for giftguard serve)\n\n`);
      }
      await io.untilStopped();
      await sandbox.close();
      io.stdout.write('sandbox stopped\n');
    });
}

/** Starts the sandbox a config describes; shared by `sandbox` and, later, `serve`. */
export async function startConfiguredSandbox(config: Config, portFlag = '--port', logger?: Logger): Promise<RunningSandbox> {
  const [{ loadSeedFile, startSandbox }, { createLogger }] = await Promise.all([import('../../sandbox/index.js'), import('../../log/index.js')]);
  logger ??= createLogger({ level: config.logLevel ?? 'info' });
  const seed = config.sandboxSeed === undefined ? undefined : await loadSeedFile(config.sandboxSeed);
  try {
    return await startSandbox({
    host: config.sandboxHost,
    port: config.sandboxPort,
    ...(seed && { seed }),
    ...(config.sandboxState !== undefined && { stateFile: config.sandboxState }),
    rateLimit: config.sandboxRateLimit,
    headerStyle: config.sandboxHeaderStyle,
    control: config.sandboxControl,
    logger,
  });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      throw new ConfigError(
        'GIFTGUARD_SANDBOX_PORT',
        `cannot listen on ${config.sandboxHost}:${config.sandboxPort} (${code === 'EADDRINUSE' ? 'already in use' : 'permission denied'}); pass ${portFlag} 0 for any free port`,
      );
    }
    throw error;
  }
}

/** What a person needs to start using the sandbox. */
export function describeSandbox(sandbox: RunningSandbox, config: Config): string {
  const tokens = sandbox.issueToken();
  const lines = [
    `giftguard sandbox — Sendoso API v3 on ${sandbox.url}`,
    '',
    `  API base       ${sandbox.apiBaseUrl}`,
    `  Access token   ${tokens.access_token}`,
    `                 (valid ${tokens.expires_in / 3600} h of sandbox time)`,
    `  Refresh token  ${tokens.refresh_token}  (works once; rotates)`,
    `  OAuth client   ${sandbox.oauthClient.clientId} / ${sandbox.oauthClient.clientSecret}  → POST ${sandbox.url}/oauth/token`,
    `  Rate limit     ${config.sandboxRateLimit} requests/s, ${config.sandboxHeaderStyle} headers`,
    `  State          ${config.sandboxState ?? 'in memory (use --state FILE to keep it)'}`,
    '',
    'Try it:',
    `  curl -s -H "Authorization: Bearer ${tokens.access_token}" ${sandbox.apiBaseUrl}/touches`,
    `  curl -s -H "Authorization: Bearer ${tokens.access_token}" ${sandbox.apiBaseUrl}/groups`,
    `  curl -s -H "Authorization: Bearer ${tokens.access_token}" "${sandbox.apiBaseUrl}/send?per_page=5"`,
  ];
  if (config.sandboxControl) {
    lines.push(
      '',
      `Control endpoints (tests and demos): ${sandbox.url}/__sandbox`,
      `  curl -s -X POST -H "Content-Type: application/json" -d '{"days":7}' ${sandbox.url}/__sandbox/clock/advance`,
      `  curl -s ${sandbox.url}/__sandbox/sends`,
    );
  }
  lines.push('', 'Press Ctrl+C to stop.', '');
  return lines.join('\n');
}
