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
};

/** Values given on the command line, keyed by setting; undefined means "not given". */
export type ConfigOverrides = { readonly [K in SettingKey]?: unknown };

/**
 * Reads every setting: the flag value if given, else the environment variable, else the default.
 * Throws a ConfigError naming the flag and variable of the first bad value.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: ConfigOverrides = {}): Config {
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(settings) as [SettingKey, (typeof settings)[SettingKey]][]) {
    const fromFlag = overrides[key];
    const raw = fromFlag !== undefined ? fromFlag : env[spec.env] === '' ? undefined : env[spec.env];
    const parsed = spec.schema.safeParse(raw);
    if (!parsed.success) {
      const name = 'flag' in spec && spec.flag ? `${spec.flag} (${spec.env})` : spec.env;
      const shown = 'secret' in spec && spec.secret ? '[redacted]' : JSON.stringify(raw);
      throw new ConfigError(name, `${parsed.error.issues[0]?.message ?? 'invalid value'}; got ${shown}`);
    }
    values[key] = parsed.data;
  }
  const config = values as Omit<Config, 'tokenFilePath'>;
  return { ...config, tokenFilePath: config.sendosoTokenFile ?? join(config.home, 'sendoso-tokens.json') };
}
