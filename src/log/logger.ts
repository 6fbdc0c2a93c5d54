/**
 * @module The root pino logger and the redaction list. Secrets are removed by path before a log
 * line is written, so a careless `logger.info({ tokens })` still cannot leak one.
 */
import { pino } from 'pino';
import type { DestinationStream, Logger, LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

const SECRET_KEYS = [
  'authorization',
  'Authorization',
  'cookie',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'token',
  'clientSecret',
  'client_secret',
  'password',
  'signingSecret',
  'signing_secret',
  'botToken',
  'apiKey',
  'api_key',
];

/** Every secret key at the top level and up to three levels down (pino paths need explicit depth). */
export const REDACT_PATHS: readonly string[] = SECRET_KEYS.flatMap((key) => [
  key,
  `*.${key}`,
  `*.*.${key}`,
  `*.*.*.${key}`,
]);

export interface LoggerOptions {
  readonly level?: LevelWithSilent;
  /** Where lines go; stderr by default so stdout stays free for command output and MCP stdio. */
  readonly destination?: DestinationStream;
}

/** Creates the one root logger; modules derive `.child({ module })` from it. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
      base: { service: 'giftguard' },
    },
    options.destination ?? pino.destination({ dest: 2, sync: true }),
  );
}

/** A logger that writes nothing, for library use where the caller passed none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
