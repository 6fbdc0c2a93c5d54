/**
 * @module Executable entry: runs the CLI and exits with its code.
 */
import { runCli } from './main.js';

process.exitCode = await runCli(process.argv);
