/**
 * A promise actor with a name, a type and no implementation: workflows declare what they need;
 * the orchestrator provides the real actor with `machine.provide({ actors })`.
 */
import { fromPromise } from 'xstate';

export function namedActor<TOutput, TInput>(name: string) {
  return fromPromise<TOutput, TInput>(async () => {
    throw new Error(`The workflow needs actor "${name}", but the orchestrator did not provide it`);
  });
}

/** The message of whatever an actor threw, for a run's error. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Integer cents as "5,000.00 USD"; kept here because workflows import no runtime code from src/. */
export function usd(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.trunc(abs / 100).toLocaleString('en-US')}.${String(abs % 100).padStart(2, '0')} USD`;
}
