/**
 * @module The spend policy as a running process sees it: re-read from its files within a second
 * of them changing, so `serve` and a CLI command on the same files enforce the same policy.
 *
 * Reloading is lazy and cheap: at most once per `checkEveryMs`, the files' names, sizes and
 * modification times are compared with the last load; only a change re-parses them. A reload is
 * atomic (the new policy replaces the old one whole) and logged. A file that no longer validates —
 * or a policy directory left empty — refuses every spend (fail closed) with the file's
 * `file:line` problems, until it is fixed.
 */
import { statSync } from 'node:fs';
import type { Clock, DecisionReason } from '../domain/index.js';
import type { Logger } from '../log/index.js';
import { PolicyError, loadPolicySync, policyFiles } from './policy-loader.js';
import type { Policy } from './policy-schema.js';

/** The policy in force now, or why there is none (and so every spend is refused). */
export type PolicyState =
  | { readonly policy: Policy; readonly refusal?: undefined; readonly problems?: undefined }
  | {
      readonly policy?: undefined;
      readonly refusal: DecisionReason;
      /** Each problem of files that do not validate (`file:line: …`), for people fixing them. */
      readonly problems?: readonly string[];
    };

/** Where the guard reads its policy from, at every decision. */
export interface PolicySource {
  current(): PolicyState;
}

/** A policy that never changes (tests, benchmarks, one-shot tools). */
export function fixedPolicy(policy: Policy | undefined): PolicySource {
  const state: PolicyState = policy ? { policy } : { refusal: noPolicy(['(none given)']) };
  return { current: () => state };
}

function noPolicy(paths: readonly string[]): DecisionReason {
  return {
    code: 'no_spend_policy',
    message: `No spend policy is configured (looked in ${paths.join(', ')}), so giftguard refuses every spend. Add a policy file under policies/ to allow sends within caps.`,
  };
}

function invalidPolicy(problems: readonly string[]): DecisionReason {
  return {
    code: 'policy_invalid',
    message: `The spend policy files do not validate, so giftguard refuses every spend until they are fixed: ${problems.join('; ')}`,
  };
}

export interface LivePolicyOptions {
  readonly paths: readonly string[];
  /** Paths that do not exist count as "no policy yet" rather than as an error. */
  readonly missingOk: boolean;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How often, at most, the files are checked for changes (default 1 s). */
  readonly checkEveryMs?: number;
}

/** The policy files, followed as they change. */
export class LivePolicy implements PolicySource {
  private state: PolicyState;
  private signature: string;
  private checkedAt: number;
  private readonly log: Logger;

  /** Loads the files now; an invalid policy throws (a service should not start on one). */
  constructor(private readonly options: LivePolicyOptions) {
    this.log = options.logger.child({ module: 'guard.policy' });
    this.signature = this.readSignature();
    const policy = loadPolicySync(options.paths, { missingOk: options.missingOk });
    this.state = policy ? { policy } : { refusal: noPolicy(options.paths) };
    this.checkedAt = options.clock.now();
  }

  /** The policy loaded at start, if any (what `serve` prints). */
  get initial(): Policy | undefined {
    return this.state.policy;
  }

  current(): PolicyState {
    const now = this.options.clock.now();
    if (now - this.checkedAt >= (this.options.checkEveryMs ?? 1000)) {
      this.checkedAt = now;
      const signature = this.readSignature();
      if (signature !== this.signature) {
        this.signature = signature;
        this.reload();
      }
    }
    return this.state;
  }

  private reload(): void {
    try {
      const policy = loadPolicySync(this.options.paths, { missingOk: this.options.missingOk });
      if (policy) {
        this.state = { policy };
        this.log.info(
          { groups: policy.groups.length, killSwitch: policy.killSwitch, dryRun: policy.dryRun, files: this.options.paths },
          'spend policy reloaded',
        );
      } else {
        this.state = { refusal: noPolicy(this.options.paths) };
        this.log.error({ files: this.options.paths }, 'spend policy files are gone; refusing every spend');
      }
    } catch (error) {
      const problems = error instanceof PolicyError ? error.problems : [(error as Error).message];
      this.state = { refusal: invalidPolicy(problems), problems };
      this.log.error({ problems }, 'spend policy no longer validates; refusing every spend until it is fixed');
    }
  }

  /** Names, sizes and modification times of the policy files: what changes when anyone edits them. */
  private readSignature(): string {
    let files: string[];
    try {
      files = policyFiles(this.options.paths, { missingOk: true });
    } catch {
      return 'unreadable';
    }
    return files
      .map((file) => {
        try {
          const info = statSync(file);
          return `${file}:${info.size}:${info.mtimeMs}`;
        } catch {
          return `${file}:gone`;
        }
      })
      .join('|');
  }
}
