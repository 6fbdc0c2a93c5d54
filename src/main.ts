/**
 * @module The composition root: the only place that reads the process (argv, env, signals). It
 * hands them to the CLI with the App factory (src/app/), where every service is built; everything
 * below takes its dependencies as parameters.
 */
import { CommanderError } from 'commander';
import { GiftingError } from './domain/index.js';
import { createApp, layer, prepareApp } from './app/index.js';
import type { AppFactory, CliIo } from './triggers/index.js';
import packageJson from '../package.json' with { type: 'json' };

/** The real process's streams, environment and stop signals. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    untilStopped: () =>
      new Promise((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      }),
  };
}

/**
 * Runs the CLI to completion. Errors become one line on stderr and a non-zero exit code; a
 * GiftingError's message is written for people, so it is shown as is.
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo(), appFactory: AppFactory = createApp): Promise<number> {
  const { createProgram } = await layer('cli');
  let exitCode = 0;
  const program = createProgram({ ...io, setExitCode: (code) => (exitCode = code) }, packageJson.version, appFactory, prepareApp);
  try {
    await program.parseAsync([...argv]);
    return exitCode;
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
