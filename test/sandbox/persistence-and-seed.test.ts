/**
 * The sandbox keeps its state across restarts with a state file, and seed files are validated
 * with messages that say what is wrong.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/index.js';
import { defaultSeed, defaultSeedText, loadSeedFile, parseSeed, resolveSeedTime, startSandbox } from '../../src/sandbox/index.js';
import { startSandboxWithClient } from '../support/sandbox-client.js';
import { egift } from '../support/sends.js';

describe('--state FILE', () => {
  it('keeps sends, budgets, tokens and virtual time across a restart', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'giftguard-state-')), 'sandbox.json');
    const first = await startSandboxWithClient({ stateFile: file });
    await egift(first.client, { touch_id: 8938, email: 'kept@example.com' });
    const token = first.sandbox.issueToken().access_token;
    await first.close();

    const second = await startSandbox({ stateFile: file, clock: new ManualClock(first.clock.now()) });
    try {
      const response = await fetch(`${second.apiBaseUrl}/send?per_page=100`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { sends: { recipient: { email: string } }[] };
      expect(body.sends.some((s) => s.recipient.email === 'kept@example.com')).toBe(true);
      expect(second.state.groups.find((g) => g.id === 101)!.budget).toBe(500_000 - 1000);
    } finally {
      await second.close();
    }
  });

  it('refuses a corrupt state file with a message naming it', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'giftguard-state-')), 'broken.json');
    await writeFile(file, '{ not json');
    await expect(startSandbox({ stateFile: file })).rejects.toThrow(`Sandbox state file ${file} is not valid JSON`);
  });
});

describe('seeds', () => {
  it('the built-in seed tells the documented stories', () => {
    const seed = defaultSeed();
    expect(seed.groups.map((g) => g.name)).toEqual(expect.arrayContaining(['Enterprise Sales', 'Sales Development', 'New Hires Q3']));
    expect(seed.groups.find((g) => g.name === 'Enterprise Sales')!.budget).toBe(500_000);
    const newHires = seed.users.filter((u) => u.teamGroupId === 103);
    expect(newHires).toHaveLength(4);
    const swag = seed.touches.find((t) => t.name === 'Welcome Swag Box')!;
    const gifted = newHires.filter((u) => seed.sends.some((s) => s.touchId === swag.id && s.recipient.email === u.email));
    expect(gifted).toHaveLength(3);
    expect(seed.touches.find((t) => t.name === 'Q3 Webinar Attendees')!.egiftPrice).toEqual({ min: 2500, max: 2500 });
    expect(seed.sends.filter((s) => s.status === 'Confirming Address').length).toBeGreaterThanOrEqual(2);
  });

  it('--print-seed text round-trips through the validator', () => {
    expect(parseSeed(JSON.parse(defaultSeedText()))).toEqual(defaultSeed());
  });

  it('resolves relative times against the load time', () => {
    const now = Date.UTC(2026, 0, 15);
    expect(resolveSeedTime('-2d', now)).toBe(now - 2 * 86_400_000);
    expect(resolveSeedTime('+3h', now)).toBe(now + 3 * 3_600_000);
    expect(resolveSeedTime('now', now)).toBe(now);
    expect(resolveSeedTime('2026-01-01T00:00:00Z', now)).toBe(Date.UTC(2026, 0, 1));
  });

  it('names every broken cross-reference', () => {
    const seed = JSON.parse(defaultSeedText());
    seed.sends[0].touchId = 1;
    seed.users[0].teamGroupId = 77;
    expect(() => parseSeed(seed, 'my-seed.json')).toThrow(/my-seed\.json is not a valid sandbox seed:\n- user 501 names unknown group 77\n- send 40001 names unknown touch 1/);
  });

  it('names an unknown field and a bad time', () => {
    const seed = JSON.parse(defaultSeedText());
    seed.touches[0].colour = 'red';
    seed.touches[1].startDate = 'last tuesday';
    expect(() => parseSeed(seed, 'x.json')).toThrow(/colour/);
    expect(() => parseSeed(seed, 'x.json')).toThrow(/offset such as "-34d"/);
  });

  it('reports a seed file that is not JSON', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'giftguard-seed-')), 'seed.json');
    await writeFile(file, 'groups: []');
    await expect(loadSeedFile(file)).rejects.toThrow(`Seed file ${file} is not valid JSON`);
    await expect(loadSeedFile(join(file, 'missing'))).rejects.toThrow(/Cannot read seed file/);
  });
});
