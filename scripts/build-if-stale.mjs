#!/usr/bin/env node
/**
 * Builds dist/ with tsc (tsconfig.build.json), or does nothing when dist/ is already built from
 * the sources as they are now, so that `npm start` on an unchanged checkout does not compile.
 *
 *   node scripts/build-if-stale.mjs           build only if stale (prestart)
 *   node scripts/build-if-stale.mjs --force   always build (npm run build, so npm test and npm install)
 *
 * "As they are now" is a fingerprint of every input — each file under src/, workflows/ and bench/,
 * tsconfig.json, tsconfig.build.json, package.json and package-lock.json, by path, size, mtime and
 * ctime — so an edit, a new, deleted or renamed file, or a file put back with an older mtime all
 * count. A successful build records the fingerprint taken before tsc started in dist/.build-stamp;
 * the stamp is deleted before tsc runs, so a failed or interrupted build leaves none, and a file
 * saved while tsc ran makes the next check build again. A source whose .js is missing from dist/
 * also means stale; if it is still missing after tsc, the output was deleted after an earlier
 * build, which tsc's incremental build info does not notice, so it is dropped and tsc runs again.
 * tsc's exit code is passed on.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const STAMP = join(DIST, '.build-stamp');
/** tsBuildInfoFile of tsconfig.build.json. */
const BUILD_INFO = join(DIST, '.tsbuildinfo');
const TREES = ['src', 'workflows', 'bench'];
const FILES = ['tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'];

/**
 * Path, size, mtime and ctime of every input file, in a stable order, hashed; and whether some
 * TypeScript source has no .js in dist/.
 */
function inspect() {
  const hash = createHash('sha256');
  let missingOutput = false;
  const add = (path) => {
    let stat;
    try {
      stat = statSync(path);
    } catch (error) {
      if (error.code === 'ENOENT') return hash.update(`${relative(ROOT, path)}\0missing\n`);
      throw error;
    }
    if (stat.isDirectory()) {
      for (const name of readdirSync(path).sort()) add(join(path, name));
      return;
    }
    const source = relative(ROOT, path);
    hash.update(`${source}\0${stat.size}\0${stat.mtimeMs}\0${stat.ctimeMs}\n`);
    if (!missingOutput && /(?<!\.d)\.ts$/.test(source) && !existsSync(join(DIST, source.replace(/\.ts$/, '.js')))) missingOutput = true;
  };
  for (const name of [...TREES, ...FILES]) add(join(ROOT, name));
  return { inputs: hash.digest('hex'), missingOutput };
}

function stamped() {
  try {
    return JSON.parse(readFileSync(STAMP, 'utf8')).inputs;
  } catch {
    return undefined;
  }
}

const force = process.argv.includes('--force');
const { inputs, missingOutput } = inspect();
if (!force && !missingOutput && stamped() === inputs) process.exit(0);

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
function build() {
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  if (result.error) throw result.error;
  if (result.status !== 0) process.exit(result.status ?? 1);
}

rmSync(STAMP, { force: true });
build();
if (inspect().missingOutput) {
  rmSync(BUILD_INFO, { force: true });
  build();
}
writeFileSync(STAMP, `${JSON.stringify({ inputs, builtAt: new Date().toISOString() })}\n`);
