/**
 * @module The steps every workflow takes the same way: find the run's team group and its campaign
 * by the names in its input, and end the run as failed, with the reason, when a step's actor
 * throws.
 *
 * The steps are data: they invoke the actors declared here (`stepActors`) and name their context
 * updates (`keepGroup`, `keepCampaign`, `keepError`), which each machine declares in its own
 * `setup` — `actions: { keepGroup: assign(keepGroup), … }` — so that every update is typed against
 * that machine's context. (An `assign` written here could not be: XState's action types hold
 * their machine's context invariantly, so one action cannot serve three machines.)
 */
import { messageOf, namedActor } from './named-actor.js';
import type { CampaignFound, GroupFound } from './shared-types.js';

/** The actors the shared steps invoke, for each machine's `setup({ actors: { ...stepActors, … } })`. */
export const stepActors = {
  findGroup: namedActor<GroupFound, { name: string }>('findGroup'),
  findCampaign: namedActor<CampaignFound, { name: string; deliveryType: 'mail' | 'email' | 'any' }>('findCampaign'),
};

/**
 * An actor's output, as the params of an action or guard: a named guard or action sees only the
 * machine's own events, not the actor's done event, so the transition hands the output over.
 */
export const actorOutput = <T>({ event }: { event: { readonly output: T } }): T => event.output;

/** What an actor threw, as the params of `keepError`. */
const actorError = ({ event }: { event: { readonly error: unknown } }): unknown => event.error;

/** Keeps the group a step found. */
export const keepGroup = (_: unknown, group: GroupFound) => ({ group });

/** Keeps the campaign a step found. */
export const keepCampaign = (_: unknown, campaign: CampaignFound) => ({ campaign });

/** Keeps why a step failed: the run's error, which the CLI prints and Slack shows. */
export const keepError = (_: unknown, error: unknown) => ({ error: messageOf(error) });

/** The transition for a step whose actor threw: the run ends in its `failed` state with the reason. */
export function failOnError() {
  return { target: 'failed', actions: { type: 'keepError', params: actorError } } as const;
}

/** What the shared steps read of a run's context: the names its input gives. */
interface NamedInput {
  readonly input: { readonly group: string; readonly campaign: string };
}

/**
 * The part of a run's context the shared steps read and write: its input, the group and campaign
 * they found, and why a step failed. Each machine's context extends it.
 */
export interface StepContext<TInput extends NamedInput['input']> {
  readonly input: TInput;
  readonly group?: GroupFound;
  readonly campaign?: CampaignFound;
  readonly error?: string;
}

/** Finds the team group the input names (by name or id), keeps it as `group`, then goes to `next`. */
export function findGroupStep<const TNext extends string>(next: TNext) {
  return {
    invoke: {
      src: 'findGroup',
      input: ({ context }: { context: NamedInput }) => ({ name: context.input.group }),
      onDone: { target: next, actions: { type: 'keepGroup', params: actorOutput } },
      onError: failOnError(),
    },
  } as const;
}

/**
 * Finds the campaign the input names, of the delivery type the workflow sends (`any` for one that
 * only reads), keeps it as `campaign`, then goes to `next`.
 */
export function findCampaignStep<const TNext extends string>(deliveryType: 'mail' | 'email' | 'any', next: TNext) {
  return {
    invoke: {
      src: 'findCampaign',
      input: ({ context }: { context: NamedInput }) => ({ name: context.input.campaign, deliveryType }),
      onDone: { target: next, actions: { type: 'keepCampaign', params: actorOutput } },
      onError: failOnError(),
    },
  } as const;
}
