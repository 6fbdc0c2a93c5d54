/**
 * @module Calendar windows (day, ISO week, month, year) in a declared IANA timezone, as epoch-ms
 * [start, end) ranges. Caps reset at local midnight, on Monday and on the 1st — the explicit
 * calendar semantics the policy file names, not rolling windows.
 */

export type WindowUnit = 'day' | 'week' | 'month' | 'year';

export interface TimeWindow {
  readonly unit: WindowUnit;
  readonly start: number;
  readonly end: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether the runtime knows this IANA timezone. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

interface LocalParts {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number; // 0 = Monday … 6 = Sunday
}

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

function localParts(ms: number, timeZone: string): LocalParts {
  const parts = Object.fromEntries(formatter(timeZone).formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: WEEKDAYS.indexOf(parts.weekday ?? 'Mon'),
  };
}

/** The zone's offset from UTC at instant `ms`, in ms (negative west of Greenwich). */
function offsetAt(ms: number, timeZone: string): number {
  const p = localParts(ms, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** The instant at which the local wall-clock time y-m-d 00:00 begins in the zone. */
export function localMidnight(year: number, month: number, day: number, timeZone: string): number {
  const guess = Date.UTC(year, month - 1, day);
  // Two passes settle DST transitions: the offset at the guess may differ from the one at the answer.
  let result = guess - offsetAt(guess, timeZone);
  result = guess - offsetAt(result, timeZone);
  return result;
}

const lastWindow = new Map<string, TimeWindow>();

/**
 * The calendar window of `unit` containing `ms` in `timeZone`. The last window per zone and unit
 * is kept, since almost every call lands in it and Intl formatting is the expensive part.
 */
export function windowAt(ms: number, unit: WindowUnit, timeZone: string): TimeWindow {
  const key = `${timeZone}|${unit}`;
  const last = lastWindow.get(key);
  if (last && ms >= last.start && ms < last.end) return last;
  const window = computeWindow(ms, unit, timeZone);
  lastWindow.set(key, window);
  return window;
}

function computeWindow(ms: number, unit: WindowUnit, timeZone: string): TimeWindow {
  const p = localParts(ms, timeZone);
  switch (unit) {
    case 'day':
      return {
        unit,
        start: localMidnight(p.year, p.month, p.day, timeZone),
        end: localMidnight(p.year, p.month, p.day + 1, timeZone),
      };
    case 'week': {
      // ISO weeks start on Monday. Date.UTC normalises day overflow across months and years.
      const first = new Date(Date.UTC(p.year, p.month - 1, p.day - p.weekday));
      const y = first.getUTCFullYear();
      const m = first.getUTCMonth() + 1;
      const d = first.getUTCDate();
      return { unit, start: localMidnight(y, m, d, timeZone), end: localMidnight(y, m, d + 7, timeZone) };
    }
    case 'month':
      return { unit, start: localMidnight(p.year, p.month, 1, timeZone), end: localMidnight(p.year, p.month + 1, 1, timeZone) };
    case 'year':
      return { unit, start: localMidnight(p.year, 1, 1, timeZone), end: localMidnight(p.year + 1, 1, 1, timeZone) };
  }
}
