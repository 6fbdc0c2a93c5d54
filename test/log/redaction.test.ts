/**
 * Secrets never reach a log line: tokens, client secrets and authorization headers are redacted
 * by path, however deep a caller nests them.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/index.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'debug', destination }) };
}

describe('redaction', () => {
  it('removes secrets at any of the usual depths', () => {
    const { lines, logger } = capture();
    logger.info(
      {
        accessToken: 'tok-1',
        tokens: { refresh_token: 'tok-2', access_token: 'tok-3' },
        request: { headers: { authorization: 'Bearer tok-4' } },
        oauth: { client: { clientSecret: 'tok-5' } },
        slack: { signingSecret: 'tok-6' },
        ok: 'visible',
      },
      'hello',
    );
    const line = lines.join('');
    for (const secret of ['tok-1', 'tok-2', 'tok-3', 'tok-4', 'tok-5', 'tok-6']) expect(line).not.toContain(secret);
    expect(line).toContain('visible');
    expect(line).toContain('[redacted]');
  });

  it('keeps error codes readable', () => {
    const { lines, logger } = capture();
    logger.warn({ code: 'rate_limited' }, 'limited');
    expect(lines.join('')).toContain('rate_limited');
  });
});
