/**
 * @module Parses configuration once, from flags and the environment, into a typed object.
 */
import { join } from 'node:path';
import type { z } from 'zod';
import { ConfigError } from '../domain/index.js';
import { absolutePath, defaultHome, defaultPolicies, defaultSchedules, installLocation } from './locations.js';
import type { InstallLocation } from './locations.js';
import { settings } from './settings.js';
import type { SettingKey } from './settings.js';

/** Settings whose defaults come from where giftguard is installed, not from the table. */
type Located = 'home' | 'policies' | 'schedules';

/** The parsed configuration; every path in it is absolute. */
export type Config = { readonly [K in Exclude<SettingKey, Located>]: z.output<(typeof settings)[K]['schema']> } & {
  /** The data directory. */
  readonly home: string;
  readonly policies: readonly string[];
  readonly schedules: string;
  /** True when the policy files (or schedule file) are the defaults rather than named by someone. */
  readonly policiesDefaulted: boolean;
  readonly schedulesDefaulted: boolean;
  /** Where this copy of giftguard lives, which the defaults came from. */
  readonly location: InstallLocation;
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
  env: NodeJS.ProcessEnv,
  overrides: ConfigOverrides = {},
  /** The flag each override came from, when a command spells it differently from the table. */
  flagNames: { readonly [K in SettingKey]?: string } = {},
  where: InstallLocation = installLocation(),
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
  const given = values as { [K in SettingKey]: z.output<(typeof settings)[K]['schema']> };
  // Paths someone typed are resolved once, against the directory they typed them in; nothing
  // later depends on the current directory.
  const path = (value: string | undefined) => (value === undefined ? undefined : absolutePath(where, value));
  const home = path(given.home) ?? defaultHome(where);
  return {
    ...given,
    home,
    policies: given.policies?.map((p) => absolutePath(where, p)) ?? [defaultPolicies(where, home)],
    schedules: path(given.schedules) ?? defaultSchedules(where, home),
    policiesDefaulted: given.policies === undefined,
    schedulesDefaulted: given.schedules === undefined,
    database: given.database === ':memory:' ? given.database : path(given.database),
    sandboxState: path(given.sandboxState),
    sandboxSeed: path(given.sandboxSeed),
    sendosoTokenFile: path(given.sendosoTokenFile),
    location: where,
    tokenFilePath: path(given.sendosoTokenFile) ?? join(home, 'sendoso-tokens.json'),
    databasePath: (given.database === ':memory:' ? given.database : path(given.database)) ?? join(home, 'giftguard.db'),
    signingKeyPath: join(home, 'signing-key'),
  };
}
