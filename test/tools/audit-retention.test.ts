/**
 * The tool-call audit trail is kept to its retention: calls older than the retention go, and
 * beyond the newest N the oldest go, in chunks, without touching the newer ones.
 */
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/storage/index.js';
import { SqliteToolAuditLog } from '../../src/tools/index.js';

async function trail(count: number, startAt: number, stepMs: number) {
  const db = openDatabase(':memory:');
  const audit = new SqliteToolAuditLog(db);
  for (let i = 0; i < count; i++) await audit.record({ at: startAt + i * stepMs, serverId: 's', tool: 't', method: 'GET', outcome: 'ok', durationMs: 1, arguments: { i } });
  const ats = () => (db.prepare('SELECT at FROM tool_audit ORDER BY id').all() as { at: number }[]).map((r) => r.at);
  return { audit, ats };
}

describe('audit retention', () => {
  it('deletes calls older than the retention, and nothing newer', async () => {
    const { audit, ats } = await trail(12_000, 0, 1000);
    expect(await audit.prune(7_000_000, 1_000_000)).toBe(7_000);
    expect(ats()[0]).toBe(7_000_000);
    expect(ats()).toHaveLength(5_000);
    expect(await audit.prune(7_000_000, 1_000_000)).toBe(0);
  });

  it('keeps at most the newest N', async () => {
    const { audit, ats } = await trail(12_345, 0, 1);
    expect(await audit.prune(0, 10_000)).toBe(2_345);
    expect(ats()).toHaveLength(10_000);
    expect(ats()[0]).toBe(2_345);
    expect((await audit.list({ limit: 1 }))[0]!.at).toBe(12_344);
  });

  it('an empty trail, and a retention that covers everything', async () => {
    const { audit } = await trail(0, 0, 1);
    expect(await audit.prune(Date.now(), 100)).toBe(0);
    const full = await trail(50, 0, 1);
    expect(await full.audit.prune(1_000, 100)).toBe(50);
  });
});
