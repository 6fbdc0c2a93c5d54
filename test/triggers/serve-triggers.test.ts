/**
 * `giftguard serve` as a user runs it, with Slack configured and a schedule file: the spawned
 * service answers signed slash commands and button presses on its own port, posts approval
 * requests through the Slack Web API (a local stand-in), refuses a forged request, and lists its
 * schedules at start.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { spawnUntil, stop, tempHome } from '../support/cli.js';
import { buttonPress, postSigned, slashCommand, startSlackStandIn } from '../support/slack.js';
import type { SlackStandIn } from '../support/slack.js';

const SECRET = 'serve-test-signing-secret';
let slackSide: SlackStandIn | undefined;
afterEach(async () => {
  await slackSide?.close();
  slackSide = undefined;
});

describe('giftguard serve with Slack and schedules', () => {
  it('answers /gift, posts approvals with buttons, takes an approver\'s press, and lists its schedules', async () => {
    slackSide = await startSlackStandIn();
    const dir = mkdtempSync(join(tmpdir(), 'giftguard-serve-'));
    // The shipped policy, with Enterprise Sales approvals from 100 USD so the whiskey set needs one.
    writeFileSync(join(dir, 'policy.yaml'), readFileSync('policies/default.yaml', 'utf8').replace('above: 200.00', 'above: 100.00'));
    writeFileSync(join(dir, 'schedules.yaml'), readFileSync('schedules.yaml', 'utf8'));
    const { child, output } = await spawnUntil(
      ['serve', '--port', '0', '--sandbox-port', '0', '--policies', join(dir, 'policy.yaml'), '--schedules', join(dir, 'schedules.yaml')],
      {
        GIFTGUARD_HOME: tempHome(),
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_BOT_TOKEN: 'xoxb-serve-test',
        SLACK_APPROVAL_CHANNEL: 'C0APPROVALS',
        SLACK_API_URL: slackSide.apiUrl,
      },
      'Press Ctrl+C',
    );
    try {
      const base = /serving MCP on (http:\/\/[^/\s]+)/.exec(output())![1]!;
      expect(output()).toContain(`Slack        ${base}/slack/commands and ${base}/slack/interactions; approvals posted to C0APPROVALS`);
      expect(output()).toContain(`Schedules    1 from ${join(dir, 'schedules.yaml')}`);
      expect(output()).toMatch(/new-hires-q3-audit: audit, next Mon \d{4}-\d{2}-\d{2} 09:00 America\/New_York → .*reports\/new-hires-q3-audit\.md/);
      expect(output()).not.toContain('xoxb-serve-test');
      expect(output()).not.toContain(SECRET);

      const now = () => Math.floor(Date.now() / 1000);
      const command = (text: string, user: string, reply: string) => postSigned(`${base}/slack/commands`, slashCommand(text, user, slackSide!.responseUrl(reply)), SECRET, now());

      const help = await command('help', 'U0SALESREP1', 'help');
      expect(help.json()).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('/gift audit') });
      const forged = await postSigned(`${base}/slack/commands`, slashCommand('help', 'U0SALESREP1', slackSide.responseUrl('x')), 'not-the-secret', now());
      expect(forged.status).toBe(401);

      await command('audit group:"New Hires Q3" campaign:"Welcome Swag Box"', 'U0SALESREP1', 'audit');
      await vi.waitFor(() => expect(slackSide!.responses('audit')).toHaveLength(1), { timeout: 10_000 });
      expect(slackSide.responses('audit')[0].text).toBe('New Hires Q3: 3 of 4 members got Welcome Swag Box; 1 missing (Tom Becker).');

      await command('abm group:"Enterprise Sales" campaign:"Executive Whiskey Set" to:"Sarah Connor <sarah@cyberdyne.example>"', 'U0SALESREP1', 'abm');
      await vi.waitFor(() => expect(slackSide!.messages()).toHaveLength(1), { timeout: 10_000 });
      const [request] = slackSide.messages();
      expect(request).toMatchObject({ channel: 'C0APPROVALS', text: 'Enterprise Sales wants to send Executive Whiskey Set to sarah@cyberdyne.example (150.00 USD).' });

      await postSigned(`${base}/slack/interactions`, buttonPress(request, 'approval.approve', 'U0APPROVER1', slackSide.responseUrl('press')), SECRET, now());
      await vi.waitFor(() => expect(slackSide!.responses('press')).toHaveLength(1), { timeout: 10_000 });
      expect(slackSide.responses('press')[0].text).toBe('Executive Whiskey Set to sarah@cyberdyne.example: :white_check_mark: approved and sent.');
      // The run notices at its next poll and the requester hears the end.
      await vi.waitFor(() => expect(slackSide!.responses('abm')).toHaveLength(2), { timeout: 10_000, interval: 200 });
      expect(slackSide.responses('abm')[1].text).toMatch(/after approval; Sarah Connor will get an email/);
    } finally {
      expect(await stop(child)).toBe(0);
    }
  }, 40_000);
});
