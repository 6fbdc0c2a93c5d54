/** @module How the console writes money, times and callers for people. */
import { formatMoney } from '../../domain/index.js';
import type { Cents, SpendCaller } from '../../domain/index.js';

/** Money as the CLI writes it ("5,000.00 USD"), or a dash when there is none (no cap). */
export function money(amount: number | undefined | null, currency = 'USD'): string {
  return amount === undefined || amount === null ? '—' : formatMoney(amount as Cents, currency);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** "2025-07-14 09:05 EDT" in the policy's timezone. */
export function dateTime(ms: number | null | undefined, timeZone: string): string {
  if (ms === null || ms === undefined) return '—';
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short' });
    formatters.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(ms).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${parts.timeZoneName}`;
}

/** "in 3 h", "5 min ago": how far `ms` is from now, roughly. */
export function relative(ms: number, now: number): string {
  const delta = ms - now;
  const abs = Math.abs(delta);
  const text =
    abs < 60_000 ? 'less than a minute' : abs < 3_600_000 ? `${Math.round(abs / 60_000)} min` : abs < 172_800_000 ? `${Math.round(abs / 3_600_000)} h` : `${Math.round(abs / 86_400_000)} days`;
  return delta >= 0 ? `in ${text}` : `${text} ago`;
}

/** Who asked for a send, in words: "MCP server “sales agent” (mcp_1a2b) from Claude", "workflow run run_…", "the CLI". */
export function callerText(caller: SpendCaller): string {
  switch (caller.via) {
    case 'mcp':
      return `MCP server ${caller.name ? `“${caller.name}” (${caller.id})` : caller.id}${caller.clientName ? ` from ${caller.clientName}` : ''}`;
    case 'workflow':
      return `workflow run ${caller.id}${caller.name ? ` (${caller.name})` : ''}`;
    case 'cli':
      return `the CLI${caller.name ? ` (${caller.name})` : ''}`;
  }
}

/** A window's name in a sentence. */
export const WINDOW_TEXT: Readonly<Record<string, string>> = { day: 'today', week: 'this week', month: 'this month' };
