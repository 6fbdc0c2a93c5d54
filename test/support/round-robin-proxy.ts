/**
 * @module Test support: the smallest load balancer that still behaves like one — each incoming
 * request goes to the next upstream in turn (round robin), headers and body passed through as they
 * are (Host included: the instances behind it are told the balancer's address as their public URL),
 * responses streamed back unbuffered so Streamable HTTP's SSE answers arrive as they are written.
 * It counts what each upstream was given, so a test can see the load was really spread.
 */
import { request as httpRequest, createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface RoundRobinProxy {
  /** Where clients reach it, e.g. http://127.0.0.1:PORT. */
  readonly url: string;
  readonly port: number;
  /** Requests handed to each upstream so far, by upstream URL. */
  readonly counts: ReadonlyMap<string, number>;
  /** The upstreams, in turn order (e.g. http://127.0.0.1:8801); replaces the previous list. */
  setUpstreams(upstreams: readonly string[]): void;
  close(): Promise<void>;
}

/** Starts the proxy on a free loopback port; upstreams may be set later (before any client calls). */
export async function startRoundRobinProxy(upstreams: readonly string[] = []): Promise<RoundRobinProxy> {
  let targets = [...upstreams];
  let turn = 0;
  const counts = new Map<string, number>();

  const forward = (incoming: IncomingMessage, outgoing: ServerResponse) => {
    if (targets.length === 0) {
      outgoing.writeHead(503, { 'content-type': 'text/plain' }).end('no upstreams\n');
      return;
    }
    const target = new URL(targets[turn % targets.length]!);
    turn += 1;
    counts.set(target.origin, (counts.get(target.origin) ?? 0) + 1);
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method: incoming.method, path: incoming.url, headers: incoming.headers },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    upstream.on('error', (error) => {
      if (!outgoing.headersSent) outgoing.writeHead(502, { 'content-type': 'text/plain' }).end(`upstream ${target.origin}: ${error.message}\n`);
      else outgoing.destroy(error);
    });
    // A client that goes away cancels its upstream request, as a real balancer does.
    outgoing.on('close', () => {
      if (!outgoing.writableFinished) upstream.destroy();
    });
    incoming.pipe(upstream);
  };

  const server = createServer(forward);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    counts,
    setUpstreams(next) {
      targets = [...next];
      turn = 0;
    },
    // Stateless MCP clients keep connections alive; closing must not wait for them.
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
