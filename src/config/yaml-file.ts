/**
 * @module YAML files people edit (spend policies, schedules), validated with zod and reported as
 * `file:line: field: message`, every problem at once, so a person fixes a file in one pass.
 */
import { LineCounter, isNode, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import type { z } from 'zod';

export interface ParsedYaml<T> {
  readonly path: string;
  readonly data: T;
  /** The line of the node at `path` (or of its nearest parent), for later cross-file checks. */
  readonly lineOf: (path: readonly (string | number)[]) => number | undefined;
}

function locate(doc: Document, counter: LineCounter) {
  return (path: readonly (string | number)[]): number | undefined => {
    for (let depth = path.length; depth >= 0; depth--) {
      const node = doc.getIn(path.slice(0, depth), true);
      if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
    }
    return undefined;
  };
}

function fieldName(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') || '(file)';
}

/** Parses `text` (from `path`) and validates it with `schema`; an empty file validates as `{}`. */
export function parseYamlFile<S extends z.ZodType>(path: string, text: string, schema: S): { file?: ParsedYaml<z.output<S>>; problems: string[] } {
  const counter = new LineCounter();
  let doc: Document;
  let data: unknown;
  try {
    doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
    if (doc.errors.length > 0) {
      return { problems: doc.errors.map((e) => `${path}:${counter.linePos(e.pos[0]).line}: YAML: ${e.message.split('\n')[0]}`) };
    }
    // Aliases are expanded here: a document built to explode (or nest without end) fails here.
    data = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (error) {
    const message = error instanceof RangeError ? 'nested too deeply' : (error as Error).message.split('\n')[0];
    return { problems: [`${path}: YAML: ${message}`] };
  }
  const lineOf = locate(doc, counter);
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    return {
      problems: parsed.error.issues.map((issue) => {
        // An unknown key is reported on its parent; point at the key itself.
        const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
        const at = keys.length > 0 ? [...issue.path, keys[0]!] : issue.path;
        const line = lineOf(at as (string | number)[]);
        const field = keys.length > 0 ? fieldName([...issue.path, ...keys]) : fieldName(issue.path);
        return `${path}${line === undefined ? '' : `:${line}`}: ${field}: ${issue.message}`;
      }),
    };
  }
  return { file: { path, data: parsed.data, lineOf }, problems: [] };
}
