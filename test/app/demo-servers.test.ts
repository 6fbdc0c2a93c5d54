/**
 * Demo MCP servers left by a serve that died are revoked by the next serve on the same host, and
 * only there: with several instances on one PostgreSQL store, another host's pids say nothing
 * about its processes, so its demos are left alone (they expire on their own).
 */
import { describe, expect, it } from 'vitest';
import { demoServerName, revokeOrphanedDemos } from '../../src/app/demo-servers.js';
import { ManualClock } from '../../src/domain/index.js';
import { openDatabase } from '../../src/storage/index.js';
import { SqliteMcpRegistry } from '../../src/tools/index.js';

describe('orphaned demo servers', () => {
  it("revokes this host's demos whose serve is gone, and nothing else", async () => {
    const registry = new SqliteMcpRegistry(openDatabase(':memory:'), Buffer.alloc(32, 1), new ManualClock(Date.UTC(2026, 0, 1)));
    const alive = new Set([100, 200]);
    const here = { host: 'app-1', pid: 100, alive: (pid: number) => alive.has(pid) };
    const make = async (name: string) => (await registry.createServer({ name, scope: {} })).server.id;
    await make(demoServerName(here)); // this serve's own
    await make(demoServerName({ host: 'app-1', pid: 200 })); // another live serve on this host
    const dead = await make(demoServerName({ host: 'app-1', pid: 300 }));
    const legacy = await make('serve demo (sandbox), pid 301'); // named before several instances: made on this host
    await make(demoServerName({ host: 'app-2', pid: 300 })); // another host's: its pid means nothing here
    await make('sales agent pid 300'); // not a demo
    expect(await revokeOrphanedDemos(registry, here)).toBe(2);
    const left = (await registry.listServers()).map((s) => s.id);
    expect(left).toHaveLength(4);
    expect(left).not.toContain(dead);
    expect(left).not.toContain(legacy);
    expect((await registry.listServers()).map((s) => s.name)).toContain('serve demo (sandbox), host app-2 pid 300');
    expect(await revokeOrphanedDemos(registry, here)).toBe(0);
  });
});
