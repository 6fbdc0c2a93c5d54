/** @module Where clients reach `giftguard serve`, from its configuration. */
import type { Config } from './load-config.js';

/** The base URL clients use: the public URL when one is set, else this machine's address and port. */
export function publicBaseUrl(config: Pick<Config, 'publicUrl' | 'host' | 'port'>, port = config.port): string {
  if (config.publicUrl) return config.publicUrl.replace(/\/$/, '');
  return `http://${loopbackHost(config.host)}:${port}`;
}

/** A host to reach a server listening on `host` from this machine (URL form, IPv6 in brackets). */
export function loopbackHost(host: string): string {
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return reachable.includes(':') ? `[${reachable}]` : reachable;
}
