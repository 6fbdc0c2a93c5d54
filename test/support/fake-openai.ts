/**
 * @module A local OpenAI-compatible server for tests: POST /v1/chat/completions answers with
 * scripted model turns. Each turn is a function of the request (so a turn can read the tool
 * results it was sent); every request is recorded.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Turn = (request: { messages: any[]; tools: any[] }) =>
  | { content: string }
  | { toolCalls: { name: string; arguments: Record<string, unknown> }[] };

export interface FakeOpenAi {
  readonly baseUrl: string;
  readonly requests: { messages: any[]; tools: any[]; model: string }[];
  close(): Promise<void>;
}

export async function startFakeOpenAi(turns: Turn[]): Promise<FakeOpenAi> {
  const requests: FakeOpenAi['requests'] = [];
  let callId = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
        res.writeHead(404).end();
        return;
      }
      const request = JSON.parse(body);
      requests.push(request);
      const turn = turns[requests.length - 1];
      const step = turn ? turn(request) : { content: 'I have nothing more to add.' };
      const message =
        'content' in step
          ? { role: 'assistant', content: step.content }
          : {
              role: 'assistant',
              content: null,
              tool_calls: step.toolCalls.map((c) => ({ id: `call_${++callId}`, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.arguments) } })),
            };
      const reply = {
        id: `chatcmpl-${requests.length}`,
        object: 'chat.completion',
        created: 1_790_000_000,
        model: request.model,
        choices: [{ index: 0, message, finish_reason: 'content' in step ? 'stop' : 'tool_calls' }],
        usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 },
      };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { baseUrl: `http://127.0.0.1:${port}/v1`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** The parsed content of the last tool message in a request. */
export function lastToolResult(request: { messages: any[] }): any {
  const tool = [...request.messages].reverse().find((m) => m.role === 'tool');
  return tool ? JSON.parse(tool.content) : undefined;
}
