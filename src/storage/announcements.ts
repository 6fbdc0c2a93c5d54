/**
 * @module Running giftguard processes announce themselves in the data directory: each serve in
 * serve-<pid>.json (so `mcp create` and `status` print the URL that actually answers, whatever port
 * it was given, and a second serve stopping does not hide the first) and the embedded sandbox in
 * sandbox.json (so every command uses the sandbox serve runs, with the OAuth client to reach it).
 * Each file is owner-only and withdrawn by its writer; one left by a killed process is ignored.
 */
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writePrivateFileSync } from './private-files.js';

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

type Kind = 'sandbox';

/** Whether a process of this machine exists (EPERM: it does, as another user's). */
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

const SERVE_FILE = /^serve-(\d+)\.json$/;
const serveFile = (home: string, pid: number) => join(home, `serve-${pid}.json`);

/** Writes serve-<pid>.json; returns the function that withdraws it. */
export function announceServe(home: string, announcement: ServeAnnouncement): () => void {
  writePrivateFileSync(serveFile(home, announcement.pid), JSON.stringify(announcement));
  return () => rmSync(serveFile(home, announcement.pid), { force: true });
}

/** Every serve that answers now on this data directory, the most recently started first. */
export async function runningServes(home: string): Promise<ServeAnnouncement[]> {
  let names: string[];
  try {
    names = readdirSync(home).filter((name) => SERVE_FILE.test(name));
  } catch {
    return [];
  }
  const announced = names.flatMap((name) => {
    try {
      const parsed = JSON.parse(readFileSync(join(home, name), 'utf8')) as Partial<ServeAnnouncement>;
      return typeof parsed.url === 'string' && typeof parsed.pid === 'number' ? [parsed as ServeAnnouncement] : [];
    } catch {
      return [];
    }
  });
  const live = await Promise.all(announced.map((a) => answering(a, (x) => x.localUrl)));
  return live.filter((a): a is ServeAnnouncement => a !== undefined).sort((a, b) => b.startedAt - a.startedAt);
}

/** The serve that answers now on this data directory (the most recently started, if several do). */
export const runningServe = async (home: string) => (await runningServes(home))[0];

/** Writes sandbox.json; returns the function that withdraws it. */
export const announceSandbox = (home: string, announcement: SandboxAnnouncement) => announce(home, 'sandbox', announcement);

/** The embedded sandbox another process runs on this data directory, if it answers. */
export async function runningSandbox(home: string): Promise<SandboxAnnouncement | undefined> {
  const announced = readAnnouncement<SandboxAnnouncement>(home, 'sandbox');
  return announced?.pid === process.pid ? undefined : answering(announced, (a) => a.url);
}
