/**
 * @module Which tools an MCP server exposes. `methods` holds `read` (list + get), `write`
 * (create + update + delete), `custom` (any other method) or exact method/tool names; `tags` holds
 * resource tags, a tool matching any of them. The two filters combine with AND. A scope that
 * matches nothing is refused, as is a name that matches no method at all (a typo).
 */
import { GiftingError } from '../domain/index.js';
import { isStandardMethod } from './definitions.js';
import type { ToolDefinition } from './definitions.js';

export interface ToolScope {
  /** Absent or empty: every method. */
  readonly methods?: readonly string[];
  /** Absent or empty: every tag. */
  readonly tags?: readonly string[];
}

const GROUPS: Record<string, (tool: ToolDefinition) => boolean> = {
  read: (t) => t.method === 'list' || t.method === 'get',
  write: (t) => t.method === 'create' || t.method === 'update' || t.method === 'delete',
  custom: (t) => !isStandardMethod(t.method),
};

function matchesMethod(tool: ToolDefinition, filter: string): boolean {
  const group = GROUPS[filter];
  return group ? group(tool) : tool.method === filter || tool.name === filter;
}

/** The tools a scope allows, in catalogue order. */
export function selectTools(tools: readonly ToolDefinition[], scope: ToolScope): ToolDefinition[] {
  const methods = scope.methods ?? [];
  const tags = scope.tags ?? [];
  return tools.filter(
    (tool) =>
      (methods.length === 0 || methods.some((m) => matchesMethod(tool, m))) &&
      (tags.length === 0 || tags.some((tag) => tool.tags.includes(tag))),
  );
}

/** Checks a scope before it is stored; throws a GiftingError a person can act on. */
export function assertUsableScope(tools: readonly ToolDefinition[], scope: ToolScope): ToolDefinition[] {
  const knownTags = new Set(tools.flatMap((t) => t.tags));
  for (const method of scope.methods ?? []) {
    if (!GROUPS[method] && !tools.some((t) => t.method === method || t.name === method)) {
      throw new GiftingError('bad_request', `Unknown method "${method}": use read, write, custom, a method (list, get, create…) or a tool name`);
    }
  }
  for (const tag of scope.tags ?? []) {
    if (!knownTags.has(tag)) throw new GiftingError('bad_request', `Unknown tag "${tag}": tags are ${[...knownTags].sort().join(', ')}`);
  }
  const selected = selectTools(tools, scope);
  if (selected.length === 0) {
    throw new GiftingError('bad_request', 'That combination of methods and tags matches no tool; an MCP server with no tools is refused');
  }
  return selected;
}
