/**
 * @module Parses configuration once, from flags and the environment, into a typed object.
 */
import { join } from 'node:path';
import type { z } from 'zod';
import { ConfigError } from '../domain/index.js';
import { settings } from './settings.js';
import type { SettingKey } from './settings.js';

/** The parsed configuration. */
export type Config = { readonly [K in SettingKey]: z.output<(typeof settings)[K]['schema']> } & {
  /** Resolved token file path. */
  readonly tokenFilePath: string;
  /** Resolved SQLite path. */
  readonly databasePath: string;
  /** Resolved signing-key file path (used when GIFTGUARD_SIGNING_KEY is unset). */
  readonly signingKeyPath: string;
};

/** Values given on the command line, keyed by setting; undefined means "not given". */
export type ConfigOverrides = { readonly [K in SettingKey]?: unknown };

/**
 * Reads every setting: the flag value if given, else the environment variable, else the default.
 * Throws a ConfigError naming the flag and variable of the first bad value.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: ConfigOverrides = {},
  /** The flag each override came from, when a command spells it differently from the table. */
  flagNames: { readonly [K in SettingKey]?: string } = {},
): Config {
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(settings) as [SettingKey, (typeof settings)[SettingKey]][]) {
    const fromFlag = overrides[key];
    const raw = fromFlag !== undefined ? fromFlag : env[spec.env] === '' ? undefined : env[spec.env];
    const parsed = spec.schema.safeParse(raw);
    if (!parsed.success) {
      const flag = flagNames[key] ?? ('flag' in spec ? spec.flag : undefined);
      const name = flag ? `${flag} (${spec.env})` : spec.env;
      const shown = 'secret' in spec && spec.secret ? '[redacted]' : JSON.stringify(raw);
      throw new ConfigError(name, `${parsed.error.issues[0]?.message ?? 'invalid value'}; got ${shown}`);
    }
    values[key] = parsed.data;
  }
  const config = values as Omit<Config, 'tokenFilePath' | 'databasePath' | 'signingKeyPath'>;
  return {
    ...config,
    tokenFilePath: config.sendosoTokenFile ?? join(config.home, 'sendoso-tokens.json'),
    databasePath: config.database ?? join(config.home, 'giftguard.db'),
    signingKeyPath: join(config.home, 'signing-key'),
  };
}
