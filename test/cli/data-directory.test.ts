/**
 * One data directory, whatever the current directory, and private whatever the umask: defaults
 * come from where giftguard is installed (a checkout keeps .giftguard beside its code; an installed
 * copy keeps ~/.giftguard), `status` and `serve` say where it is, and every file in it is 0600 in a
 * 0700 directory, including ones an older version left readable.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { writePrivateFile, writePrivateFileSync } from '../../src/storage/index.js';
import { BIN, cli, spawnUntil, stop, tempHome } from '../support/cli.js';

const ROOT = join(import.meta.dirname, '../..');

/** Every entry under a directory with its permission bits. */
function modes(root: string): Record<string, number> {
  const out: Record<string, number> = { '.': statSync(root).mode & 0o777 };
  const walk = (dir: string, prefix: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      out[prefix + entry.name] = statSync(path).mode & 0o777;
      if (entry.isDirectory()) walk(path, `${prefix}${entry.name}/`);
    }
  };
  walk(root, '');
  return out;
}

describe('where the data directory is', () => {
  const checkout = { packageRoot: '/opt/giftguard', installed: false, userHome: '/home/ana', cwd: '/opt/giftguard/workflows' };
  const npx = { packageRoot: '/home/ana/.npm/_npx/4f2a/node_modules/giftguard', installed: true, userHome: '/home/ana', cwd: '/tmp' };

  it('a checkout keeps data, policies and schedules beside its code, whatever the current directory', () => {
    for (const cwd of ['/opt/giftguard', '/opt/giftguard/workflows', '/']) {
      const config = loadConfig({}, {}, {}, { ...checkout, cwd });
      expect(config).toMatchObject({ home: '/opt/giftguard/.giftguard', policies: ['/opt/giftguard/policies'], schedules: '/opt/giftguard/schedules.yaml' });
      expect(config.databasePath).toBe('/opt/giftguard/.giftguard/giftguard.db');
    }
  });

  it('an installed copy (npx cache, node_modules) keeps them in ~/.giftguard, where npm will not delete them', () => {
    const config = loadConfig({}, {}, {}, npx);
    expect(config).toMatchObject({ home: '/home/ana/.giftguard', policies: ['/home/ana/.giftguard/policies'], schedules: '/home/ana/.giftguard/schedules.yaml' });
  });

  it('paths someone typed are made absolute once, against the directory they typed them in', () => {
    const config = loadConfig({ GIFTGUARD_HOME: 'data', GIFTGUARD_POLICIES: 'a.yaml, /etc/b.yaml', GIFTGUARD_DB: ':memory:' }, {}, {}, checkout);
    expect(config).toMatchObject({ home: '/opt/giftguard/workflows/data', policies: ['/opt/giftguard/workflows/a.yaml', '/etc/b.yaml'], databasePath: ':memory:', policiesDefaulted: false });
  });

  it('`status` and `budget` from a subdirectory use the checkout\'s data directory and create nothing there', () => {
    const home = tempHome();
    const run = (cwd: string, ...args: string[]) =>
      spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, GIFTGUARD_LOG_LEVEL: 'silent', GIFTGUARD_HOME: '', HOME: home } });
    const fromRoot = JSON.parse(run(ROOT, 'status', '--json').stdout);
    const fromSub = JSON.parse(run(join(ROOT, 'workflows'), 'status', '--json').stdout);
    expect(fromSub.data.path).toBe(join(ROOT, '.giftguard'));
    expect(fromSub).toMatchObject({ data: fromRoot.data, policies: { paths: [join(ROOT, 'policies')], groups: ['Enterprise Sales', 'Sales Development', 'New Hires Q3', 'Marketing'] } });
    const listed = run(join(ROOT, 'workflows'), 'budget', '--group', 'Marketing');
    expect(listed.stdout).toMatch(/Marketing\s+day\s+2,?500\.00 USD/);
    expect(existsSync(join(ROOT, 'workflows', '.giftguard'))).toBe(false);
  });

  it('`status` shows a running serve, its URL and the data directory; serve prints the data directory', async () => {
    const home = tempHome();
    const before = await cli({ GIFTGUARD_HOME: home }, 'status');
    expect(before.out).toContain(`Data         ${home}`);
    expect(before.out).toContain('Serve        not running for this data directory');
    const { child, output } = await spawnUntil(['serve', '--port', '0', '--sandbox-port', '0'], { GIFTGUARD_HOME: home }, 'Press Ctrl+C');
    try {
      expect(output()).toContain(`Data         ${home}`);
      const url = /serving MCP on (http:\/\/127\.0\.0\.1:\d+)/.exec(output())![1]!;
      const status = JSON.parse((await cli({ GIFTGUARD_HOME: home }, 'status', '--json')).out);
      expect(status.serve).toMatchObject({ running: true, url, pid: child.pid });
      expect(status.sendoso).toMatchObject({ kind: 'embedded sandbox', pid: child.pid });
      expect(status.mcpServers).toBe(1); // the demo server
    } finally {
      expect(await stop(child)).toBe(0);
    }
    expect(JSON.parse((await cli({ GIFTGUARD_HOME: home }, 'status', '--json')).out).serve).toEqual({ running: false });
  }, 30_000);

  it('two serves on one data directory: stopping one leaves the other shown and used', async () => {
    const home = tempHome();
    const first = await spawnUntil(['serve', '--port', '0', '--sandbox-port', '0'], { GIFTGUARD_HOME: home }, 'Press Ctrl+C');
    const second = await spawnUntil(['serve', '--port', '0', '--sandbox-port', '0'], { GIFTGUARD_HOME: home }, 'Press Ctrl+C');
    try {
      const firstUrl = /serving MCP on (http:\/\/127\.0\.0\.1:\d+)/.exec(first.output())![1]!;
      const both = JSON.parse((await cli({ GIFTGUARD_HOME: home }, 'status', '--json')).out);
      expect(both.serves.map((s: any) => s.pid).sort()).toEqual([first.child.pid, second.child.pid].sort());
      expect(await stop(second.child)).toBe(0);
      const after = JSON.parse((await cli({ GIFTGUARD_HOME: home }, 'status', '--json')).out);
      expect(after.serve).toMatchObject({ running: true, url: firstUrl, pid: first.child.pid });
      expect((await cli({ GIFTGUARD_HOME: home }, 'mcp', 'create', '--name', 'x')).out).toContain(`${firstUrl}/mcp/ggmcp_`);
    } finally {
      await stop(second.child);
      expect(await stop(first.child)).toBe(0);
    }
  }, 45_000);

  it('refuses a directory that holds other files, and adopts an empty one or one an earlier version filled', async () => {
    const project = tempHome();
    mkdirSync(join(project, 'bin'));
    writeFileSync(join(project, 'bin', 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    chmodSync(join(project, 'bin', 'run.sh'), 0o755);
    const refused = await cli({ GIFTGUARD_HOME: project }, 'mcp', 'list');
    expect(refused.code).toBe(1);
    expect(refused.err).toContain(`${project} already holds other files (bin); giftguard keeps its data in a directory of its own`);
    expect(statSync(join(project, 'bin', 'run.sh')).mode & 0o777).toBe(0o755);
    expect((await cli({ GIFTGUARD_HOME: project }, 'status')).out).toContain('already holds other files');

    // A data directory from before the mark: only giftguard's own files.
    const earlier = tempHome();
    writeFileSync(join(earlier, 'signing-key'), 'a'.repeat(64), { mode: 0o644 });
    expect((await cli({ GIFTGUARD_HOME: earlier }, 'mcp', 'list')).code).toBe(0);
    expect(readdirSync(earlier)).toContain('.giftguard-data');
  });

  it('refuses a data directory that is the user\'s home rather than locking the home down', () => {
    const home = tempHome();
    writeFileSync(join(home, 'notes.txt'), 'mine', { mode: 0o644 });
    chmodSync(join(home, 'notes.txt'), 0o644);
    const result = spawnSync(process.execPath, [BIN, 'mcp', 'list'], { encoding: 'utf8', env: { ...process.env, HOME: home, GIFTGUARD_HOME: home, GIFTGUARD_LOG_LEVEL: 'silent' } });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`${home} is not a directory of its own`);
    expect(statSync(join(home, 'notes.txt')).mode & 0o777).toBe(0o644);
  });
});

describe('the data directory is private', () => {
  it('every file 0600 and the directory 0700, repairing an open directory an older version left, whatever the umask', async () => {
    const home = mkdtempSync(join(tmpdir(), 'giftguard-open-'));
    const previous = process.umask(0o022);
    try {
      // reconcile starts the sandbox (state, announcement), opens the database and makes the signing key.
      expect((await cli({ GIFTGUARD_HOME: home }, 'reconcile')).err).toBe('');
      // As an older version left it: everything readable by everyone.
      chmodSync(home, 0o755);
      for (const name of readdirSync(home)) chmodSync(join(home, name), 0o644);
      expect((await cli({ GIFTGUARD_HOME: home }, 'reconcile')).err).toBe('');
      expect((await cli({ GIFTGUARD_HOME: home }, 'mcp', 'create', '--name', 'x')).code).toBe(0);
    } finally {
      process.umask(previous);
    }
    const seen = modes(home);
    expect(Object.keys(seen)).toEqual(expect.arrayContaining(['giftguard.db', 'signing-key', 'sandbox-state.json']));
    for (const [name, mode] of Object.entries(seen)) expect(mode.toString(8), name).toBe(name === '.' ? '700' : '600');
  });

  it('the bin runs with umask 077, and private writes are 0600 even over an existing open file', async () => {
    const home = tempHome();
    const shell = spawnSync('sh', ['-c', `umask 000; "${process.execPath}" "${BIN}" mcp create --name x >/dev/null`], { env: { ...process.env, GIFTGUARD_HOME: home, GIFTGUARD_LOG_LEVEL: 'silent' } });
    expect(shell.status).toBe(0);
    for (const [name, mode] of Object.entries(modes(home))) expect(mode.toString(8), name).toBe(name === '.' ? '700' : '600');

    const dir = mkdtempSync(join(tmpdir(), 'giftguard-files-'));
    mkdirSync(join(dir, 'sub'));
    for (const [write, name] of [[writePrivateFileSync, 'a'], [writePrivateFile, 'b']] as const) {
      const path = join(dir, 'sub', name);
      writeFileSync(path, 'old', { mode: 0o666 });
      chmodSync(path, 0o666);
      await write(path, 'secret');
      expect(statSync(path).mode & 0o777).toBe(0o600);
    }
  });
});
