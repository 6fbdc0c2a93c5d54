/**
 * @module Tool definitions generated from the catalogue: one flat argument schema per method
 * (path, query and body arguments side by side), JSON Schemas for MCP and OpenAI, annotations,
 * and the split back into path, query and a re-nested body — then giftguard's own read tools,
 * merged after Sendoso's. Catalogue mistakes — a name used in two places of one method, a bad
 * tool name — fail here, at build time.
 */
import { z } from 'zod';
import { GiftingError } from '../domain/index.js';
import type { SpendKind } from '../domain/index.js';
import { giftguardCatalogue } from './catalogue/giftguard.js';
import { standardMethods } from './catalogue/types.js';
import type { ArgsSchema, Catalogue, CatalogueMethod, GiftguardCatalogue, GiftguardMethod } from './catalogue/types.js';
import { inputJsonSchema, toOpenAiStrictSchema } from './json-schema.js';
import type { JsonSchema } from './json-schema.js';
import { spendResultSchema } from './spend-result.js';

/** MCP tool annotations (hints to clients; the server enforces the real rules). */
export interface ToolAnnotations {
  readonly title: string;
  readonly readOnlyHint: boolean;
  readonly destructiveHint: boolean;
  readonly idempotentHint: boolean;
  readonly openWorldHint: boolean;
}

/** A request ready for the Sendoso client. */
export interface SplitRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly query: Record<string, string | number | boolean | undefined>;
  readonly body: Record<string, unknown> | undefined;
}

/** A generated tool. */
export interface ToolDefinition {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly resource: string;
  readonly method: string;
  readonly tags: readonly string[];
  readonly spend: SpendKind | undefined;
  readonly annotations: ToolAnnotations;
  /** Validates the flat arguments; unknown properties are errors. */
  readonly args: ArgsSchema;
  readonly inputSchema: JsonSchema;
  readonly outputSchema: JsonSchema;
  /** The catalogue record: a Sendoso method, or one of giftguard's own tools (it has `answer`). */
  readonly source: CatalogueMethod | GiftguardMethod;
  /** Where the tool's answer comes from, for people: `GET /touches`, or `giftguard` for giftguard's own records. */
  readonly route: string;
  /** Splits validated flat arguments into the Sendoso request (Sendoso methods only). */
  split(args: Record<string, unknown>, viaFrom: string): SplitRequest;
}

/** The OpenAI function-calling form of a tool. */
export interface OpenAiFunctionTool {
  readonly type: 'function';
  readonly function: { readonly name: string; readonly description: string; readonly parameters: JsonSchema; readonly strict: true };
}

/** A mistake in the catalogue itself; found when tools are built, never at call time. */
export class CatalogueError extends GiftingError {
  override readonly name = 'CatalogueError';
  constructor(message: string) {
    super('internal', message);
  }
}

const TOOL_NAME = /^[a-z][a-z0-9_]{0,63}$/;

function keysOf(schema: ArgsSchema | undefined): string[] {
  return schema ? Object.keys(schema.shape) : [];
}

function pathParamNames(path: string): string[] {
  return [...path.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]!);
}

/** Checks one method and returns the sources of its flat argument names. */
function checkMethod(method: CatalogueMethod): void {
  const where = `catalogue method ${method.toolName}`;
  if (!TOOL_NAME.test(method.toolName)) throw new CatalogueError(`${where}: tool names are snake_case, at most 64 characters`);
  const placeholders = pathParamNames(method.http.path);
  const declared = keysOf(method.pathParams);
  if (placeholders.join() !== declared.join()) {
    throw new CatalogueError(`${where}: path ${method.http.path} needs parameters [${placeholders}] but declares [${declared}]`);
  }
  const seen = new Map<string, string>();
  const parts: [string, string[]][] = [
    ['path', declared],
    ['query', keysOf(method.query)],
    ['body', keysOf(method.body?.schema)],
  ];
  for (const [part, names] of parts) {
    for (const name of names) {
      const first = seen.get(name);
      if (first) throw new CatalogueError(`${where}: argument "${name}" appears in both ${first} and ${part}; flat arguments must be unique`);
      seen.set(name, part);
    }
  }
  for (const constant of Object.keys(method.body?.constants ?? {})) {
    if (seen.has(constant)) throw new CatalogueError(`${where}: "${constant}" is both a constant and an argument`);
  }
  if (method.spend && method.http.method !== 'POST') throw new CatalogueError(`${where}: a spending method must be a POST`);
}

function annotationsFor(method: CatalogueMethod, title: string): ToolAnnotations {
  const reads = method.http.method === 'GET';
  return {
    title,
    readOnlyHint: reads,
    // The spec calls a gift "additive", hence not destructive; we mark money-spending tools
    // destructive on purpose so clients that only prompt on destructiveHint do prompt.
    destructiveHint: method.spend !== undefined,
    idempotentHint: reads,
    openWorldHint: true,
  };
}

function outputSchemaFor(method: CatalogueMethod): JsonSchema {
  if (method.spend) return inputJsonSchema(spendResultSchema);
  const response = method.resultKey ? z.object({ [method.resultKey]: method.response }) : method.response;
  return inputJsonSchema(response);
}

/**
 * Builds every documented method of `catalogue` into a tool (undocumented methods are left out),
 * followed by giftguard's own read tools (`own`; pass `[]` for Sendoso's alone).
 */
export function buildTools(catalogue: Catalogue, own: GiftguardCatalogue = giftguardCatalogue): ToolDefinition[] {
  const names = new Set<string>();
  const tools: ToolDefinition[] = [];
  for (const method of catalogue) {
    checkMethod(method);
    if (names.has(method.toolName)) throw new CatalogueError(`catalogue method ${method.toolName} is defined twice`);
    names.add(method.toolName);
    if (!method.docs) continue; // no documentation record, no tool
    const args = z.strictObject({
      ...(method.pathParams?.shape ?? {}),
      ...(method.query?.shape ?? {}),
      ...(method.body?.schema.shape ?? {}),
    });
    const queryKeys = keysOf(method.query);
    const bodyKeys = keysOf(method.body?.schema);
    tools.push({
      name: method.toolName,
      title: method.docs.title,
      description: method.docs.description,
      resource: method.resource,
      method: method.method,
      tags: method.tags,
      spend: method.spend,
      annotations: annotationsFor(method, method.docs.title),
      args,
      inputSchema: inputJsonSchema(args),
      outputSchema: outputSchemaFor(method),
      source: method,
      route: `${method.http.method} ${method.http.path}`,
      split(values, viaFrom) {
        const path = method.http.path.replace(/\{([a-z_]+)\}/g, (_m, name: string) => encodeURIComponent(String(values[name])));
        const query = Object.fromEntries(queryKeys.filter((k) => values[k] !== undefined).map((k) => [k, values[k] as string | number | boolean]));
        // Sendoso's default page size is 10; ask for its maximum unless the caller chose.
        if (method.method === 'list' && queryKeys.includes('per_page') && query.per_page === undefined) query.per_page = 100;
        let body: Record<string, unknown> | undefined;
        if (method.body) {
          const fields: Record<string, unknown> = Object.fromEntries(bodyKeys.filter((k) => values[k] !== undefined).map((k) => [k, values[k]]));
          Object.assign(fields, method.body.constants, method.body.viaFrom ? { via_from: viaFrom } : {});
          body = method.body.wrap ? { [method.body.wrap]: fields } : fields;
        }
        return { method: method.http.method, path, query, body };
      },
    });
  }
  for (const method of own) {
    checkOwnMethod(method);
    if (names.has(method.toolName)) throw new CatalogueError(`catalogue method ${method.toolName} is defined twice`);
    names.add(method.toolName);
    tools.push({
      name: method.toolName,
      title: method.docs.title,
      description: method.docs.description,
      resource: method.resource,
      method: method.method,
      tags: method.tags,
      spend: undefined,
      // giftguard's own records: read-only, and a closed world (no outside system is touched).
      annotations: { title: method.docs.title, readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      args: method.args,
      inputSchema: inputJsonSchema(method.args),
      outputSchema: inputJsonSchema(method.response),
      source: method,
      route: 'giftguard',
      split() {
        throw new CatalogueError(`${method.toolName} answers from giftguard's records; it has no Sendoso request`);
      },
    });
  }
  return tools;
}

/** giftguard's own tools are named apart from Sendoso's, so a model never mistakes one for the other. */
function checkOwnMethod(method: GiftguardMethod): void {
  const where = `catalogue method ${method.toolName}`;
  if (!TOOL_NAME.test(method.toolName)) throw new CatalogueError(`${where}: tool names are snake_case, at most 64 characters`);
  if (!method.toolName.startsWith('giftguard_')) throw new CatalogueError(`${where}: giftguard's own tools are named giftguard_…`);
}

/** The OpenAI strict function form of a tool, for the agent. */
export function toOpenAiTool(tool: ToolDefinition): OpenAiFunctionTool {
  return {
    type: 'function',
    function: { name: tool.name, description: tool.description, parameters: toOpenAiStrictSchema(tool.inputSchema), strict: true },
  };
}

/** Whether a method name is one of the standard kinds. */
export function isStandardMethod(method: string): boolean {
  return (standardMethods as readonly string[]).includes(method);
}
