/**
 * @module Parsers for command-line option values, so every command words a bad value the same way.
 */
import { GiftingError } from '../../domain/index.js';

/** A whole number in [min, max]; the error names the flag and the value given. */
export function integer(flag: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new GiftingError('bad_request', `${flag} must be a whole number from ${min} to ${max}; got "${value}"`);
    return n;
  };
}
