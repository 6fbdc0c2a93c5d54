/**
 * @module The sandbox's mutable heart: state, virtual clock, limiter, faults and logs, plus
 * persistence to a state file. The HTTP server drives it; tests may read it directly.
 */
import { existsSync, readFileSync } from 'node:fs';
import { GiftingError, OffsetClock } from '../domain/index.js';
import type { AdjustableClock } from '../domain/index.js';
import type { Logger } from '../log/index.js';
import { writePrivateFileSync } from '../storage/index.js';
import { FaultQueue } from './faults.js';
import { applyDueSteps } from './lifecycle.js';
import { issueTokens } from './oauth-server.js';
import type { IssuedTokens } from './oauth-server.js';
import { FixedWindowLimiter } from './rate-limit.js';
import { sendIndex } from './send-index.js';
import { WebhookSender } from './webhooks.js';
import type { HeaderStyle } from './rate-limit.js';
import type { Seed } from './seed.js';
import { stateFromSeed } from './state.js';
import type { SandboxState } from './state.js';

/** One API request as the sandbox saw it. */
export interface RequestLogEntry {
  readonly seq: number;
  /** Virtual time the request arrived, epoch ms. */
  readonly at: number;
  readonly method: string;
  readonly path: string;
  /** HTTP status sent, or null when no answer was sent (a hang or a dropped connection). */
  readonly status: number | null;
  readonly fault?: string;
}

const MAX_LOG_ENTRIES = 200_000;

export interface SandboxCoreOptions {
  readonly seed: Seed;
  readonly clock: AdjustableClock;
  readonly rateLimit: number;
  readonly headerStyle: HeaderStyle;
  readonly stateFile?: string | undefined;
  readonly logger: Logger;
}

/** Everything the sandbox knows and does, independent of HTTP. */
export class SandboxCore {
  state: SandboxState;
  readonly clock: AdjustableClock;
  readonly limiter: FixedWindowLimiter;
  readonly faults = new FaultQueue();
  headerStyle: HeaderStyle;
  requestLog: RequestLogEntry[] = [];
  readonly webhooks: WebhookSender;
  private seq = 0;
  /** Changed in a way only the state file can bring back: written before the answer goes out. */
  private dirty = false;
  /**
   * Lifecycle steps applied since the last write. They follow from the plans already in the file
   * and the clock, so a restart re-applies them identically; they are written with the next write
   * or at close, not once per step (at scale that rewrote the whole file every few seconds).
   */
  private progressed = false;
  private cancelNextStep: (() => void) | undefined;

  constructor(private readonly options: SandboxCoreOptions) {
    this.clock = options.clock;
    this.limiter = new FixedWindowLimiter(options.rateLimit);
    this.headerStyle = options.headerStyle;
    this.state = this.loadOrSeed();
    this.webhooks = new WebhookSender(options.clock, options.logger);
    this.markAllAnnounced();
  }

  /** What happened before webhooks were listening is not news (this also builds the send index, once). */
  private markAllAnnounced(): void {
    sendIndex(this.state).markAllAnnounced();
  }

  /**
   * Sends a webhook for every status update not announced yet (new sends included), and arms a
   * timer for the next lifecycle step, so its webhook comes when it happens — nobody has to ask.
   * Only sends that changed are looked at; until webhooks are configured, changes wait here.
   */
  announceChanges(): void {
    if (!this.webhooks.configured) return;
    for (const [send, seen] of sendIndex(this.state).takeUnannounced()) {
      for (const update of send.statusUpdates.slice(seen)) this.webhooks.emit(send.sendGid, update.status, update.at);
    }
    this.armNextStep();
  }

  private armNextStep(): void {
    this.cancelNextStep?.();
    this.cancelNextStep = undefined;
    const next = sendIndex(this.state).nextDueAt();
    if (next === undefined) return;
    this.cancelNextStep = this.clock.setTimer(Math.max(0, next - this.clock.now()), () => {
      this.cancelNextStep = undefined;
      this.catchUp();
      this.persist();
      this.announceChanges();
    });
  }

  /** Stops webhook retries and the lifecycle timer (shutdown). */
  stop(): void {
    this.cancelNextStep?.();
    this.webhooks.close();
  }

  private loadOrSeed(): SandboxState {
    const file = this.options.stateFile;
    if (file && existsSync(file)) {
      let state: SandboxState;
      try {
        state = JSON.parse(readFileSync(file, 'utf8')) as SandboxState;
      } catch (cause) {
        throw new GiftingError('config', `Sandbox state file ${file} is not valid JSON; move it away to start fresh`, { cause });
      }
      if (state.version !== 1) throw new GiftingError('config', `Sandbox state file ${file} has an unknown version`);
      if (this.clock instanceof OffsetClock) this.clock.offset = state.clockOffsetMs;
      this.options.logger.info({ file }, 'sandbox state restored');
      return state;
    }
    const state = stateFromSeed(this.options.seed, this.clock.now());
    this.dirty = true;
    return state;
  }

  /** Records that state changed so the next {@link persist} writes it. */
  markDirty(): void {
    this.dirty = true;
  }

  /** Applies lifecycle steps that fell due; called before answering anything. */
  catchUp(): void {
    if (applyDueSteps(this.state, this.clock.now())) this.progressed = true;
  }

  advanceClock(ms: number): void {
    this.clock.advance(ms);
    if (this.clock instanceof OffsetClock) this.state.clockOffsetMs = this.clock.offset;
    this.catchUp();
    this.dirty = true;
  }

  /** Mints a token pair for a user (the seed's API user by default). */
  issueToken(userId = this.state.apiUserId): IssuedTokens {
    if (!this.state.users.some((u) => u.id === userId)) {
      throw new GiftingError('bad_request', `No sandbox user ${userId}`);
    }
    const client = this.state.oauth.clients[0]!;
    const tokens = issueTokens(this.state, userId, client.clientId, 'public write update', this.clock.now());
    this.dirty = true;
    this.persist();
    return tokens;
  }

  /** Back to the seed: state, logs and faults (the clock keeps running). */
  reset(): void {
    this.state = stateFromSeed(this.options.seed, this.clock.now());
    this.markAllAnnounced();
    if (this.clock instanceof OffsetClock) this.state.clockOffsetMs = this.clock.offset;
    this.requestLog = [];
    this.faults.clear();
    this.dirty = true;
    this.persist();
  }

  log(entry: Omit<RequestLogEntry, 'seq'>): RequestLogEntry {
    const full = { seq: ++this.seq, ...entry };
    this.requestLog.push(full);
    if (this.requestLog.length > MAX_LOG_ENTRIES) this.requestLog.splice(0, this.requestLog.length - MAX_LOG_ENTRIES);
    return full;
  }

  /**
   * Writes the state file if something changed that a restart could not re-derive (with `final`,
   * at close, lifecycle progress too); atomic (write then rename). The write covers the whole
   * state, so it costs O(sends): it happens for changes made by a request (a send, a token, a
   * control call), before the answer, and never for lifecycle steps alone.
   */
  persist(final = false): void {
    const file = this.options.stateFile;
    if (!file || !(this.dirty || (final && this.progressed))) return;
    // It holds the sandbox's tokens: owner-only, like everything in the data directory.
    writePrivateFileSync(file, JSON.stringify(this.state));
    this.dirty = false;
    this.progressed = false;
  }
}
