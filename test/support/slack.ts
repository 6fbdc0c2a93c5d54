/**
 * @module Test support for Slack: a local stand-in for Slack's side — the Web API
 * (chat.postMessage) and response_url endpoints — recording everything giftguard posts, and a
 * client that signs requests the way Slack does.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signSlackRequest } from '../../src/triggers/index.js';

export interface SlackPost {
  readonly path: string;
  readonly authorization: string | undefined;
  readonly body: any;
}

export interface SlackStandIn {
  /** The Web API base, for SLACK_API_URL. */
  readonly apiUrl: string;
  readonly posts: SlackPost[];
  responseUrl(name: string): string;
  /** Posts to one response_url, in order. */
  responses(name: string): any[];
  messages(): any[];
  close(): Promise<void>;
}

export async function startSlackStandIn(): Promise<SlackStandIn> {
  const posts: SlackPost[] = [];
  let ts = 1_700_000_000;
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const path = req.url ?? '/';
      // The Web API takes form posts (JSON-encoded fields); response_url takes JSON.
      const body = (req.headers['content-type'] ?? '').includes('json') ? JSON.parse(raw) : Object.fromEntries(new URLSearchParams(raw));
      if (typeof body.blocks === 'string') body.blocks = JSON.parse(body.blocks);
      posts.push({ path, authorization: req.headers.authorization, body });
      res.writeHead(200, { 'content-type': 'application/json' });
      if (path === '/api/chat.postMessage') res.end(JSON.stringify({ ok: true, channel: body.channel, ts: `${ts++}.000100` }));
      else res.end(JSON.stringify({ ok: true }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    apiUrl: `${base}/api/`,
    posts,
    responseUrl: (name) => `${base}/respond/${name}`,
    responses: (name) => posts.filter((p) => p.path === `/respond/${name}`).map((p) => p.body),
    messages: () => posts.filter((p) => p.path === '/api/chat.postMessage').map((p) => p.body),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Posts a form body to giftguard signed with `secret` at `timestampSeconds`. */
export async function postSigned(url: string, form: Record<string, string>, secret: string, timestampSeconds: number, signature?: string): Promise<{ status: number; text: string; json: () => any }> {
  const body = new URLSearchParams(form).toString();
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(timestampSeconds),
      'x-slack-signature': signature ?? signSlackRequest(secret, timestampSeconds, body),
    },
    body,
  });
  const text = await response.text();
  return { status: response.status, text, json: () => JSON.parse(text) };
}

/** A `/gift` slash command as Slack sends it. */
export function slashCommand(text: string, userId: string, responseUrl: string): Record<string, string> {
  return {
    token: 'deprecated-verification-token',
    team_id: 'T0GIFTGUARD',
    team_domain: 'acme',
    channel_id: 'C0SALES',
    channel_name: 'sales',
    user_id: userId,
    user_name: userId.toLowerCase(),
    command: '/gift',
    text,
    api_app_id: 'A0GIFTGUARD',
    response_url: responseUrl,
    trigger_id: '1.2.3',
  };
}

/** A button press (block_actions) on a message giftguard posted. */
export function buttonPress(message: any, actionId: string, userId: string, responseUrl: string): Record<string, string> {
  const button = message.blocks.flatMap((b: any) => b.elements ?? []).find((e: any) => e.action_id === actionId);
  if (!button) throw new Error(`no ${actionId} button in the message`);
  const actions = message.blocks.find((b: any) => b.type === 'actions');
  return {
    payload: JSON.stringify({
      type: 'block_actions',
      team: { id: 'T0GIFTGUARD', domain: 'acme' },
      user: { id: userId, username: userId.toLowerCase(), team_id: 'T0GIFTGUARD' },
      api_app_id: 'A0GIFTGUARD',
      container: { type: 'message', channel_id: message.channel, message_ts: '1700000000.000100' },
      channel: { id: message.channel, name: 'approvals' },
      message: { ts: '1700000000.000100', text: message.text, blocks: message.blocks },
      response_url: responseUrl,
      trigger_id: '4.5.6',
      actions: [{ type: 'button', action_id: actionId, block_id: actions.block_id, value: button.value, action_ts: '1700000001.000200' }],
    }),
  };
}
