/**
 * @module JSON Schema for tools, generated from the catalogue's zod schemas: a portable draft-07
 * form for MCP clients, and OpenAI's strict function-calling form for the agent
 * (additionalProperties false everywhere, every property required with optional ones nullable,
 * no `format`, `pattern` or `default`).
 */
import { z } from 'zod';

export type JsonSchema = { [key: string]: unknown };

const SAFE_BOUND = Number.MAX_SAFE_INTEGER;

/** Removes noise zod adds that no client needs: `$schema` and the ±2^53 integer bounds. */
function tidy(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(tidy);
  if (typeof node !== 'object' || node === null) return node;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$schema') continue;
    if ((key === 'minimum' && value === -SAFE_BOUND) || (key === 'maximum' && value === SAFE_BOUND)) continue;
    out[key] = tidy(value);
  }
  return out;
}

/** The schema of what a caller sends (defaults optional, transforms ignored). */
export function inputJsonSchema(schema: z.ZodType): JsonSchema {
  return tidy(z.toJSONSchema(schema, { target: 'draft-7', io: 'input', unrepresentable: 'any' })) as JsonSchema;
}

/** OpenAI strict mode rejects these keywords (or their regex dialect) in function parameters. */
const STRICT_DROPPED = new Set(['format', 'pattern', 'default', '$schema']);

/** Converts a portable object schema into OpenAI's strict function-calling form. */
export function toOpenAiStrictSchema(schema: JsonSchema): JsonSchema {
  return strictNode(schema, true) as JsonSchema;
}

function strictNode(node: JsonSchema, required: boolean): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (STRICT_DROPPED.has(key)) continue;
    out[key] = value;
  }
  if (out.type === 'object' || out.properties) {
    const properties = (out.properties ?? {}) as Record<string, JsonSchema>;
    const requiredKeys = new Set((out.required as string[] | undefined) ?? []);
    out.properties = Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, strictNode(v, requiredKeys.has(k))]));
    out.required = Object.keys(properties);
    out.additionalProperties = false;
  }
  if (out.items && typeof out.items === 'object') out.items = strictNode(out.items as JsonSchema, true);
  if (Array.isArray(out.anyOf)) out.anyOf = (out.anyOf as JsonSchema[]).map((s) => strictNode(s, true));
  return required ? out : nullable(out);
}

/** Optional properties become required-but-nullable, the only way strict mode allows "may be absent". */
function nullable(node: JsonSchema): JsonSchema {
  if (Array.isArray(node.anyOf)) return { ...node, anyOf: [...(node.anyOf as JsonSchema[]), { type: 'null' }] };
  if (typeof node.type === 'string') {
    const out: JsonSchema = { ...node, type: [node.type, 'null'] };
    if (Array.isArray(node.enum)) out.enum = [...(node.enum as unknown[]), null];
    return out;
  }
  return { anyOf: [node, { type: 'null' }] };
}

/**
 * Undoes the strict form's nulls before validation: a null from a strict-mode model means
 * "not given", and giftguard's own schemas never accept null.
 */
export function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [k, dropNulls(v)]),
  );
}
