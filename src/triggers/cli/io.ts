/**
 * @module What a CLI command may touch of the process: its streams, environment and the way it
 * waits for shutdown. Passed in by the composition root (src/main.ts), so commands run inside
 * tests without a child process.
 */

export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM). */
  readonly untilStopped: () => Promise<void>;
  /** Sets the exit code without throwing (a workflow that ran but failed). */
  readonly setExitCode?: (code: number) => void;
}
