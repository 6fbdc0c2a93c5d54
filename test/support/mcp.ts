/**
 * @module Test support for the tool layer: the real catalogue's tools over a sandbox, exposed
 * through an MCP server, and the official SDK client connected to it in memory.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { silentLogger } from '../../src/log/index.js';
import type { SpendGate } from '../../src/domain/index.js';
import { buildTools, createMcpServer, refusingSpendGate, selectTools, sendosoCatalogue } from '../../src/tools/index.js';
import type { ToolAuditLog, ToolRuntime, ToolScope } from '../../src/tools/index.js';
import { startSandboxWithClient } from './sandbox-client.js';
import type { SandboxWithClient } from './sandbox-client.js';

export const allTools = buildTools(sendosoCatalogue);

/**
 * What the tools run with over a test sandbox: its gateway, and by default no patience for
 * outside MCP callers (a 429 comes straight back as a tool error, as it would past the bound).
 */
export function testRuntime(env: SandboxWithClient, gate: SpendGate = refusingSpendGate, outsideCallerWaitMs = 0): ToolRuntime {
  return { transport: env.gateway, gate, viaFrom: 'giftguard-tests', clock: env.clock, outsideCallerWaitMs };
}

export interface InMemoryMcp extends SandboxWithClient {
  readonly mcp: Client;
}

/** A sandbox, a scoped MCP server over it, and an SDK client connected in memory. */
export async function startInMemoryMcp(options: { scope?: ToolScope; gate?: SpendGate; audit?: ToolAuditLog; group?: string; waitMs?: number } = {}): Promise<InMemoryMcp> {
  const env = await startSandboxWithClient();
  const server = createMcpServer({
    serverId: 'mcp_test',
    serverName: 'test',
    tools: selectTools(allTools, options.scope ?? {}),
    runtime: testRuntime(env, options.gate, options.waitMs),
    audit: options.audit,
    clock: env.clock,
    logger: silentLogger(),
    group: options.group,
    version: 'test',
  });
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  const mcp = new Client({ name: 'vitest', version: '1.0.0' });
  await Promise.all([server.connect(serverTransport), mcp.connect(clientTransport)]);
  return {
    ...env,
    mcp,
    close: async () => {
      await mcp.close();
      await server.close();
      await env.close();
    },
  };
}
