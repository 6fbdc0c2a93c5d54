/**
 * @module The data directory: made private before anything is written to it, the signing key kept
 * in it, and an installed copy's policies seeded into it.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Config } from '../config/index.js';
import { ConfigError } from '../domain/index.js';
import { ready } from './layers.js';

/**
 * The signing key that turns tokens into stored hashes: from GIFTGUARD_SIGNING_KEY, or generated
 * once into a 0600 file. Losing it invalidates every MCP URL and API token, by design.
 */
export function loadSigningKey(config: Config): Buffer {
  const { PRIVATE_DIRECTORY_MODE, PRIVATE_FILE_MODE } = ready('storage');
  if (config.signingKey) return Buffer.from(config.signingKey, 'utf8');
  try {
    return Buffer.from(readFileSync(config.signingKeyPath, 'utf8').trim(), 'base64');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dirname(config.signingKeyPath), { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
  const key = randomBytes(48);
  // 'wx' fails if another process created it meanwhile; then read theirs.
  try {
    writeFileSync(config.signingKeyPath, key.toString('base64'), { mode: PRIVATE_FILE_MODE, flag: 'wx' });
    return key;
  } catch {
    return Buffer.from(readFileSync(config.signingKeyPath, 'utf8').trim(), 'base64');
  }
}

/**
 * Makes the data directory private before anything is written to it: 0700, each file in it 0600,
 * repairing a directory an older version or a loose umask left readable. It holds live tokens, so
 * a directory that holds other files (a home directory, a checkout, /) is refused rather than
 * locked down (storage/data-directory.ts).
 */
export function securedHome(config: Config): string {
  const { securePrivateTree, dataDirectoryProblem, markDataDirectory } = ready('storage');
  const home = resolve(config.home);
  const problem = home === resolve(config.location.userHome) || home === resolve('/') ? `${home} is not a directory of its own; giftguard makes its data directory private, so name one such as ${join(home, '.giftguard')}` : dataDirectoryProblem(home);
  if (problem) throw new ConfigError('GIFTGUARD_HOME', problem);
  securePrivateTree(home);
  markDataDirectory(home);
  return home;
}

/**
 * An installed copy keeps its policies in the data directory, where they can be edited and npm
 * will not delete them; the first use copies the shipped examples there.
 */
export function seedInstalledPolicies(config: Config): void {
  if (!config.policiesDefaulted || !config.location.installed) return;
  const { shippedPolicies } = ready('config');
  const target = config.policies[0]!;
  if (existsSync(target)) return;
  cpSync(shippedPolicies(config.location), target, { recursive: true, errorOnExist: false, force: false });
}
