/**
 * @module Files only their owner may read. The data directory holds live Sendoso tokens, the
 * signing key and every ledger row, so it is 0700 and each file in it 0600 — set explicitly, not
 * left to the umask, and repaired on directories an older version (or another tool) created open.
 */
import { chmodSync, closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export const PRIVATE_DIRECTORY_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

const missing = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ENOENT';

/** Creates the directory (and parents) if needed and makes it owner-only. */
export function ensurePrivateDirectory(path: string): void {
  mkdirSync(path, { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
  chmodSync(path, PRIVATE_DIRECTORY_MODE);
}

/** Makes an existing file owner-only; a file that does not exist is fine. */
export function restrictToOwner(path: string): void {
  try {
    chmodSync(path, PRIVATE_FILE_MODE);
  } catch (error) {
    if (!missing(error)) throw error;
  }
}

/**
 * Makes a whole tree owner-only: the directory and its subdirectories 0700, every file 0600.
 * Symbolic links are left alone (chmod would follow them out of the tree).
 */
export function securePrivateTree(root: string): void {
  ensurePrivateDirectory(root);
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) securePrivateTree(path);
    else if (entry.isFile() && (lstatSync(path).mode & 0o777) !== PRIVATE_FILE_MODE) restrictToOwner(path);
  }
}

/**
 * Writes a file atomically (temporary file, then rename) with mode 0600 whatever the umask. The
 * mode is set on the open descriptor, so the data is never readable by others, even briefly.
 */
export function writePrivateFileSync(path: string, data: string | Buffer): void {
  // A directory created here is private; an existing one someone chose is left as it is.
  mkdirSync(dirname(path), { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
  const temporary = `${path}.${process.pid}.tmp`;
  rmSync(temporary, { force: true });
  const fd = openSync(temporary, 'wx', PRIVATE_FILE_MODE);
  try {
    chmodSync(temporary, PRIVATE_FILE_MODE);
    writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}

/** The asynchronous form of writePrivateFileSync. */
export async function writePrivateFile(path: string, data: string | Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
  const temporary = `${path}.${process.pid}.tmp`;
  await rm(temporary, { force: true });
  const handle = await open(temporary, 'wx', PRIVATE_FILE_MODE);
  try {
    await handle.chmod(PRIVATE_FILE_MODE);
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
}
