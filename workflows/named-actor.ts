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

