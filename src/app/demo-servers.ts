/**
 * @module The demo MCP server a `serve` on the sandbox makes for itself, and cleaning up after
 * serves that died without revoking theirs. A demo is named with its serve's host and pid; a pid
 * says something only about its own host's processes, so a serve revokes only its own host's
 * orphans. Instances sharing a PostgreSQL store see each other's demos and leave them alone
 * (each expires within a day anyway).
 */
import type { McpRegistry } from '../tools/index.js';

const DEMO_NAME = 'serve demo (sandbox),';
/** What follows DEMO_NAME; a name without a host predates several instances and was made on its data directory's host. */
const MADE_BY = /(?:host (\S+) )?pid (\d+)$/;

/** Where a serve process runs: its host, its pid, and how to tell whether a pid on that host is alive. */
export interface ServeProcess {
  readonly host: string;
  readonly pid: number;
  alive(pid: number): boolean;
}

/** The name of the demo server `self` makes. */
export function demoServerName(self: Pick<ServeProcess, 'host' | 'pid'>): string {
  return `${DEMO_NAME} host ${self.host} pid ${self.pid}`;
}

/** Revokes this host's demo servers whose serve process is gone (it crashed before revoking its own); how many. */
export async function revokeOrphanedDemos(registry: McpRegistry, self: ServeProcess): Promise<number> {
  let revoked = 0;
  for (const server of await registry.listServers()) {
    const made = server.name.startsWith(DEMO_NAME) ? MADE_BY.exec(server.name) : null;
    if (!made || (made[1] !== undefined && made[1] !== self.host)) continue;
    const pid = Number(made[2]);
    if (pid !== self.pid && !self.alive(pid) && (await registry.revokeServer(server.id))) revoked += 1;
  }
  return revoked;
}
