/**
 * Human output stays human: a reader that goes away (`| head`) ends nothing badly, and one-shot
 * commands do not mix JSON log lines into what people read (services still log at info).
 */
import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN, tempHome } from '../support/cli.js';

const withoutLogLevel = () => {
  const env = { ...process.env };
  delete env.GIFTGUARD_LOG_LEVEL;
  return env;
};

describe('stdout closed early', () => {
  it('is not a crash: no EPIPE stack trace, exit 0', async () => {
    const child = spawn(process.execPath, [BIN, 'tools', '--json'], { env: { ...withoutLogLevel(), GIFTGUARD_HOME: tempHome() } });
    child.stdout.destroy(); // what `| head -1` does once it has its line
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(err).not.toContain('EPIPE');
    expect(code).toBe(0);
  });
});

describe('logs', () => {
  it('a one-shot command writes no info log lines; GIFTGUARD_LOG_LEVEL still turns them on', () => {
    const home = tempHome();
    const args = [BIN, 'run', 'abm', '--group', 'Enterprise Sales', '--campaign', 'Branded Yeti Mug', '--name', 'Ana', '--email', 'ana@example.com'];
    const quiet = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...withoutLogLevel(), GIFTGUARD_HOME: home } });
    expect(quiet.status).toBe(0);
    expect(quiet.stdout).toContain('Found Branded Yeti Mug');
    expect(quiet.stderr).toMatch(/^Run run_\w+ \(abm\) started\.$/m);
    // Warnings may appear (a slow disk, a retry); routine info lines may not.
    expect(quiet.stderr).not.toContain('"level":30');
    const loud = spawnSync(process.execPath, [...args.slice(0, -1), 'ana2@example.com'], { encoding: 'utf8', env: { ...withoutLogLevel(), GIFTGUARD_HOME: home, GIFTGUARD_LOG_LEVEL: 'info' } });
    expect(loud.stderr).toContain('"level":30');
    expect(loud.stdout).not.toContain('"level"');
  });
});
