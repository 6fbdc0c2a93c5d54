/**
 * @module Bench section: what the typed Sendoso client (auth, timeout, rate-limit parsing, zod
 * validation, money conversion) adds over a bare fetch of the same sandbox endpoint. Both are
 * warmed up and measured interleaved, so neither figure depends on which ran first.
 */
import { ManualClock } from '../src/domain/index.js';
import { silentLogger } from '../src/log/index.js';
import { startSandbox } from '../src/sandbox/index.js';
import { SendosoHttp, createSendosoClient, staticAccessToken } from '../src/sendoso/index.js';
import { fmt, interleaved, percentile } from './stats.js';

export async function clientOverhead(count: number): Promise<string[]> {
  const sandbox = await startSandbox({ rateLimit: 1_000_000, clock: new ManualClock() });
  try {
    const token = sandbox.issueToken().access_token;
    const http = new SendosoHttp({ apiBaseUrl: sandbox.apiBaseUrl, auth: staticAccessToken(token), clock: new ManualClock(), logger: silentLogger() });
    const client = createSendosoClient(http);
    const url = `${sandbox.apiBaseUrl}/touches?page=1&per_page=100`;
    const { direct, typed } = await interleaved(
      {
        direct: async () => {
          const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
          await response.json();
        },
        typed: () => client.touches.list(),
      },
      { count, concurrency: 1 },
    );
    const added50 = percentile(typed.samplesMs, 50) - percentile(direct.samplesMs, 50);
    const added99 = percentile(typed.samplesMs, 99) - percentile(direct.samplesMs, 99);
    return [
      `GET /touches (the active campaigns), ${count} sequential calls each, interleaved`,
      `  direct fetch    p50 ${fmt(percentile(direct.samplesMs, 50))} ms  p99 ${fmt(percentile(direct.samplesMs, 99))} ms  ${fmt(direct.perSecond, 0)} calls/s`,
      `  typed client    p50 ${fmt(percentile(typed.samplesMs, 50))} ms  p99 ${fmt(percentile(typed.samplesMs, 99))} ms  ${fmt(typed.perSecond, 0)} calls/s`,
      `  added latency   p50 ${fmt(added50)} ms  p99 ${fmt(added99)} ms;  throughput ratio ${fmt(typed.perSecond / direct.perSecond, 2)}`,
    ];
  } finally {
    await sandbox.close();
  }
}
