/**
 * @module The one HTTP server of `giftguard serve`. Feature endpoints (MCP now; Slack later)
 * register as handlers that claim the requests they own.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../../log/index.js';

/** Returns true when it handled the request. */
export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => Promise<boolean>;

export interface RunningHttpServer {
  readonly server: Server;
  readonly port: number;
  close(): Promise<void>;
}

/** Listens on host:port and routes each request to the first handler that claims it. */
export async function startHttpServer(options: {
  readonly host: string;
  readonly port: number;
  readonly handlers: readonly RequestHandler[];
  readonly logger: Logger;
  readonly info: () => unknown;
}): Promise<RunningHttpServer> {
  const sockets = new Set<Socket>();
  const log = options.logger.child({ module: 'http' });
  const server = createServer((request, response) => {
    void (async () => {
      try {
        for (const handler of options.handlers) if (await handler(request, response)) return;
        const path = new URL(request.url ?? '/', 'http://localhost').pathname;
        const status = path === '/' || path === '/healthz' ? 200 : 404;
        const body = JSON.stringify(status === 200 ? options.info() : { error: 'not_found' });
        response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        response.end(body);
      } catch (error) {
        log.error({ err: error }, 'request failed');
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: 'internal_error' }));
      }
    })();
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  return {
    server,
    port: typeof address === 'object' && address ? address.port : options.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
