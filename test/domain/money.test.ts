/**
 * Money is integer cents, parsed from Sendoso's strings and integers without floating point.
 */
import { describe, expect, it } from 'vitest';
import { centsToSendosoString, formatMoney, parseUnitsToCents } from '../../src/domain/index.js';
import type { Cents } from '../../src/domain/index.js';

describe('parseUnitsToCents', () => {
  it.each([
    ['2.0', 200],
    ['578.0', 57800],
    ['50000', 5_000_000],
    [25, 2500],
    [10.5, 1050],
    ['0.1', 10],
    ['12.345', 1235],
    ['12.344', 1234],
    ['-3.5', -350],
    [' 45.00 ', 4500],
    [0.1 + 0.2, 30],
  ])('parses %j as %i cents', (input, expected) => {
    expect(parseUnitsToCents(input)).toBe(expected);
  });

  it.each(['', 'abc', '1,000', '1e3', Number.NaN, Number.POSITIVE_INFINITY])('refuses %j', (input) => {
    expect(parseUnitsToCents(input)).toBeUndefined();
  });
});

describe('rendering', () => {
  it('writes Sendoso-style strings', () => {
    expect(centsToSendosoString(4500 as Cents)).toBe('45.0');
    expect(centsToSendosoString(1250 as Cents)).toBe('12.5');
    expect(centsToSendosoString(1205 as Cents)).toBe('12.05');
    expect(centsToSendosoString(-350 as Cents)).toBe('-3.5');
  });

  it('formats for people', () => {
    expect(formatMoney(500_000 as Cents)).toBe('5,000.00 USD');
    expect(formatMoney(34_000 as Cents, 'EUR')).toBe('340.00 EUR');
  });
});
