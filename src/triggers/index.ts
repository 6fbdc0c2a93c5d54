/** @module Triggers: the ways work starts (command line now; Slack, schedules and the agent later). */
export { createProgram, processIo } from './cli/index.js';
export type { CliIo } from './cli/index.js';
