/**
 * Block Kit messages stay within Slack's limits: a section over 3,000 characters is refused by
 * Slack (and the whole reply with it), so a large group's audit is cut with a pointer to the rest.
 */
import { describe, expect, it } from 'vitest';
import { runBlocks } from '../../src/triggers/index.js';
import type { RunRecord } from '../../src/orchestrator/index.js';

const auditRun = (members: number): RunRecord => ({
  id: 'run_big',
  workflow: 'audit',
  machineVersion: 1,
  status: 'done',
  state: 'done',
  input: {},
  snapshot: null,
  output: { status: 'done', lines: Array.from({ length: members }, (_, i) => ({ name: `New Hire Number ${i}`, email: `hire${i}@acme.example`, gifted: i % 2 === 0, status: 'Delivered', trackingCode: 'f'.repeat(40), stuck: false })) },
  summary: `New Hires: ${Math.ceil(members / 2)} of ${members} members got Welcome Swag Box.`,
  owner: null,
  leaseUntil: null,
  createdAt: 0,
  updatedAt: 0,
});

describe('run messages', () => {
  it('list every member of a small group', () => {
    const message = runBlocks(auditRun(4));
    expect(message.blocks[1]).toEqual({ type: 'section', text: { type: 'mrkdwn', text: expect.stringContaining('• New Hire Number 3 — *missing*') } });
  });

  it('cut a large group at a line, under 3,000 characters, saying where the rest is', () => {
    const message = runBlocks(auditRun(300));
    const text = (message.blocks[1] as any).text.text as string;
    expect(text.length).toBeLessThanOrEqual(3000);
    expect(text).toMatch(/\n• New Hire Number \d+ — [^\n]+\n… \(all 300 members: giftguard runs show run_big\)$/);
    expect(message.blocks.every((b: any) => (b.text?.text ?? '').length <= 3000)).toBe(true);
  });
});
