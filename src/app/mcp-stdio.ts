/**
 * @module `giftguard mcp stdio` as a service: one scoped MCP server on this process's stdin and
 * stdout, for clients that launch giftguard themselves (Claude Desktop). A token fixes the scope
 * and is re-checked on every call, so a revocation or expiry applies to the next one.
 */
import { GiftingError } from '../domain/index.js';
import type { ToolScope } from '../tools/index.js';
import type { App, RunningStdioMcp, StdioMcpOptions } from '../triggers/index.js';
import { layer } from './layers.js';

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
  app.logger.info({ serverId: id, tools: tools.length, sendoso: connection.description }, 'MCP stdio server ready');
  return { closed, stop: () => server.close() };
}
