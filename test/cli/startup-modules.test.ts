/**
 * Start-up stays light: building the command tree (`--help`) and the light commands (`budget`,
 * `status`) do not load the heavy dependencies — Slack Bolt, OpenAI, the MCP SDK's server, xstate —
 * which the commands that use them load in their actions. Checked by what a child process running
 * the built CLI loads, never by timing (`npm run bench -- cli` times it): a loader hook records
 * every module URL Node resolves, and at exit the CommonJS modules in require.cache are added.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { headerStyles } from '../../src/sandbox/index.js';
import { HEADER_STYLE_CHOICES } from '../../src/triggers/cli/sandbox-command.js';
import { BIN, tempHome } from '../support/cli.js';

const HEAVY = {
  'Slack Bolt': /\/node_modules\/@slack\/bolt\//,
  OpenAI: /\/node_modules\/openai\//,
  'the MCP SDK server': /\/node_modules\/@modelcontextprotocol\/sdk\/dist\/(esm|cjs)\/server\//,
  xstate: /\/node_modules\/xstate\//,
} as const;
type Heavy = keyof typeof HEAVY;

let recorder: string;

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'giftguard-modules-'));
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(
    hooks,
    `import { appendFileSync } from 'node:fs';
let out;
export function initialize(data) { out = data.out; }
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(out, resolved.url + '\\n');
  return resolved;
}
`,
  );
  recorder = join(dir, 'record.mjs');
  writeFileSync(
    recorder,
    `import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
const out = process.env.GIFTGUARD_TEST_MODULES_OUT;
register(${JSON.stringify(pathToFileURL(hooks).href)}, { data: { out } });
const require = createRequire(import.meta.url);
process.on('exit', () => appendFileSync(out, Object.keys(require.cache).join('\\n') + '\\n'));
`,
  );
});

/** Runs the built CLI with `args`; returns which heavy dependencies it loaded. */
function heavyLoadedBy(args: string[], home: string): Heavy[] {
  const out = join(mkdtempSync(join(tmpdir(), 'giftguard-modules-out-')), 'modules.txt');
  writeFileSync(out, '');
  const run = spawnSync(process.execPath, ['--import', pathToFileURL(recorder).href, BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, GIFTGUARD_HOME: home, GIFTGUARD_LOG_LEVEL: 'silent', GIFTGUARD_TEST_MODULES_OUT: out },
  });
  expect(run.status, run.stderr).toBe(0);
  const modules = readFileSync(out, 'utf8');
  // The recording itself worked: the CLI's own entry point is in it.
  expect(modules).toContain('/dist/src/bin.js');
  return (Object.keys(HEAVY) as Heavy[]).filter((name) => HEAVY[name].test(modules));
}

describe('what starting the CLI loads', () => {
  let home: string;
  beforeAll(() => {
    home = tempHome();
    // A data directory with its database, as `budget` and `status` usually find it.
    expect(spawnSync(process.execPath, [BIN, 'budget'], { encoding: 'utf8', env: { ...process.env, GIFTGUARD_HOME: home, GIFTGUARD_LOG_LEVEL: 'silent' } }).status).toBe(0);
  });

  it('sees the heavy dependencies when a command uses them (the check is not vacuous)', () => {
    expect(heavyLoadedBy(['conversations', 'list'], home)).toEqual(Object.keys(HEAVY));
  });

  it('--help loads none of them', () => {
    expect(heavyLoadedBy(['--help'], home)).toEqual([]);
    expect(heavyLoadedBy(['run', 'audit', '--help'], home)).toEqual([]);
  });

  it('budget loads none of them', () => {
    expect(heavyLoadedBy(['budget'], home)).toEqual([]);
  });

  it('status loads at most the MCP SDK server (it counts MCP servers through their registry)', () => {
    expect(heavyLoadedBy(['status'], home).filter((name) => name !== 'the MCP SDK server')).toEqual([]);
  });
});

describe('values the command tree repeats so as not to load their layers', () => {
  it('sandbox --header-style choices are the sandbox\'s header styles', () => {
    expect(HEADER_STYLE_CHOICES).toEqual(headerStyles);
  });
});
