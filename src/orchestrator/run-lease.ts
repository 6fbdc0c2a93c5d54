/**
 * @module Who drives a run: one owner id per process, leases of a fixed length renewed well before
 * they run out, and the one case where a lease holder is known gone before its lease ends (a dead
 * process on this same host, which SQLite's single machine makes safe to ask about).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { processAlive } from '../storage/index.js';

/**
 * How long a lease holds without renewal. Long enough that a busy process (a GC pause, a slow
 * store) does not lose its runs; short enough that a killed instance's runs continue within a minute.
 */
export const RUN_LEASE_MS = 30_000;
/** How often an owner renews its leases: three chances before one runs out. */
export const RUN_LEASE_RENEW_MS = 10_000;

/**
 * This process's owner id, `host:pid:random`: unique across hosts and restarts (a pid is reused;
 * the random part is not), and readable in `giftguard runs show`.
 */
export function newOwnerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/** The host and pid an owner id names, if it is one {@link newOwnerId} made. */
export function ownerProcess(owner: string): { host: string; pid: number } | undefined {
  const match = /^(.*):(\d+):[0-9a-f]+$/.exec(owner);
  return match ? { host: match[1]!, pid: Number(match[2]) } : undefined;
}

/**
 * Whether `owner` is a process of this host that no longer exists, so its runs can be taken over
 * now rather than when its lease runs out (a CLI killed mid-batch, resumed at once). Only for
 * stores one machine owns (SQLite): on a shared store another host may have the same host name
 * (containers) and pids in another namespace, and a live owner must never be mistaken for dead.
 */
export function deadOnThisHost(owner: string, isAlive: (pid: number) => boolean = processAlive): boolean {
  const named = ownerProcess(owner);
  return named !== undefined && named.host === hostname() && named.pid !== process.pid && !isAlive(named.pid);
}
