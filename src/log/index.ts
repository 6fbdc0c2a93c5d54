/** @module Logging: the root logger factory and redaction paths. */
export { createLogger, silentLogger, REDACT_PATHS } from './logger.js';
export type { Logger, LoggerOptions } from './logger.js';
