/**
 * @module How workflows reach the tools: an MCP client — to an in-process server by default, or
 * to any remote MCP URL exposing the same tool names. The orchestrator paces nothing itself:
 * every Sendoso call the tools make goes through the account's gateway, which paces, pauses and
 * retries for everyone on the account (src/sendoso/gateway.ts).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Clock } from '../domain/index.js';
import type { Logger } from '../log/index.js';
import { META_ERROR, META_GROUP, META_IDEMPOTENCY_KEY, META_ONCE_PER_RECIPIENT_MS, META_RUN, createMcpServer } from '../tools/index.js';
import type { ToolDefinition, ToolRuntime } from '../tools/index.js';

export interface ToolCallOptions {
  /** Same key, same intent: a repeated call is never a second send. */
  readonly idempotencyKey?: string;
  /** The policy group to charge (honoured by the in-process server). */
  readonly group?: string;
  /** Each recipient gets at most one gift of the campaign within this many ms (batches). */
  readonly oncePerRecipientWithinMs?: number;
  /** The run the call belongs to: later news of the send (delivery) reaches it. */
  readonly runId?: string;
}

export type ToolAnswer =
  | { readonly ok: true; readonly data: Record<string, unknown> }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly retryable: boolean; readonly outcome?: string };

function answerOf(result: CallToolResult): ToolAnswer {
  const text = result.content?.find((c) => c.type === 'text')?.text ?? '';
  if (!result.isError) return { ok: true, data: (result.structuredContent ?? (text ? JSON.parse(text) : {})) as Record<string, unknown> };
  const error = ((result._meta ?? {}) as Record<string, unknown>)[META_ERROR] as { code?: string; retryable?: boolean; outcome?: string } | undefined;
  return { ok: false, code: error?.code ?? 'tool_error', message: text, retryable: error?.retryable ?? false, ...(error?.outcome && { outcome: error.outcome }) };
}

/** Calls tools by name. */
export class ToolClient {
  constructor(
    private readonly client: Client,
    private readonly onClose: () => Promise<void> = async () => undefined,
  ) {}

  async call(name: string, args: Record<string, unknown>, options: ToolCallOptions = {}): Promise<ToolAnswer> {
    const meta: Record<string, unknown> = {
      ...(options.idempotencyKey && { [META_IDEMPOTENCY_KEY]: options.idempotencyKey }),
      ...(options.group && { [META_GROUP]: options.group }),
      ...(options.oncePerRecipientWithinMs !== undefined && { [META_ONCE_PER_RECIPIENT_MS]: options.oncePerRecipientWithinMs }),
      ...(options.runId && { [META_RUN]: options.runId }),
    };
    // Workflow steps may wait for the gateway far longer than the SDK's default 60 s request timeout.
    const result = (await this.client.callTool({ name, arguments: args, ...(Object.keys(meta).length > 0 && { _meta: meta }) }, undefined, { timeout: CALL_TIMEOUT_MS })) as CallToolResult;
    return answerOf(result);
  }

  async close(): Promise<void> {
    await this.client.close();
    await this.onClose();
  }
}

/** A day: the gateway bounds every wait itself; this only stops the SDK from giving up first. */
const CALL_TIMEOUT_MS = 86_400_000;

/** A client wired to an in-process MCP server trusted to honour group and idempotency keys. */
export async function inProcessToolClient(options: {
  readonly tools: readonly ToolDefinition[];
  readonly runtime: ToolRuntime;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly version: string;
  readonly runnerId: string;
}): Promise<ToolClient> {
  const server = createMcpServer({
    serverId: options.runnerId,
    serverName: 'giftguard orchestrator',
    tools: options.tools,
    runtime: options.runtime,
    clock: options.clock,
    logger: options.logger,
    trustCallerMeta: true,
    callerVia: 'workflow',
    version: options.version,
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  // No elicitation capability, URL mode least of all: a send waiting for approval must reach a
  // workflow as a `pending_approval` result it waits on, never as a link for a person to open.
  const client = new Client({ name: 'giftguard-orchestrator', version: options.version }, { capabilities: {} });
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  return new ToolClient(client, () => server.close());
}

/** A client for a remote MCP URL exposing the same tool names (e.g. another giftguard, whose gateway paces). */
export async function remoteToolClient(url: string, version: string, headers?: Record<string, string>): Promise<ToolClient> {
  // As in process: no elicitation capability, so the remote giftguard answers `pending_approval`.
  const client = new Client({ name: 'giftguard-orchestrator', version }, { capabilities: {} });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), headers ? { requestInit: { headers } } : undefined));
  return new ToolClient(client);
}
