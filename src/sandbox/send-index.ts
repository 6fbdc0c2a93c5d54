/**
 * @module Indexes over the sandbox's sends, so that what a request costs depends on what it
 * touches, not on how many sends the sandbox remembers: newest-first order for GET /send pages,
 * sends by id, the pending lifecycle steps in a min-heap keyed by due time, and the sends whose
 * status changed since webhooks last announced them.
 *
 * The index lives beside the state (one per state object), not in it, so the state stays plain JSON
 * and a state replaced by reset() or read from a state file simply gets a fresh index, built once
 * in O(n log n). `state.sends` is append-only; the index learns of new sends by noticing the array
 * grew, so appending a send needs no hook. What changes an existing send's plan or status updates
 * must go through {@link SendIndex.change}.
 */
import { MinHeap } from './min-heap.js';
import type { SandboxSend, SandboxState } from './state.js';

/** A send's next lifecycle step, as it was when scheduled; stale once the send is rescheduled. */
interface PendingStep {
  readonly at: number;
  /** Where the send is in `state.sends`. */
  readonly position: number;
}

export class SendIndex {
  /** Positions in `state.sends`, oldest first by (createdAt, id): a newest-first page is read from the end. */
  private ordered: number[] = [];
  private positionById = new Map<number, number>();
  private pending = new MinHeap<PendingStep>((a, b) => a.at < b.at);
  /** The heap entry that stands for each send with future steps; any other entry for it is stale. */
  private live = new Map<number, PendingStep>();
  /** Sends whose status updates grew since the last announcement → how many were announced before. */
  private unannounced = new Map<number, number>();
  /** How many of `state.sends` are indexed. */
  private indexed = 0;

  constructor(private readonly state: SandboxState) {
    this.build();
  }

  /** Sends with a future lifecycle step (each counted once, however often it was rescheduled). */
  get pendingCount(): number {
    this.sync();
    return this.live.size;
  }

  /** Entries in the heap, stale ones included: at most one per pending send plus one per reschedule not yet popped. */
  get heapSize(): number {
    this.sync();
    return this.pending.size;
  }

  /**
   * `limit` sends from `offset` in Sendoso's order, newest first (later createdAt, then higher id),
   * without copying or sorting the rest.
   */
  newestFirst(offset: number, limit: number): SandboxSend[] {
    this.sync();
    const sends = this.state.sends;
    const page: SandboxSend[] = [];
    for (let i = this.ordered.length - 1 - offset; i >= 0 && page.length < limit; i--) page.push(sends[this.ordered[i]!]!);
    return page;
  }

  byId(id: number): SandboxSend | undefined {
    this.sync();
    const position = this.positionById.get(id);
    return position === undefined ? undefined : this.state.sends[position];
  }

  /**
   * A send whose next step is due by `nowMs`, taken off the heap, or undefined when none is: the
   * caller applies its due steps through {@link change}, which puts it back if steps remain.
   */
  takeDue(nowMs: number): SandboxSend | undefined {
    this.sync();
    for (let top = this.pending.peek(); top !== undefined && top.at <= nowMs; top = this.pending.peek()) {
      this.pending.pop();
      if (this.live.get(top.position) !== top) continue;
      this.live.delete(top.position);
      return this.state.sends[top.position]!;
    }
    return undefined;
  }

  /** When the earliest pending step falls due, or undefined when no send has one. */
  nextDueAt(): number | undefined {
    this.sync();
    for (let top = this.pending.peek(); top !== undefined; top = this.pending.peek()) {
      if (this.live.get(top.position) === top) return top.at;
      this.pending.pop();
    }
    return undefined;
  }

  /**
   * Changes an existing send's status or plan through `apply`, noting what was announced before
   * and rescheduling its next step, so the heap and the webhook list stay true.
   */
  change(send: SandboxSend, apply: () => void): void {
    this.sync();
    const position = this.positionOf(send);
    if (!this.unannounced.has(position)) this.unannounced.set(position, send.statusUpdates.length);
    try {
      apply();
    } finally {
      this.schedule(position);
    }
  }

  /** Sends whose status updates grew since the last call, in `state.sends` order, with how many were announced before. */
  takeUnannounced(): [SandboxSend, number][] {
    this.sync();
    const positions = [...this.unannounced.keys()].sort((a, b) => a - b);
    const changed = positions.map((p): [SandboxSend, number] => [this.state.sends[p]!, this.unannounced.get(p)!]);
    this.unannounced.clear();
    return changed;
  }

  /** What happened so far is not news: nothing is left to announce. */
  markAllAnnounced(): void {
    this.sync();
    this.unannounced.clear();
  }

  private build(): void {
    const sends = this.state.sends;
    const n = sends.length;
    const order = new Array<number>(n);
    const createdAt = new Float64Array(n);
    const ids = new Float64Array(n);
    const steps: PendingStep[] = [];
    let sorted = true;
    for (let p = 0; p < n; p++) {
      const send = sends[p]!;
      order[p] = p;
      createdAt[p] = send.createdAt;
      ids[p] = send.id;
      if (p > 0 && !(createdAt[p - 1]! < createdAt[p]! || (createdAt[p - 1] === createdAt[p] && ids[p - 1]! < ids[p]!))) sorted = false;
      if (!this.positionById.has(send.id)) this.positionById.set(send.id, p);
      const next = send.plan[0];
      if (next) {
        const step = { at: next.at, position: p };
        this.live.set(p, step);
        steps.push(step);
      }
    }
    // Sends are created in time order; a seed may list them in any order, so sort once here, by
    // the rule of older() on copied keys (a shuffled 100k-send seed sorts in tens of milliseconds).
    if (!sorted) order.sort((p, q) => createdAt[p]! - createdAt[q]! || ids[p]! - ids[q]! || q - p);
    this.ordered = order;
    this.pending = new MinHeap<PendingStep>((a, b) => a.at < b.at, steps);
    this.indexed = n;
  }

  /** Indexes sends appended since the last look; new sends are news for the webhooks. */
  private sync(): void {
    const sends = this.state.sends;
    if (sends.length < this.indexed) {
      // Sends are never removed; if something did remove some, start over rather than mislead.
      this.positionById = new Map();
      this.live = new Map();
      this.unannounced = new Map();
      this.build();
      return;
    }
    for (let p = this.indexed; p < sends.length; p++) {
      this.insertOrdered(p);
      if (!this.positionById.has(sends[p]!.id)) this.positionById.set(sends[p]!.id, p);
      this.unannounced.set(p, 0);
      this.schedule(p);
    }
    this.indexed = sends.length;
  }

  /** A new send is almost always the newest (O(1)); one from a clock that stepped back is placed by binary search. */
  private insertOrdered(position: number): void {
    const ordered = this.ordered;
    if (ordered.length === 0 || this.older(ordered[ordered.length - 1]!, position) < 0) {
      ordered.push(position);
      return;
    }
    let low = 0;
    let high = ordered.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (this.older(ordered[mid]!, position) < 0) low = mid + 1;
      else high = mid;
    }
    ordered.splice(low, 0, position);
  }

  /**
   * Ascending (createdAt, id); for equal keys the later position first, so that reading from the
   * end gives exactly what a stable newest-first sort of `state.sends` gave.
   */
  private older(p: number, q: number): number {
    const a = this.state.sends[p]!;
    const b = this.state.sends[q]!;
    return a.createdAt - b.createdAt || a.id - b.id || q - p;
  }

  private positionOf(send: SandboxSend): number {
    const position = this.positionById.get(send.id);
    if (position !== undefined && this.state.sends[position] === send) return position;
    // Only a state with duplicate send ids gets here (a hand-edited state file).
    const found = this.state.sends.indexOf(send);
    if (found < 0) throw new Error(`send ${send.id} is not in this sandbox's state`);
    return found;
  }

  private schedule(position: number): void {
    const next = this.state.sends[position]!.plan[0];
    if (!next) {
      this.live.delete(position);
      return;
    }
    const step = { at: next.at, position };
    this.live.set(position, step);
    this.pending.push(step);
  }
}

const indexes = new WeakMap<SandboxState, SendIndex>();

/** The index of `state`'s sends, built on first use. */
export function sendIndex(state: SandboxState): SendIndex {
  let index = indexes.get(state);
  if (!index) {
    index = new SendIndex(state);
    indexes.set(state, index);
  }
  return index;
}
