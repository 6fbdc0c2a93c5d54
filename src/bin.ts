/**
 * @module Executable entry: runs the CLI and exits with its code. If something the command left
 * behind still holds the process open (a socket that would not close after a fatal error), it is
 * ended shortly after rather than lingering with its port half-closed.
 */
import { runCli } from './main.js';

// Files this process creates are its owner's alone (tokens, ledger, reports), whatever the shell's
// umask; the data directory's existing files are repaired separately when it is opened.
process.umask(0o077);

// A reader that goes away (`giftguard runs show … | head`) is not an error: the rest of the output
// is dropped and the command still finishes its work — a batch half-sent because a pager closed
// would be worse than output nobody reads.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

const code = await runCli(process.argv);
process.exitCode = code;
setTimeout(() => process.exit(code), 2000).unref();
