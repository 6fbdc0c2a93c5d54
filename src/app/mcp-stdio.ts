/**
 * @module `giftguard mcp stdio` as a service: one scoped MCP server on this process's stdin and
 * stdout, for clients that launch giftguard themselves (Claude Desktop). A token fixes the scope
 * and is re-checked on every call, so a revocation or expiry applies to the next one.
 */
import { GiftingError } from '../domain/index.js';
import type { ToolScope } from '../tools/index.js';
import type { App, RunningStdioMcp, StdioMcpOptions } from '../triggers/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, MessageExtraInfo } from '@modelcontextprotocol/sdk/types.js';
import { layer } from './layers.js';
import { STOP_GRACE_MS } from './stops.js';

export async function startStdioMcp(app: App, options: StdioMcpOptions): Promise<RunningStdioMcp> {
  const [{ StdioServerTransport }, { assertUsableScope, createMcpServer }] = await Promise.all([import('@modelcontextprotocol/sdk/server/stdio.js'), layer('tools')]);
  let id = 'stdio';
  let name = 'stdio';
  let scope: ToolScope = options.scope;
  let group = options.group;
  let revokedBecause: (() => Promise<string | undefined>) | undefined;
  if (options.token !== undefined) {
    const registry = app.registry();
    const record = await registry.findServer(options.token);
    if (!record) throw new GiftingError('not_found', 'That MCP token is unknown, revoked or expired');
    // Checked now and on every request, so `mcp revoke`, an expiry or a revoked API token takes
    // effect on the next call — from this host or, on a shared PostgreSQL store, any instance's.
    const check = registry.liveCheck(options.token, app.config.apiToken);
    revokedBecause = check;
    const refused = await check();
    if (refused !== undefined) throw new GiftingError('unauthorized', `${refused}. Set GIFTGUARD_API_TOKEN to a valid ggapi_… token (giftguard api-token create).`);
    ({ id, name, scope } = record);
    group = record.group ?? undefined;
  }
  const tools = assertUsableScope(app.tools, scope);
  const connection = await app.connectSendoso({ sandboxPort: 0 });
  const server = createMcpServer({
    serverId: id,
    serverName: name,
    tools,
    runtime: app.toolRuntime(connection),
    audit: app.toolCalls(),
    clock: app.clock,
    logger: app.logger,
    group,
    version: app.version,
    revokedBecause,
  });
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolveClosed) => {
    transport.onclose = () => resolveClosed();
  });
  await server.connect(transport);
  // Wrapped once connected (the SDK installs its handler there), before any input is read: reading
  // starts in an I/O callback, and this runs first.
  const answering = trackRequests(transport);
  app.logger.info({ serverId: id, tools: tools.length, sendoso: connection.description }, 'MCP stdio server ready');
  return {
    closed,
    stop: async ({ drain = false } = {}) => {
      // As serve's HTTP server drains on a stop: the calls being answered get their answers first.
      if (drain) await answering.settled(STOP_GRACE_MS);
      await server.close();
    },
  };
}

/**
 * Counts the requests the client sent that have no response yet, seen at the connected transport:
 * a request when it comes in, its response once written.
 */
function trackRequests(transport: Transport): { settled(graceMs: number): Promise<void> } {
  const waiting = new Set<string | number>();
  let idle: (() => void) | undefined;
  const handle = transport.onmessage;
  transport.onmessage = (message: JSONRPCMessage, extra?: MessageExtraInfo) => {
    if ('method' in message && 'id' in message) waiting.add(message.id);
    handle?.(message, extra);
  };
  const send = transport.send.bind(transport);
  transport.send = async (message, options) => {
    await send(message, options);
    if (!('method' in message) && 'id' in message && message.id !== undefined && waiting.delete(message.id) && waiting.size === 0) idle?.();
  };
  return {
    settled: (graceMs) =>
      waiting.size === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, graceMs); // real time: this bounds how long a stop takes
            idle = () => {
              clearTimeout(timer);
              resolve();
            };
          }),
  };
}
