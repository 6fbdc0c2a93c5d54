/**
 * @module Where giftguard keeps its data and finds its policy and schedule files. The defaults
 * never depend on the directory a command is run from: `cd workflows && giftguard approvals list`
 * must see the same approvals as the repository root. A checkout keeps everything beside its code
 * (`<checkout>/.giftguard`, `<checkout>/policies`); an installed copy — under node_modules or
 * npx's cache, which npm may delete — keeps it in the user's home (`~/.giftguard`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';

/** The facts the defaults are derived from; injected in tests. */
export interface InstallLocation {
  /** The directory holding giftguard's package.json. */
  readonly packageRoot: string;
  /** True when running from an installed package rather than a checkout. */
  readonly installed: boolean;
  /** The user's home directory. */
  readonly userHome: string;
  /** Where relative paths someone typed are resolved from. */
  readonly cwd: string;
}

/**
 * The directory of the nearest package.json named giftguard above this file that has the bin
 * beside it (the build copies package.json into dist/, which is not the root).
 */
function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && existsSync(join(dir, 'bin', 'giftguard.js'))) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'giftguard') return dir;
      } catch {
        // not a readable manifest; keep looking
      }
    }
    if (dirname(dir) === dir) return resolve(from, '../..');
  }
}

/** True for a copy npm manages: under node_modules (local, global) or npx's cache. */
export function isInstalledCopy(packageRoot: string): boolean {
  const parts = packageRoot.split(sep);
  return parts.includes('node_modules') || parts.includes('_npx');
}

let packageRoot: string | undefined;

/** This process's location. */
export function installLocation(): InstallLocation {
  packageRoot ??= findPackageRoot(import.meta.dirname);
  return { packageRoot, installed: isInstalledCopy(packageRoot), userHome: homedir(), cwd: process.cwd() };
}

/** The default data directory. */
export function defaultHome(where: InstallLocation): string {
  return where.installed ? join(where.userHome, '.giftguard') : join(where.packageRoot, '.giftguard');
}

/**
 * The default policy and schedule files: beside the code in a checkout; in the data directory for an
 * installed copy, where a person can edit them and npm will not delete them.
 */
export function defaultPolicies(where: InstallLocation, home: string): string {
  return where.installed ? join(home, 'policies') : join(where.packageRoot, 'policies');
}

export function defaultSchedules(where: InstallLocation, home: string): string {
  return where.installed ? join(home, 'schedules.yaml') : join(where.packageRoot, 'schedules.yaml');
}

/** The example policies shipped with the package (copied into an installed copy's data directory). */
export function shippedPolicies(where: InstallLocation): string {
  return join(where.packageRoot, 'policies');
}

/** A path someone typed, made absolute against the directory they typed it in. */
export function absolutePath(where: InstallLocation, path: string): string {
  return isAbsolute(path) ? path : resolve(where.cwd, path);
}
