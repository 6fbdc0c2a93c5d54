/**
 * @module The composition root: the only place that reads the process (argv, env, signals) and
 * wires the layers together. Everything below it takes its dependencies as parameters.
 */
import { CommanderError } from 'commander';
import { GiftingError } from './domain/index.js';
import { createProgram, processIo } from './triggers/index.js';
import type { CliIo } from './triggers/index.js';
import packageJson from '../package.json' with { type: 'json' };

/**
 * Runs the CLI to completion. Errors become one line on stderr and a non-zero exit code; a
 * GiftingError's message is written for people, so it is shown as is.
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const program = createProgram(io, packageJson.version);
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander already printed its message (or the help/version text).
      return error.exitCode;
    }
    const message = error instanceof GiftingError ? error.message : error instanceof Error ? `${error.message}` : String(error);
    io.stderr.write(`giftguard: ${message}\n`);
    return 1;
  }
}
