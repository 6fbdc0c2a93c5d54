/**
 * Imports flow one way (DESIGN.md): domain → {sendoso, sandbox, guard} → tools →
 * orchestrator → triggers → app → main. Other folders are reached only through their index.ts
 * barrel (or, for a part loaded on demand, a sub-folder's index.ts), statically or with import();
 * workflows/ import only src/domain (and, of packages, only xstate: no I/O); and only the
 * composition root reads the process's environment and arguments.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

/** Lower numbers may be imported by higher ones; equal ranks in different folders may not meet. */
const RANK: Record<string, number> = {
  domain: 0,
  log: 1,
  config: 1,
  storage: 1,
  sendoso: 2,
  sandbox: 2,
  guard: 2,
  tools: 3,
  orchestrator: 4,
  triggers: 5,
  app: 6,
  '': 7, // src/main.ts, src/bin.ts
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

function imports(file: string): { specifier: string; typeOnly: boolean }[] {
  const text = readFileSync(file, 'utf8');
  const found: { specifier: string; typeOnly: boolean }[] = [];
  for (const match of text.matchAll(/^(import|export)\s+(type\s+)?[^'"]*?from\s+'([^']+)'/gm)) {
    found.push({ specifier: match[3]!, typeOnly: Boolean(match[2]) });
  }
  // Parts loaded on demand count as imports too.
  for (const match of text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)) found.push({ specifier: match[1]!, typeOnly: false });
  return found;
}

const folderOf = (path: string) => relative(join(ROOT, 'src'), path).split('/')[0]!.replace(/\.ts$/, '').replace(/^(main|bin|index)$/, '');

describe('module boundaries', () => {
  const sourceFiles = files(join(ROOT, 'src'));

  it('every src folder has a known rank', () => {
    const folders = new Set(sourceFiles.map(folderOf));
    for (const folder of folders) expect(RANK, `add ${folder} to RANK`).toHaveProperty(folder);
  });

  it('imports only go down the layers, through barrels', () => {
    const problems: string[] = [];
    for (const file of sourceFiles) {
      const from = folderOf(file);
      for (const { specifier } of imports(file)) {
        if (!specifier.startsWith('.')) continue;
        const target = resolve(dirname(file), specifier).replace(/\.js$/, '.ts');
        if (!target.startsWith(join(ROOT, 'src'))) {
          const workflows = target === join(ROOT, 'workflows', 'index.ts');
          if (workflows && RANK[from]! < RANK.orchestrator!) problems.push(`${relative(ROOT, file)} (${from}) imports workflows; only the orchestrator and above may`);
          else if (!workflows && !target.endsWith('package.json')) problems.push(`${relative(ROOT, file)} reaches outside src: ${specifier}`);
          continue;
        }
        const to = folderOf(target);
        if (to === from) continue;
        if (!(RANK[to]! < RANK[from]!)) problems.push(`${relative(ROOT, file)} (${from}) imports ${to}`);
        const barrel = target.endsWith('/index.ts') && relative(join(ROOT, 'src', to), target).split('/').length <= 2;
        if (!barrel) problems.push(`${relative(ROOT, file)} bypasses the ${to} barrel: ${specifier}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('workflows import only src/domain, and of packages only xstate', () => {
    let workflowFiles: string[] = [];
    try {
      workflowFiles = files(join(ROOT, 'workflows'));
    } catch {
      workflowFiles = [];
    }
    const problems = workflowFiles.flatMap((file) =>
      imports(file)
        .filter(({ specifier }) => specifier.startsWith('.'))
        .filter(({ specifier }) => {
          const target = resolve(dirname(file), specifier);
          if (target.startsWith(join(ROOT, 'workflows'))) return false; // one workflow file may use another
          // The domain's pure code (money, result types) too: it does no I/O.
          return !target.startsWith(join(ROOT, 'src', 'domain'));
        })
        .map(({ specifier }) => `${relative(ROOT, file)}: ${specifier}`),
    );
    // And nothing but xstate from packages (no node: modules either): machines do no I/O.
    const packages = workflowFiles.flatMap((file) => imports(file).filter(({ specifier }) => !specifier.startsWith('.') && specifier !== 'xstate').map(({ specifier }) => `${relative(ROOT, file)}: ${specifier}`));
    expect(packages).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('only the composition root reads process.env and process.argv', () => {
    const root = new Set(['src/main.ts', 'src/bin.ts']);
    const readers = [...sourceFiles, ...files(join(ROOT, 'workflows'))]
      .filter((file) => !root.has(relative(ROOT, file)))
      .filter((file) => /\bprocess\.(env|argv)\b/.test(readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')))
      .map((file) => relative(ROOT, file));
    expect(readers).toEqual([]);
  });
});
