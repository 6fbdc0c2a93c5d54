/**
 * @module Bolt's and the Web API client's own log messages, sent to pino instead of the console.
 */
import { LogLevel } from '@slack/bolt';
import type { Logger as SlackLogger } from '@slack/bolt';
import type { Logger } from '../../log/index.js';

/** A Slack SDK logger writing to `log`. */
export function slackLogger(log: Logger): SlackLogger {
  let level = LogLevel.INFO;
  return {
    debug: (...parts: unknown[]) => log.debug({ bolt: true }, parts.map(String).join(' ')),
    info: (...parts: unknown[]) => log.info({ bolt: true }, parts.map(String).join(' ')),
    warn: (...parts: unknown[]) => log.warn({ bolt: true }, parts.map(String).join(' ')),
    error: (...parts: unknown[]) => log.error({ bolt: true }, parts.map(String).join(' ')),
    setLevel: (next: LogLevel) => (level = next),
    getLevel: () => level,
    setName: () => undefined,
  };
}
