/**
 * @module Scripted faults for tests and demos: the next N matching requests fail in a chosen way.
 * `drop_after_commit` is the one that matters most: Sendoso does the send, then the answer is lost,
 * which is exactly the case where a naive retry sends the gift twice.
 */
import { z } from 'zod';

export const faultKinds = [
  /** Answer 429 with rate-limit headers; nothing happens. */
  'rate_limit',
  /** Answer 500; nothing happens. */
  'server_error',
  /** Never answer; nothing happens. The client's timeout decides. */
  'hang',
  /** Close the connection before doing anything. */
  'drop_before_commit',
  /** Do the work (commit the send), then close the connection without answering. */
  'drop_after_commit',
  /** Do the work, then never answer. */
  'hang_after_commit',
] as const;
export type FaultKind = (typeof faultKinds)[number];

export const faultSpecSchema = z.strictObject({
  kind: z.enum(faultKinds),
  /** How many matching requests it applies to. */
  count: z.number().int().min(1).max(100_000).default(1),
  /** Only requests with this method (default: any). */
  method: z.enum(['GET', 'POST']).optional(),
  /** Only requests whose API path starts with this, e.g. "/send" (default: any API path). */
  path: z.string().startsWith('/').optional(),
  /** For rate_limit: the Retry-After to announce, in seconds (default: the window's reset). */
  retryAfterSeconds: z.number().int().min(1).max(3600).optional(),
});
export type FaultSpec = z.output<typeof faultSpecSchema>;

interface ActiveFault extends FaultSpec {
  remaining: number;
}

/** The queue of faults still to fire, first match wins. */
export class FaultQueue {
  private faults: ActiveFault[] = [];

  add(spec: FaultSpec): void {
    this.faults.push({ ...spec, remaining: spec.count });
  }

  /** Takes the fault for this request, if one matches, and counts it down. */
  take(method: string, apiPath: string): FaultSpec | undefined {
    const fault = this.faults.find(
      (f) => (f.method === undefined || f.method === method) && (f.path === undefined || apiPath.startsWith(f.path)),
    );
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults = this.faults.filter((f) => f !== fault);
    return fault;
  }

  list(): readonly (FaultSpec & { remaining: number })[] {
    return this.faults.map((f) => ({ ...f }));
  }

  clear(): void {
    this.faults = [];
  }
}
