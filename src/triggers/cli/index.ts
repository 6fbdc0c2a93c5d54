/** @module The command-line trigger. */
export { createProgram } from './program.js';
export { processIo } from './io.js';
export type { CliIo } from './io.js';
