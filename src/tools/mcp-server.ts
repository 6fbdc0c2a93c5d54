/**
 * @module One MCP server for one scope, on the SDK's low-level Server: tools/list shows exactly
 * the scoped tools, and tools/call re-checks the scope on every call (a client that never listed a
 * tool cannot call it). Unknown and out-of-scope tools get the same protocol error, so a narrow
 * token learns nothing about the rest of the catalogue. Every call is audited. What a scope answers
 * is built once (scopedTools) and shared by every Server made for it and by the HTTP endpoint's
 * direct stateless answers. A send waiting for approval is answered with the approval page to open
 * (UrlElicitationRequiredError, -32042) to an outside client that declared URL-mode elicitation at
 * initialize, and with a `pending_approval` result to every other caller.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  LATEST_PROTOCOL_VERSION,
  ListToolsRequestSchema,
  McpError,
  SUPPORTED_PROTOCOL_VERSIONS,
  UrlElicitationRequiredError,
} from '@modelcontextprotocol/sdk/types.js';
import type { CallToolResult, InitializeResult, ListToolsResult } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { z } from 'zod';
import type { Clock } from '../domain/index.js';
import type { Logger } from '../log/index.js';
import type { AuditEntry, ToolAuditLog } from './audit.js';
import type { ToolDefinition } from './definitions.js';
import { invokeTool } from './invoke.js';
import type { CallContext, ToolRuntime } from './invoke.js';

/** `_meta` keys a trusted in-process caller (the orchestrator) may set on tools/call. */
export const META_GROUP = 'giftguard/group';
export const META_IDEMPOTENCY_KEY = 'giftguard/idempotencyKey';
/** Milliseconds within which each recipient gets at most one gift of the campaign (batches). */
export const META_ONCE_PER_RECIPIENT_MS = 'giftguard/oncePerRecipientWithinMs';
/** The workflow run a call belongs to. */
export const META_RUN = 'giftguard/runId';

export interface McpServerOptions {
  /** Identity of the scoped server, for the audit log and spend attribution. */
  readonly serverId: string;
  readonly serverName: string;
  readonly tools: readonly ToolDefinition[];
  readonly runtime: ToolRuntime;
  readonly audit?: ToolAuditLog | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The policy group bound to this server; spending tools charge it. */
  readonly group?: string | null | undefined;
  /** Honour `_meta` group and idempotency keys (only for in-process callers giftguard controls). */
  readonly trustCallerMeta?: boolean;
  /** How callers of this server are labelled for the guard (default `mcp`). */
  readonly callerVia?: 'mcp' | 'workflow';
  /** Client identity (and whether it opens URLs) seen at initialize on another request (stateless HTTP). */
  readonly knownClient?: () => ClientIdentity;
  /**
   * Asked before every request: why this server may no longer be used (revoked, expired), or
   * undefined while it may. A long-lived connection (stdio) holds its token for hours, so the
   * token's state is checked on each call rather than once at start.
   */
  readonly revokedBecause?: () => Promise<string | undefined>;
  readonly version: string;
}

/**
 * tools/call as the SDK defines it, but with the arguments exactly as the client sent them: the
 * SDK's own schema quietly drops a `__proto__` key, which invokeTool must see in order to refuse it
 * like any other unknown field (the SDK still validates the request itself).
 */
const RawCallToolRequestSchema = CallToolRequestSchema.extend({
  params: CallToolRequestSchema.shape.params.extend({ arguments: z.unknown().optional() }),
});

/**
 * One JSON Schema validator for every Server: the SDK builds a fresh Ajv per Server otherwise,
 * and stateless HTTP builds a Server per request.
 */
let sharedValidator: AjvJsonSchemaValidator | undefined;

const SERVER_INFO = { name: 'giftguard', title: 'giftguard for Sendoso' } as const;
const INSTRUCTIONS =
  'Sendoso tools behind giftguard. Look campaigns, groups and members up with the list tools before sending; never invent ids. Sending tools spend money and pass giftguard\'s spend policy: a result may say a person must approve first. The giftguard_* tools, when listed, say how an approval or a spend request stands and how much a group may still spend.';

/** The parameters of a tools/call request as the client sent them (arguments unparsed). */
export interface ToolCallParams {
  readonly name: string;
  readonly arguments?: unknown;
  readonly _meta?: Record<string, unknown> | undefined;
}

/**
 * Who the client said it was at initialize, and whether it declared URL-mode elicitation
 * (capabilities.elicitation.url): such a client is answered a send waiting for approval with the
 * approval page to open (-32042) rather than a `pending_approval` result.
 */
export type ClientIdentity = { name?: string; version?: string; urlElicitation?: boolean } | undefined;

/** Whether initialize's client capabilities declare URL-mode elicitation (an object under elicitation.url). */
export function declaresUrlElicitation(capabilities: unknown): boolean {
  const url = (capabilities as { elicitation?: { url?: unknown } } | undefined)?.elicitation?.url;
  return typeof url === 'object' && url !== null;
}

/** What a client that can open URLs is told beside the approval page, in the -32042 error. */
const APPROVAL_ELICITED = 'A person must approve this send first: open the link to approve or deny it. Nothing has been sent yet.';

/**
 * Everything one scoped server answers, built once per scope and shared by every SDK Server made
 * for it (stateless HTTP makes one per request) and by the HTTP endpoint's direct answers: the
 * initialize result, the tools/list result (computed once), and tools/call.
 */
export interface ScopedTools {
  readonly options: McpServerOptions;
  readonly serverInfo: { readonly name: string; readonly title: string; readonly version: string };
  readonly instructions: string;
  /** The initialize result for a client asking for `requestedVersion` (the SDK's negotiation). */
  initializeResult(requestedVersion: string): InitializeResult;
  /** The tools/list result; rejects with McpError once the server may no longer be used. */
  listTools(): Promise<ListToolsResult>;
  /** Runs tools/call; throws McpError for unknown and out-of-scope tools and for a revoked server. */
  callTool(params: ToolCallParams, client: ClientIdentity, signal?: AbortSignal): Promise<CallToolResult>;
}

/** Builds the shared per-scope answers (see ScopedTools). */
export function scopedTools(options: McpServerOptions): ScopedTools {
  const byName = new Map(options.tools.map((t) => [t.name, t]));
  const serverInfo = { ...SERVER_INFO, version: options.version };
  const listed: ListToolsResult = {
    tools: options.tools.map((t) => ({
      name: t.name,
      title: t.title,
      description: t.description,
      inputSchema: t.inputSchema as { type: 'object' },
      outputSchema: t.outputSchema as { type: 'object' },
      annotations: t.annotations,
    })),
  };
  const via = options.callerVia ?? 'mcp';
  /**
   * Records a call in the audit log. Awaited, so the entry is there once the client has its answer
   * and a slow store slows callers rather than queueing writes without bound; but a failed write
   * is logged, not thrown: the call has happened (a gift may have been sent), and an error would
   * tell the client it had not. The log line names the call, never its arguments.
   */
  const audit = async (entry: AuditEntry): Promise<void> => {
    if (!options.audit) return;
    try {
      await options.audit.record(entry);
    } catch (error) {
      options.logger.warn({ module: 'tools.mcp', serverId: entry.serverId, tool: entry.tool, outcome: entry.outcome, code: (error as { code?: unknown }).code }, 'could not record a tool call in the audit log');
    }
  };

  return {
    options,
    serverInfo,
    instructions: INSTRUCTIONS,
    initializeResult: (requestedVersion) => ({
      protocolVersion: SUPPORTED_PROTOCOL_VERSIONS.includes(requestedVersion) ? requestedVersion : LATEST_PROTOCOL_VERSION,
      capabilities: { tools: {} },
      serverInfo,
      instructions: INSTRUCTIONS,
    }),
    async listTools() {
      const reason = await options.revokedBecause?.();
      if (reason !== undefined) throw new McpError(ErrorCode.InvalidRequest, reason);
      return listed;
    },
    async callTool(params, client, signal) {
      const started = performance.now();
      const tool = byName.get(params.name);
      const revoked = await options.revokedBecause?.();
      if (revoked !== undefined) {
        // Audited like any call, so an operator sees that a revoked client is still trying.
        await audit({
          at: options.clock.now(),
          serverId: options.serverId,
          tool: params.name,
          method: tool?.method ?? '-',
          outcome: 'revoked',
          durationMs: performance.now() - started,
          clientName: client?.name,
          clientVersion: client?.version,
          arguments: params.arguments ?? {},
        });
        throw new McpError(ErrorCode.InvalidRequest, revoked);
      }
      if (!tool) {
        await audit({
          at: options.clock.now(),
          serverId: options.serverId,
          tool: params.name,
          method: '-',
          outcome: 'unknown_tool',
          durationMs: performance.now() - started,
          clientName: client?.name,
          clientVersion: client?.version,
          arguments: params.arguments ?? {},
        });
        throw new McpError(ErrorCode.InvalidParams, `Tool ${params.name} not found`);
      }
      // Only an outside client that declared it is answered with a URL to open; workflows never are.
      const urlElicitation = via === 'mcp' && client?.urlElicitation === true;
      let context: CallContext;
      if (options.trustCallerMeta) {
        const meta = params._meta ?? {};
        const group = typeof meta[META_GROUP] === 'string' ? (meta[META_GROUP] as string) : (options.group ?? undefined);
        context = {
          caller: { via, id: options.serverId, name: options.serverName, ...(client?.name && { clientName: client.name }) },
          ...(group !== undefined && { group }),
          ...(typeof meta[META_IDEMPOTENCY_KEY] === 'string' && { idempotencyKey: meta[META_IDEMPOTENCY_KEY] as string }),
          ...(typeof meta[META_ONCE_PER_RECIPIENT_MS] === 'number' && { oncePerRecipientWithinMs: meta[META_ONCE_PER_RECIPIENT_MS] as number }),
          ...(typeof meta[META_RUN] === 'string' && { runId: meta[META_RUN] as string }),
          ...(urlElicitation && { urlElicitation }),
          ...(signal !== undefined && { signal }),
        };
      } else {
        const group = options.group ?? undefined;
        context = {
          caller: client?.name
            ? { via, id: options.serverId, name: options.serverName, clientName: client.name }
            : { via, id: options.serverId, name: options.serverName },
          ...(group !== undefined && { group }),
          ...(urlElicitation && { urlElicitation }),
          ...(signal !== undefined && { signal }),
        };
      }
      const invocation = await invokeTool(tool, params.arguments, options.runtime, context);
      const durationMs = performance.now() - started;
      await audit({
        at: options.clock.now(),
        serverId: options.serverId,
        tool: tool.name,
        method: tool.method,
        outcome: invocation.outcome,
        status: invocation.status,
        durationMs,
        clientName: client?.name,
        clientVersion: client?.version,
        arguments: params.arguments ?? {},
      });
      if (options.logger.isLevelEnabled('debug')) {
        options.logger.debug({ module: 'tools.mcp', serverId: options.serverId, tool: tool.name, outcome: invocation.outcome, ms: Math.round(durationMs) }, 'tool call');
      }
      // MCP 2025-11-25: the call is answered with the approval page for the client to show its user.
      if (invocation.elicitation) throw new UrlElicitationRequiredError([invocation.elicitation], APPROVAL_ELICITED);
      return invocation.result;
    },
  };
}

/** Builds a connected-ready MCP Server for one scope (pass `shared` to reuse per-scope work). */
export function createMcpServer(options: McpServerOptions, shared: ScopedTools = scopedTools(options)): Server {
  const server = new Server(
    { ...shared.serverInfo },
    {
      capabilities: { tools: {} },
      jsonSchemaValidator: (sharedValidator ??= new AjvJsonSchemaValidator()),
      instructions: shared.instructions,
    },
  );

  server.setRequestHandler(ListToolsRequestSchema, async () => shared.listTools());

  // Who the client is, from this Server's own initialize once it had one (then fixed), else as
  // remembered from another request's (stateless HTTP builds a Server per request).
  let initialized: ClientIdentity;
  const clientOf = (): ClientIdentity => {
    if (initialized) return initialized;
    const info = server.getClientVersion();
    if (!info) return options.knownClient?.();
    return (initialized = { name: info.name, version: info.version, urlElicitation: declaresUrlElicitation(server.getClientCapabilities()) });
  };
  server.setRequestHandler(RawCallToolRequestSchema, async (request, extra) => shared.callTool(request.params, clientOf(), extra.signal));

  return server;
}
