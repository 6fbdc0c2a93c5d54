/**
 * @module Which directory may be giftguard's data directory. giftguard makes its data directory
 * private — 0700, every file 0600 — so it must be a directory of its own: one it created (marked
 * with a `.giftguard-data` file), an empty one, or one an earlier version filled before the mark
 * existed. A directory that holds anything else (a checkout, a home directory, a folder of
 * scripts) is refused rather than locked down.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PRIVATE_FILE_MODE } from './private-files.js';

export const DATA_DIRECTORY_MARK = '.giftguard-data';

/** Names only giftguard writes there: a directory holding nothing else is one from before the mark. */
const OWN_NAME = /^(giftguard\.db(-wal|-shm|-journal)?|signing-key|sandbox(-state)?\.json|sendoso-tokens\.json|serve-\d+\.json|mcp-remote\.headers|policies|schedules\.yaml)(\.\d+\.tmp)?$/;

export type DataDirectoryState =
  | { readonly kind: 'missing' | 'ours' | 'empty' | 'earlier' }
  /** Holds other files: `examples` names a few. */
  | { readonly kind: 'foreign'; readonly examples: readonly string[] };

export function dataDirectoryState(path: string): DataDirectoryState {
  if (!existsSync(path)) return { kind: 'missing' };
  const names = readdirSync(path);
  if (names.includes(DATA_DIRECTORY_MARK)) return { kind: 'ours' };
  if (names.length === 0) return { kind: 'empty' };
  const foreign = names.filter((name) => !OWN_NAME.test(name));
  if (foreign.length === 0) return { kind: 'earlier' };
  return { kind: 'foreign', examples: foreign.slice(0, 3) };
}

/** Why `path` cannot be the data directory, or undefined when it can. */
export function dataDirectoryProblem(path: string): string | undefined {
  const state = dataDirectoryState(path);
  if (state.kind !== 'foreign') return undefined;
  return `${path} already holds other files (${state.examples.join(', ')}${state.examples.length === 3 ? ', …' : ''}); giftguard keeps its data in a directory of its own and makes it private (0700, files 0600). Name a new or empty directory, such as ${join(path, '.giftguard')}`;
}

/** Marks a directory as giftguard's (after it was created, found empty, or found from an earlier version). */
export function markDataDirectory(path: string): void {
  if (!existsSync(join(path, DATA_DIRECTORY_MARK))) {
    writeFileSync(join(path, DATA_DIRECTORY_MARK), 'This directory holds giftguard data; giftguard keeps it private (0700, files 0600).\n', { mode: PRIVATE_FILE_MODE });
  }
}
