/**
 * @module Where the guard's and the gateways' observers report to in one process. The App wires
 * these callbacks into every guard and gateway it builds (they are built before anything that
 * listens, and more are built later); `serve` subscribes its metrics and its readiness to them.
 * Nothing here knows Prometheus: the lower layers only ever see a plain callback.
 */
import type { GuardEvent } from '../guard/index.js';
import type { GatewayOptions } from '../sendoso/index.js';

/** One attempt at Sendoso, as the gateway reports it. */
export type GatewayCall = Parameters<NonNullable<GatewayOptions['onCall']>>[0];

/**
 * Whose gateway made a call: the configured connection's (`account`), or a sender connection's or
 * another token's (`sender`) — a sender whose token was revoked says nothing about the instance.
 */
export type GatewayVia = 'account' | 'sender';

/** What a subscriber hears; either part may be left out. */
export interface TelemetryListener {
  readonly guard?: (event: GuardEvent) => void;
  readonly gateway?: (call: GatewayCall, via: GatewayVia) => void;
}

/** The fan-out: give `guard` and `gateway` to what reports, `subscribe` to what listens. */
export interface Telemetry {
  readonly guard: (event: GuardEvent) => void;
  /** For the configured connection's gateway. */
  readonly gateway: (call: GatewayCall) => void;
  /** For the gateways of sender connections and of other tokens. */
  readonly senderGateway: (call: GatewayCall) => void;
  /** Adds a listener; returns its removal. */
  subscribe(listener: TelemetryListener): () => void;
}

export function createTelemetry(): Telemetry {
  const listeners = new Set<TelemetryListener>();
  return {
    // The guard and the gateway catch what an observer throws; so a listener cannot break a send.
    guard: (event) => {
      for (const listener of listeners) listener.guard?.(event);
    },
    gateway: (call) => {
      for (const listener of listeners) listener.gateway?.(call, 'account');
    },
    senderGateway: (call) => {
      for (const listener of listeners) listener.gateway?.(call, 'sender');
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}
