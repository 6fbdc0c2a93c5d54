/**
 * Policy files are validated on load; every problem names the file, the line and the field, and
 * nothing half-valid is ever used. The shipped policies/default.yaml is valid.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PolicyError, loadPolicy } from '../../src/guard/index.js';
import { cli, tempHome } from '../support/cli.js';

async function dir(files: Record<string, string>): Promise<string> {
  const path = await mkdtemp(join(tmpdir(), 'giftguard-policy-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(path, name), text);
  return path;
}

async function problems(files: Record<string, string>): Promise<string[]> {
  const path = await dir(files);
  try {
    await loadPolicy([path]);
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    return (error as PolicyError).problems.map((p) => p.replace(`${path}/`, ''));
  }
  throw new Error('expected the policy to be refused');
}

const GROUP = `version: 1
groups:
  - group: Enterprise Sales
    caps:
      per_month: 5000
`;

describe('loading policies', () => {
  it('accepts the shipped default policy', async () => {
    const policy = (await loadPolicy(['policies']))!;
    expect(policy.groups.map((g) => g.group)).toEqual(['Enterprise Sales', 'Sales Development', 'New Hires Q3', 'Marketing']);
    expect(policy.compliance.blockedDomains).toEqual(['.gov', '.mil']);
    expect(policy.timezone).toBe('America/New_York');
    expect(policy.groups[0]!.caps.per_month).toBe(500_000);
  });

  it('names the file, line and field of an unknown field', async () => {
    expect(await problems({ 'a.yaml': `${GROUP}      per_fortnight: 100\n` })).toEqual([
      'a.yaml:6: groups[0].caps.per_fortnight: Unrecognized key: "per_fortnight"',
    ]);
  });

  it('refuses a negative cap', async () => {
    expect(await problems({ 'a.yaml': GROUP.replace('5000', '-5') })).toEqual(['a.yaml:5: groups[0].caps.per_month: must not be negative']);
  });

  it('refuses an unknown timezone', async () => {
    expect(await problems({ 'a.yaml': `timezone: Mars/Olympus_Mons\n${GROUP}` })).toEqual([
      'a.yaml:1: timezone: unknown IANA timezone (e.g. America/New_York, Europe/Berlin, UTC)',
    ]);
  });

  it('refuses a group defined twice, across files too', async () => {
    expect(await problems({ 'a.yaml': GROUP, 'b.yaml': GROUP.replace('Enterprise Sales', 'enterprise sales') })).toEqual([
      expect.stringMatching(/^b\.yaml:3: groups\[0\]\.group: "enterprise sales" is already defined at .*a\.yaml:3$/),
    ]);
  });

  it('reports every problem at once, and broken YAML with its line', async () => {
    const found = await problems({ 'a.yaml': `${GROUP}    kill_switch: maybe\n`, 'b.yaml': 'version: 1\ngroups: [\n' });
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/^a\.yaml:6: groups\[0\]\.kill_switch: /);
    expect(found[1]).toMatch(/^b\.yaml:\d+: YAML: /);
  });

  it('refuses a global setting made in two files', async () => {
    expect(await problems({ 'a.yaml': `timezone: UTC\n${GROUP}`, 'b.yaml': 'version: 1\ntimezone: Europe/Berlin\n' })).toEqual([
      expect.stringMatching(/^b\.yaml:2: timezone: already set in .*a\.yaml; set it in one file only$/),
    ]);
  });

  it('treats no policy files as no policy (everything refused)', async () => {
    expect(await loadPolicy([await dir({})])).toBeUndefined();
    expect(await loadPolicy(['/nonexistent/policies'], { missingOk: true })).toBeUndefined();
    await expect(loadPolicy(['/nonexistent/policies'])).rejects.toThrow('/nonexistent/policies: no such file or directory');
  });
});

describe('giftguard policy check and serve', () => {
  it('policy check reports OK or the problems', async () => {
    const ok = await cli({}, 'policy', 'check', 'policies/default.yaml');
    expect(ok.out).toMatch(/^OK: 4 groups \(Enterprise Sales, Sales Development, New Hires Q3, Marketing\), timezone America\/New_York/);
    const bad = await dir({ 'bad.yaml': `${GROUP}      per_fortnight: 100\n` });
    const refused = await cli({}, 'policy', 'check', bad);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('bad.yaml:6: groups[0].caps.per_fortnight: Unrecognized key');
  });

  it('serve refuses to start on an invalid policy', async () => {
    const bad = await dir({ 'bad.yaml': GROUP.replace('5000', '-5') });
    const result = await cli({ GIFTGUARD_HOME: tempHome() }, 'serve', '--port', '0', '--sandbox-port', '0', '--policies', bad);
    expect(result.code).toBe(1);
    expect(result.err).toContain('Invalid spend policy');
    expect(result.err).toContain('groups[0].caps.per_month: must not be negative');
    expect(result.out).not.toContain('serving MCP');
  });
});

describe('what a policy may be', () => {
  const group = (i: number) => `  - group: Team ${i}\n    caps: { per_month: 100 }\n`;

  it('refuses an oversized file before reading it, with its size and the limit', async () => {
    // 400k groups in ~18 MB took 44 s and 2.5 GB before; now it is refused by its size alone.
    const huge = `version: 1\ngroups:\n${Array.from({ length: 60_000 }, (_, i) => group(i)).join('')}`;
    expect(Buffer.byteLength(huge)).toBeGreaterThan(1_048_576);
    const found = await problems({ 'huge.yaml': huge });
    expect(found).toEqual([expect.stringMatching(/^huge\.yaml: is \d+\.\d\d MB; a policy file may be at most 1\.00 MB/)]);
  });

  it('refuses more groups than a policy may define, in one file or across files', async () => {
    const many = (from: number, n: number) => `version: 1\ngroups:\n${Array.from({ length: n }, (_, i) => group(from + i)).join('')}`;
    expect(await problems({ 'a.yaml': many(0, 1001) })).toEqual(['a.yaml: defines 1001 groups; a policy may define at most 1000']);
    expect(await problems({ 'a.yaml': many(0, 600), 'b.yaml': many(600, 600) })).toEqual(['the policy files define 1200 groups together; a policy may define at most 1000']);
    expect((await loadPolicy([await dir({ 'a.yaml': many(0, 1000) })]))!.groups).toHaveLength(1000);
  });

  it('policy check says so on the command line', async () => {
    const path = await dir({ 'huge.yaml': `version: 1\n# ${'x'.repeat(1_100_000)}\ngroups: []\n` });
    const result = await cli({ GIFTGUARD_HOME: tempHome() }, 'policy', 'check', '--offline', path);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/huge\.yaml: is 1\.05 MB; a policy file may be at most 1\.00 MB/);
  });
});

describe('policy check on approvals', () => {
  it('warns about a threshold nobody is listed to approve', async () => {
    const path = await dir({ 'p.yaml': 'version: 1\ngroups:\n  - group: Team\n    caps: { per_month: 100 }\n    approval: { above: 20 }\n' });
    const result = await cli({ GIFTGUARD_HOME: tempHome() }, 'policy', 'check', '--offline', path);
    expect(result.code).toBe(0);
    expect(result.out).toContain('warning: Team needs approval above 20.00 USD but lists no approvers; only `approvals approve --override "reason"` can decide (add approval.approvers, e.g. [cli:operator]');
  });
});

describe('policy files built to hurt', () => {
  it('many large files together, an alias bomb and endless nesting are refused with the file named', async () => {
    const big = `version: 1\n# ${'x'.repeat(900_000)}\ngroups: []\n`;
    const many = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`p${i}.yaml`, big]));
    expect(await problems(many)).toEqual([expect.stringMatching(/^6 policy files of 5\.\d\d MB together; the policy may be at most 4\.00 MB in all$/)]);
    const bomb = ['version: 1', 'a: &a [x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`), 'groups: []'].join('\n');
    expect(await problems({ 'bomb.yaml': bomb })).toEqual([expect.stringMatching(/^bomb\.yaml: YAML: /)]);
    const deep = `version: 1\ngroups: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`;
    expect((await problems({ 'deep.yaml': deep }))[0]).toMatch(/^deep\.yaml/);
    expect(await problems({ 'empty.yaml': '' })).toEqual([expect.stringMatching(/^empty\.yaml: version: /)]);
  });
});
