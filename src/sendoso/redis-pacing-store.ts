/**
 * @module The account's pace in Redis, shared by giftguard instances on several machines. Each
 * `take` and `pause` is one Lua script, so it is atomic on the server. Our own two-field hash
 * rather than Bottleneck's Redis datastore, which has known problems on Redis 7 (see
 * shared/reference/orchestration-and-spend-controls.md §3).
 *
 * The times in the hash come from the callers' clocks (the spacing clock and the injected
 * clock), so instances must keep their clocks in step (NTP); a skewed instance can only make
 * itself wait, or go a skew's worth early once.
 */
import { Redis } from 'ioredis';
import type { PacingAnswer, PacingStore } from './pacing-store.js';

/** Same rule as `decide()` in pacing-store.ts, on the Redis server. */
const TAKE = `
local next_pace = tonumber(redis.call('HGET', KEYS[1], 'next_pace') or '0')
local paused_until = tonumber(redis.call('HGET', KEYS[1], 'paused_until') or '0')
local pace_now = tonumber(ARGV[1])
local clock_now = tonumber(ARGV[2])
local spacing = tonumber(ARGV[3])
if paused_until > clock_now then return {0, 'clock', tostring(paused_until)} end
if next_pace > pace_now then return {0, 'pace', tostring(next_pace)} end
local from = pace_now
if pace_now - next_pace <= math.min(2, spacing / 4) then from = next_pace end
redis.call('HSET', KEYS[1], 'next_pace', tostring(from + spacing))
redis.call('PEXPIRE', KEYS[1], 86400000)
return {1, '', ''}
`;

const PAUSE = `
local paused_until = tonumber(redis.call('HGET', KEYS[1], 'paused_until') or '0')
local wanted = tonumber(ARGV[1])
if wanted > paused_until then
  redis.call('HSET', KEYS[1], 'paused_until', tostring(wanted))
  paused_until = wanted
end
redis.call('PEXPIRE', KEYS[1], 86400000)
return tostring(paused_until)
`;

type PacingRedis = Redis & {
  giftguardTake(key: string, paceNow: number, clockNow: number, spacingMs: number): Promise<[number, string, string]>;
  giftguardPause(key: string, untilClock: number): Promise<string>;
};

export class RedisPacingStore implements PacingStore {
  readonly scope = 'cluster' as const;
  private readonly redis: PacingRedis;

  /** `url`: redis://host:port[/db]; `prefix` keeps test runs (or deployments) apart. */
  constructor(
    url: string,
    private readonly prefix = 'giftguard',
  ) {
    // Fail a command at once while disconnected: the pacer falls back to local pacing rather
    // than letting calls hang behind a Redis outage.
    this.redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: false }) as PacingRedis;
    this.redis.on('error', () => undefined); // reported through failed commands instead
    this.redis.defineCommand('giftguardTake', { numberOfKeys: 1, lua: TAKE });
    this.redis.defineCommand('giftguardPause', { numberOfKeys: 1, lua: PAUSE });
  }

  /**
   * Resolves once connected; rejects at the first connection error (refused, unknown host, TLS
   * to a plain server…) with what it was, or after `timeoutMs` of silence — so a bad URL is
   * reported at start-up, and as what went wrong rather than as a wait.
   */
  async ready(timeoutMs = 5000): Promise<void> {
    if (this.redis.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const settle = (error?: Error) => {
        clearTimeout(timer);
        this.redis.off('ready', onReady);
        this.redis.off('error', settle);
        if (error) reject(error);
        else resolve();
      };
      const onReady = () => settle();
      const timer = setTimeout(() => settle(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      this.redis.once('ready', onReady);
      this.redis.once('error', settle);
    });
  }

  private key(account: string): string {
    return `${this.prefix}:pace:${account}`;
  }

  async take(account: string, paceNow: number, clockNow: number, spacingMs: number): Promise<PacingAnswer> {
    const [go, on, until] = await this.redis.giftguardTake(this.key(account), paceNow, clockNow, spacingMs);
    return go === 1 ? { go: true } : { go: false, on: on as 'pace' | 'clock', until: Number(until) };
  }

  async pause(account: string, untilClock: number): Promise<number> {
    return Number(await this.redis.giftguardPause(this.key(account), untilClock));
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
