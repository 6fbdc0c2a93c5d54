/**
 * @module The overview's pictures, drawn on the server as inline SVG from numbers alone: a meter
 * per budget window (charged, held and outside spend stacked against the cap) and the month's
 * spend per day against the daily cap. Colours come from the stylesheet by class, and sizes are
 * SVG attributes, so nothing needs an inline style the Content-Security-Policy would refuse.
 */
import { formatMoney } from '../../domain/index.js';
import type { Cents } from '../../domain/index.js';
import { escapeHtml, trusted } from './html.js';
import type { Html } from './html.js';

/** What one stretch of time (a window, a day) spent, by kind. */
export interface SpendParts {
  readonly captured: number;
  readonly held: number;
  /** Outside giftguard; drawn only when the policy counts it against the caps. */
  readonly observed: number;
}

const fixed = (n: number) => (Math.round(n * 100) / 100).toString();

/**
 * A horizontal bar: charged, then held, then outside spend, on a track that is the cap (or, over
 * the cap, the spend, with the cap marked).
 */
export function meter(parts: SpendParts, cap: number | undefined, label: string): Html {
  const W = 1000;
  const H = 18;
  const total = parts.captured + parts.held + parts.observed;
  const scale = Math.max(cap ?? 0, total);
  let x = 0;
  const segments: string[] = [];
  for (const kind of ['captured', 'held', 'observed'] as const) {
    const value = parts[kind];
    if (value <= 0 || scale <= 0) continue;
    const w = (value / scale) * W;
    segments.push(`<rect class="${kind}" x="${fixed(x)}" y="0" width="${fixed(w)}" height="${H}"/>`);
    x += w;
  }
  const capMark = cap !== undefined && total > cap && scale > 0 ? `<rect class="over" x="${fixed((cap / scale) * W - 2)}" y="0" width="4" height="${H}"/>` : '';
  return trusted(
    `<svg viewBox="0 0 ${W} ${H}" preserveAspectRatio="none" role="img" aria-label="${escapeHtml(label)}"><title>${escapeHtml(label)}</title>` +
      `<rect class="track" x="0" y="0" width="${W}" height="${H}" rx="3"/>${segments.join('')}${capMark}</svg>`,
  );
}

/** One day of the month: its number, what it spent, and whether it is still to come. */
export interface DaySpend extends SpendParts {
  readonly day: number;
  readonly future: boolean;
}

/** Spend per day as stacked columns, with the daily cap as a dashed line; amounts in `currency`. */
export function dailyColumns(days: readonly DaySpend[], perDayCap: number | undefined, currency: string, label: string): Html {
  const W = 540;
  const H = 200;
  const left = 70;
  const right = 10;
  const top = 12;
  const bottom = 26;
  const plotW = W - left - right;
  const plotH = H - top - bottom;
  const highest = Math.max(0, ...days.map((d) => d.captured + d.held + d.observed));
  const max = niceCeiling(Math.max(highest, perDayCap ?? 0) * 1.08 || 100_00);
  const y = (value: number) => top + plotH - (value / max) * plotH;
  const slot = plotW / Math.max(1, days.length);
  const barW = Math.max(2, slot * 0.7);
  const out: string[] = [];
  // Grid: zero, half and the top, labelled in the currency.
  for (const value of [0, max / 2, max]) {
    out.push(`<line class="${value === 0 ? 'axis' : 'grid-line'}" x1="${left}" x2="${W - right}" y1="${fixed(y(value))}" y2="${fixed(y(value))}"/>`);
    out.push(`<text x="${left - 6}" y="${fixed(y(value) + 3)}" text-anchor="end">${escapeHtml(shortMoney(value, currency))}</text>`);
  }
  days.forEach((d, i) => {
    const x = left + i * slot + (slot - barW) / 2;
    let base = 0;
    for (const kind of ['captured', 'held', 'observed'] as const) {
      const value = d[kind];
      if (value <= 0) continue;
      out.push(`<rect class="${kind}" x="${fixed(x)}" y="${fixed(y(base + value))}" width="${fixed(barW)}" height="${fixed(y(base) - y(base + value))}"><title>${escapeHtml(`Day ${d.day}: ${kind} ${formatMoney(value as Cents, currency)}`)}</title></rect>`);
      base += value;
    }
    if (d.day === 1 || d.day % 5 === 0 || i === days.length - 1) {
      out.push(`<text x="${fixed(left + i * slot + slot / 2)}" y="${H - 8}" text-anchor="middle">${d.day}</text>`);
    }
  });
  if (perDayCap !== undefined) {
    out.push(`<line class="cap-line" x1="${left}" x2="${W - right}" y1="${fixed(y(perDayCap))}" y2="${fixed(y(perDayCap))}"/>`);
    out.push(`<text class="cap-label" x="${W - right}" y="${fixed(y(perDayCap) - 4)}" text-anchor="end">daily cap ${escapeHtml(shortMoney(perDayCap, currency))}</text>`);
  }
  return trusted(`<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(label)}"><title>${escapeHtml(label)}</title>${out.join('')}</svg>`);
}

/** A round number at or above `cents` (1, 2 or 5 times a power of ten), so axis labels read well. */
function niceCeiling(cents: number): number {
  const power = 10 ** Math.floor(Math.log10(cents));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= cents) return step * power;
  return 10 * power;
}

/** "1,500", "12.50" or "1.2k" followed by the currency, for axis labels. */
function shortMoney(cents: number, currency: string): string {
  const units = cents / 100;
  const text = units >= 10_000 ? `${fixed(units / 1000)}k` : units % 1 === 0 ? units.toLocaleString('en-US') : units.toFixed(2);
  return `${text} ${currency}`;
}
