/**
 * @module Running giftguard processes announce themselves in the data directory: serve in
 * serve.json (so `mcp create` and `status` print the URL that actually answers, whatever port it
 * was given) and the embedded sandbox in sandbox.json (so every command uses the sandbox serve
 * runs, with the OAuth client to reach it). Each file is owner-only and withdrawn by its writer.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writePrivateFileSync } from '../../storage/index.js';

export interface ServeAnnouncement {
  /** The base URL clients use (the public URL when one is set). */
  readonly url: string;
  /** The local URL it listens on. */
  readonly localUrl: string;
  readonly pid: number;
  readonly startedAt: number;
  readonly version: string;
}

export interface SandboxAnnouncement {
  readonly url: string;
  readonly pid: number;
  readonly clientId: string;
  readonly clientSecret: string;
}

type Kind = 'serve' | 'sandbox';

/**
 * Whether a process exists (EPERM: it does, as another user's). The orchestrator's processAlive,
 * repeated: `status` and every command that looks for a running sandbox read announcements, and
 * the orchestrator's barrel would load xstate and the MCP SDK with them.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const fileOf = (home: string, kind: Kind) => join(home, `${kind}.json`);

function announce(home: string, kind: Kind, announcement: { readonly pid: number }): () => void {
  writePrivateFileSync(fileOf(home, kind), JSON.stringify(announcement));
  return () => {
    // Only our own: a later process may have announced itself meanwhile.
    if (readAnnouncement<{ pid: number }>(home, kind)?.pid === announcement.pid) rmSync(fileOf(home, kind), { force: true });
  };
}

function readAnnouncement<T extends { pid: number }>(home: string, kind: Kind): T | undefined {
  try {
    const parsed = JSON.parse(readFileSync(fileOf(home, kind), 'utf8')) as Partial<T> & { url?: unknown };
    return typeof parsed.url === 'string' && typeof parsed.pid === 'number' ? (parsed as T) : undefined;
  } catch {
    return undefined;
  }
}

/** The announced process if it is alive and its HTTP server answers; a stale file yields undefined. */
async function answering<T extends { pid: number }>(announced: T | undefined, url: (a: T) => string): Promise<T | undefined> {
  if (!announced || !processAlive(announced.pid)) return undefined;
  try {
    const response = await fetch(`${url(announced)}/`, { signal: AbortSignal.timeout(1000) });
    await response.body?.cancel();
    return response.ok ? announced : undefined;
  } catch {
    return undefined;
  }
}

/** Writes serve.json; returns the function that withdraws it. */
export const announceServe = (home: string, announcement: ServeAnnouncement) => announce(home, 'serve', announcement);

/** The serve that answers now on this data directory. */
export const runningServe = (home: string) => answering(readAnnouncement<ServeAnnouncement>(home, 'serve'), (a) => a.localUrl);

/** Writes sandbox.json; returns the function that withdraws it. */
export const announceSandbox = (home: string, announcement: SandboxAnnouncement) => announce(home, 'sandbox', announcement);

/** The embedded sandbox another process runs on this data directory, if it answers. */
export async function runningSandbox(home: string): Promise<SandboxAnnouncement | undefined> {
  const announced = readAnnouncement<SandboxAnnouncement>(home, 'sandbox');
  return announced?.pid === process.pid ? undefined : answering(announced, (a) => a.url);
}
