/**
 * Configuration is parsed once; flags beat the environment, which beats defaults, and a bad value
 * fails with a message naming the setting (and never echoes a secret).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/domain/index.js';

describe('loadConfig', () => {
  it('has defaults that run the sandbox on this machine', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ sandboxHost: '127.0.0.1', sandboxPort: 8787, sandboxRateLimit: 10, sandboxControl: false });
    expect(config.logLevel).toBeUndefined(); // info for services, warn for one-shot commands (output.test.ts)
    expect(config.sendosoApiUrl).toBeUndefined();
    // Beside the checkout's code, not in whatever directory the command runs from (data-directory.test.ts).
    expect(config.tokenFilePath).toBe(join(import.meta.dirname, '../../.giftguard/sendoso-tokens.json'));
  });

  it('takes the environment, and flags over the environment', () => {
    const env = { GIFTGUARD_SANDBOX_PORT: '9000', GIFTGUARD_SANDBOX_CONTROL: 'yes', GIFTGUARD_HOME: '/var/lib/gg' };
    expect(loadConfig(env)).toMatchObject({ sandboxPort: 9000, sandboxControl: true, tokenFilePath: '/var/lib/gg/sendoso-tokens.json' });
    expect(loadConfig(env, { sandboxPort: '9100' }).sandboxPort).toBe(9100);
  });

  it('names the flag and the variable of a bad value', () => {
    const attempt = () => loadConfig({ GIFTGUARD_SANDBOX_PORT: 'eighty' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/Invalid setting --sandbox-port \(GIFTGUARD_SANDBOX_PORT\): .*got "eighty"/);
    expect(() => loadConfig({ GIFTGUARD_PORT: '70000' })).toThrow(/Invalid setting --port \(GIFTGUARD_PORT\)/);
    expect(() => loadConfig({}, { sandboxPort: 'x' }, { sandboxPort: '--port' })).toThrow(/Invalid setting --port \(GIFTGUARD_SANDBOX_PORT\)/);
    expect(() => loadConfig({}, { sandboxRateLimit: '0' })).toThrow(/--rate-limit \(GIFTGUARD_SANDBOX_RATE_LIMIT\)/);
    expect(() => loadConfig({ SENDOSO_API_URL: 'ftp://x' })).toThrow(/SENDOSO_API_URL/);
  });

  it('never echoes a secret it could not parse', () => {
    expect(() => loadConfig({ SENDOSO_CLIENT_SECRET: '' }, { sendosoClientSecret: 42 })).toThrow(/SENDOSO_CLIENT_SECRET.*\[redacted\]/);
  });
});

describe('README', () => {
  it('documents every setting', async () => {
    const { readFile } = await import('node:fs/promises');
    const { settings } = await import('../../src/config/index.js');
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const missing = Object.values(settings).filter((s) => !readme.includes(`\`${s.env}\``)).map((s) => s.env);
    expect(missing).toEqual([]);
  });
});
