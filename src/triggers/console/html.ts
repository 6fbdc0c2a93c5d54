/**
 * @module HTML for the console's server-rendered pages: a tagged template that escapes every value
 * it is given unless the value is itself markup made by this template, so text from Sendoso, a
 * policy file or a request (a recipient, a campaign name, a custom message) is always text.
 */

/** Markup made by {@link html}; the only thing inserted unescaped. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text as HTML text or an attribute value (quoted): every character that could end either escaped. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** What a template may hold: markup, text, numbers, nothing (false, null, undefined) or lists of these. */
export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false || value === true) return '';
  return escapeHtml(String(value));
}

/** `html\`<td>${name}</td>\`` — values escaped, nested templates kept. */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): Html {
  let out = strings[0]!;
  values.forEach((value, i) => (out += render(value) + strings[i + 1]!));
  return new Html(out);
}

/** Markup from a trusted constant (an SVG made by charts.ts from numbers). */
export const trusted = (text: string): Html => new Html(text);
