/**
 * @module How workflows reach the tools: an MCP client — to an in-process server by default, or
 * to any remote MCP URL exposing the same tool names — with every call going through the
 * account's limiter. A 429 result means nothing was sent, so the limiter pauses the account and
 * retries it first; an unclear outcome is never retried (the guard reconciles it).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Clock, RateLimitInfo } from '../domain/index.js';
import type { AccountLimiter } from '../limiter/index.js';
import type { Logger } from '../log/index.js';
import { META_ERROR, META_GROUP, META_IDEMPOTENCY_KEY, createMcpServer } from '../tools/index.js';
import type { ToolDefinition, ToolRuntime } from '../tools/index.js';

export interface ToolCallOptions {
  /** Same key, same intent: a repeated call is never a second send. */
  readonly idempotencyKey?: string;
  /** The policy group to charge (honoured by the in-process server). */
  readonly group?: string;
}

export type ToolAnswer =
  | { readonly ok: true; readonly data: Record<string, unknown> }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly retryable: boolean; readonly outcome?: string };

function rateLimitOf(result: CallToolResult): RateLimitInfo | undefined {
  const meta = (result._meta ?? {}) as Record<string, unknown>;
  const pick = (key: string) => (typeof meta[key] === 'number' ? (meta[key] as number) : undefined);
  const info = { limit: pick('ratelimit-limit'), remaining: pick('ratelimit-remaining'), resetSeconds: pick('ratelimit-reset') };
  return Object.values(info).some((v) => v !== undefined)
    ? { ...(info.limit !== undefined && { limit: info.limit }), ...(info.remaining !== undefined && { remaining: info.remaining }), ...(info.resetSeconds !== undefined && { resetSeconds: info.resetSeconds }) }
    : undefined;
}

function answerOf(result: CallToolResult): ToolAnswer {
  const text = result.content?.find((c) => c.type === 'text')?.text ?? '';
  if (!result.isError) return { ok: true, data: (result.structuredContent ?? (text ? JSON.parse(text) : {})) as Record<string, unknown> };
  const error = ((result._meta ?? {}) as Record<string, unknown>)[META_ERROR] as { code?: string; retryable?: boolean; outcome?: string } | undefined;
  return { ok: false, code: error?.code ?? 'tool_error', message: text, retryable: error?.retryable ?? false, ...(error?.outcome && { outcome: error.outcome }) };
}

/** Calls tools by name through the limiter. */
export class ToolClient {
  constructor(
    private readonly client: Client,
    private readonly limiter: AccountLimiter,
    private readonly onClose: () => Promise<void> = async () => undefined,
  ) {}

  async call(name: string, args: Record<string, unknown>, options: ToolCallOptions = {}): Promise<ToolAnswer> {
    const meta: Record<string, unknown> = {
      ...(options.idempotencyKey && { [META_IDEMPOTENCY_KEY]: options.idempotencyKey }),
      ...(options.group && { [META_GROUP]: options.group }),
    };
    return this.limiter.schedule(async () => {
      const result = (await this.client.callTool({ name, arguments: args, ...(Object.keys(meta).length > 0 && { _meta: meta }) })) as CallToolResult;
      const answer = answerOf(result);
      return { value: answer, rateLimit: rateLimitOf(result), rateLimited: !answer.ok && answer.code === 'rate_limited' };
    });
  }

  async close(): Promise<void> {
    await this.client.close();
    await this.onClose();
  }
}

/** A client wired to an in-process MCP server trusted to honour group and idempotency keys. */
export async function inProcessToolClient(options: {
  readonly tools: readonly ToolDefinition[];
  readonly runtime: ToolRuntime;
  readonly limiter: AccountLimiter;
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
  const client = new Client({ name: 'giftguard-orchestrator', version: options.version });
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  return new ToolClient(client, options.limiter, () => server.close());
}

/** A client for a remote MCP URL exposing the same tool names (e.g. another giftguard). */
export async function remoteToolClient(url: string, limiter: AccountLimiter, version: string, headers?: Record<string, string>): Promise<ToolClient> {
  const client = new Client({ name: 'giftguard-orchestrator', version });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), headers ? { requestInit: { headers } } : undefined));
  return new ToolClient(client, limiter);
}
