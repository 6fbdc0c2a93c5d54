/**
 * @module The `giftguard` command tree (commander). Each command lives in its own module and
 * receives the process's IO, so the whole CLI runs in tests in-process. Building the tree loads
 * little: each command loads what it runs with (the MCP SDK, xstate, Slack Bolt, OpenAI…) in its
 * action, so `--help` and light commands start fast.
 */
import { Command } from 'commander';
import type { AppFactory, AppPart, PrepareApp } from './app.js';
import type { CliIo } from './io.js';
import { approvalsCommand, budgetCommand, policyCommand, reconcileCommand } from './guard-commands.js';
import { apiTokenCommand, auditCommand, mcpCommand } from './mcp-command.js';
import { runCommand, runsCommand } from './run-commands.js';
import { askCommand } from './ask-command.js';
import { conversationsCommand } from './conversations-command.js';
import { connectCommand, connectionsCommand } from './connect-command.js';
import { consoleCommand } from './console-command.js';
import { dbCommand } from './db-command.js';
import { sandboxCommand } from './sandbox-command.js';
import { schedulesCommand } from './schedules-command.js';
import { serveCommand } from './serve-command.js';
import { statusCommand } from './status-command.js';
import { toolsCommand } from './tools-command.js';

/**
 * The parts of the App (beyond its base) each command's actions use, by top-level command; a
 * command not listed gets every part. List only what the command's actions use synchronously
 * (see AppPart): a part used but not listed is an error at run time.
 */
const APP_PARTS: ReadonlyMap<string, readonly AppPart[]> = new Map([
  ['budget', []],
  // The console's accounts load the console layer themselves (App.consoleAccounts).
  ['console', []],
  ['db', []],
  ['sandbox', []],
  ['status', ['tools']],
  ['tools', ['tools']],
]);
const ALL_PARTS: readonly AppPart[] = ['sendoso', 'tools', 'orchestrator', 'schedule', 'slack'];

/** Builds the CLI; `prepare` runs before each command's action, with the parts of the App it uses. */
export function createProgram(io: CliIo, version: string, factory: AppFactory, prepare?: PrepareApp): Command {
  const program = new Command('giftguard')
    .description('Guard rails for AI agents, Slack and schedules that spend money through Sendoso')
    .version(version)
    .addHelpText('after', '\nRun `giftguard <command> --help` for the options of each command.');
  program.addCommand(serveCommand(io, factory));
  program.addCommand(statusCommand(io, factory));
  program.addCommand(mcpCommand(io, factory));
  program.addCommand(apiTokenCommand(io, factory));
  program.addCommand(runCommand(io, factory));
  program.addCommand(runsCommand(io, factory));
  program.addCommand(askCommand(io, factory));
  program.addCommand(conversationsCommand(io, factory));
  program.addCommand(schedulesCommand(io, factory));
  program.addCommand(policyCommand(io, factory));
  program.addCommand(budgetCommand(io, factory));
  program.addCommand(approvalsCommand(io, factory));
  program.addCommand(consoleCommand(io, factory));
  program.addCommand(reconcileCommand(io, factory));
  program.addCommand(connectCommand(io, factory));
  program.addCommand(connectionsCommand(io, factory));
  program.addCommand(toolsCommand(io, factory));
  program.addCommand(auditCommand(io, factory));
  program.addCommand(dbCommand(io, factory));
  program.addCommand(sandboxCommand(io));
  if (prepare) {
    program.hook('preAction', async (_program, action) => {
      let top = action;
      while (top.parent && top.parent !== program) top = top.parent;
      await prepare(APP_PARTS.get(top.name()) ?? ALL_PARTS);
    });
  }
  applyToTree(program, (command) =>
    command
      .exitOverride()
      .showHelpAfterError('(run with --help for usage)')
      .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) }),
  );
  return program;
}

/** commander copies settings only to subcommands made with .command(), not to added ones. */
function applyToTree(command: Command, apply: (command: Command) => void): void {
  apply(command);
  for (const sub of command.commands) applyToTree(sub, apply);
}
