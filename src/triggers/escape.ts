/**
 * @module Text from Sendoso and from people (member names, campaign names, a model's answer) is
 * data, never markup, in every report giftguard writes: a spreadsheet must not run it as a
 * formula, a Markdown viewer must not render it as HTML or links, Slack must not turn it into a
 * mention or a link, and a terminal must not take it for control sequences.
 */

/** Characters that make a spreadsheet read a cell as a formula (OWASP CSV injection). */
const FORMULA_START = /^[=+\-@\t\r]/;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
const LINE_BREAK = /\r\n|\r|\n/g;

/** One line of plain text: line breaks as spaces, other control characters (escape sequences) as �. */
function plainLine(value: string): string {
  return value.replace(LINE_BREAK, ' ').replace(CONTROL, '\ufffd');
}

/**
 * One CSV cell: on one line, without control characters, quoted (so separators stay inside it,
 * whatever the locale's separator), quotes doubled, and a leading formula character neutralised
 * with a single quote.
 */
export function csvCell(value: string): string {
  const line = plainLine(value);
  const text = FORMULA_START.test(line) ? `'${line}` : line;
  return `"${text.replace(/"/g, '""')}"`;
}

const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Text for Markdown: on one line (a line break in a name must not start a heading, a list or a
 * code block), control characters shown as �, HTML characters as entities, and the Markdown
 * syntax that could change what a reader sees (emphasis, links and images, code, table pipes)
 * escaped. Plain punctuation — parentheses, "#" inside a line — stays as written.
 */
export function markdownText(value: string): string {
  // Markdown first, so the backslashes it adds are not themselves escaped by the entities below.
  return plainLine(value)
    .replace(/[\\`*_[\]|~]/g, (c) => `\\${c}`)
    .replace(/[&<>"']/g, (c) => HTML[c]!);
}

/** Text for Slack mrkdwn: its three control characters escaped, so `<!channel>` or `<url|label>` stays text. */
export function slackText(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Text for a terminal: control characters (escape sequences, carriage returns) shown as �; line breaks kept. */
export function terminalText(value: string): string {
  return value.replace(CONTROL, '\ufffd');
}
