/**
 * @module Money as integer cents. Sendoso sends amounts as strings ("2.0", "578.0", "50000")
 * and integers (whole currency units); both are converted here, once, without floating point.
 */
import type { Brand } from './ids.js';

/** An amount in the smallest unit of its currency (cents for USD). Always an integer. */
export type Cents = Brand<number, 'Cents'>;

/** An amount with its ISO 4217 currency. */
export interface Money {
  readonly cents: Cents;
  readonly currency: string;
}

const DECIMAL = /^(-)?(\d+)(?:\.(\d*))?$/;

/** Brands an integer as cents; throws on fractions so a float can never slip into the ledger. */
export function cents(n: number): Cents {
  if (!Number.isSafeInteger(n)) throw new RangeError(`cents must be a safe integer, got ${n}`);
  return n as Cents;
}

/**
 * Parses a Sendoso amount in whole currency units ("45.0", 25, "12.345") into cents.
 * Digits past the second decimal are rounded half away from zero on the decimal string itself,
 * so 0.1 + 0.2 style float errors cannot occur. Returns undefined for text that is not a number.
 */
export function parseUnitsToCents(value: string | number): Cents | undefined {
  const text = typeof value === 'number' ? numberToPlainString(value) : value.trim();
  if (text === undefined) return undefined;
  const match = DECIMAL.exec(text);
  if (!match) return undefined;
  const [, sign, whole = '0', fraction = ''] = match;
  let result = Number(whole) * 100 + Number(fraction.slice(0, 2).padEnd(2, '0'));
  if ((fraction[2] ?? '0') >= '5') result += 1;
  if (!Number.isSafeInteger(result)) return undefined;
  return (sign && result !== 0 ? -result : result) as Cents;
}

function numberToPlainString(value: number): string | undefined {
  if (!Number.isFinite(value)) return undefined;
  // toFixed avoids exponent notation for the magnitudes money can have; 6 places keeps rounding exact.
  return value.toFixed(6);
}

/** Renders cents as Sendoso renders amounts: whole units with one decimal at least ("45.0", "12.5", "12.05"). */
export function centsToSendosoString(amount: Cents): string {
  const sign = amount < 0 ? '-' : '';
  const abs = Math.abs(amount);
  const whole = Math.trunc(abs / 100);
  const fraction = abs % 100;
  if (fraction === 0) return `${sign}${whole}.0`;
  return `${sign}${whole}.${String(fraction).padStart(2, '0').replace(/0$/, '')}`;
}

/** Formats money for people: "5,000.00 USD". */
export function formatMoney(amount: Cents, currency = 'USD'): string {
  const sign = amount < 0 ? '-' : '';
  const abs = Math.abs(amount);
  const whole = Math.trunc(abs / 100).toLocaleString('en-US');
  return `${sign}${whole}.${String(abs % 100).padStart(2, '0')} ${currency}`;
}
