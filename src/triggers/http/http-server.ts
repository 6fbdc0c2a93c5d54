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
  /**
   * The first step of a stop: takes no more connections and waits, up to `graceMs`, for the
   * requests being answered to be answered — a tool call waiting its turn to reach Sendoso, a
   * send in flight — so their callers hear what happened rather than a dropped connection. Event
   * streams (a GET that asked for text/event-stream) are not waited for: they never end by themselves.
   */
  drain(graceMs: number): Promise<void>;
  /** Ends every connection left, and the server. */
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
  /** Requests being answered that a drain waits for. */
  const answering = new Set<ServerResponse>();
  let drained: (() => void) | undefined;
  const log = options.logger.child({ module: 'http' });
  const server = createServer((request, response) => {
    if (!(request.method === 'GET' && (request.headers.accept ?? '').includes('text/event-stream'))) {
      answering.add(response);
      response.once('close', () => {
        answering.delete(response);
        if (answering.size === 0) drained?.();
      });
    }
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
    drain: async (graceMs) => {
      server.close(); // no new connections; the callback would wait for every socket, streams included
      server.closeIdleConnections();
      if (answering.size === 0) return;
      log.info({ requests: answering.size, graceMs }, 'stopping: waiting for requests being answered');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs); // real time: this bounds how long a stop takes
        drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      if (answering.size > 0) log.warn({ requests: answering.size }, 'stopping: requests still unanswered after the grace period are cut off');
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        if (!server.listening) return resolve();
        server.close(() => resolve());
      }),
  };
}
