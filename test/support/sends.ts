/**
 * @module Test support: sends built the one way giftguard builds them — the tool catalogue's
 * flat arguments, split into Sendoso's nested body — and POSTed straight through a client's
 * transport, with no guard in between. For tests of the sandbox and the client, which need sends
 * to exist; production sends always pass the guard.
 */
import type { SendosoClient } from '../../src/sendoso/index.js';
import { buildTools, sendosoCatalogue } from '../../src/tools/index.js';

const tools = buildTools(sendosoCatalogue);

type SendTool = 'create_a_sendoso_egift' | 'create_a_sendoso_physical_gift' | 'create_a_sendoso_physical_gift_address_collection' | 'create_a_sendoso_egift_links';

/**
 * POSTs `args` as tool `name` would. `validate: false` skips the tool's own argument checks, to
 * see what the sandbox itself says about a bad body.
 */
export async function sendWith(client: SendosoClient, name: SendTool, args: Record<string, unknown>, options: { validate?: boolean; viaFrom?: string } = {}) {
  const tool = tools.find((t) => t.name === name)!;
  const values = options.validate === false ? args : (tool.args.parse(args) as Record<string, unknown>);
  const request = tool.split(values, options.viaFrom ?? 'giftguard-tests');
  const response = await client.transport.request({ method: 'POST', path: request.path, body: request.body });
  // The documented answer, parsed as the tool layer checks it (money in cents, camelCase).
  return { data: tool.source.response.parse(response.body) as any, rateLimit: response.rateLimit };
}

export const egift = (client: SendosoClient, args: { touch_id: number; email: string; name?: string; custom_message?: string }) => sendWith(client, 'create_a_sendoso_egift', args);

export const physical = (client: SendosoClient, args: Record<string, unknown>) => sendWith(client, 'create_a_sendoso_physical_gift', args);

export const addressCollection = (client: SendosoClient, args: Record<string, unknown>, options?: { validate?: boolean }) =>
  sendWith(client, 'create_a_sendoso_physical_gift_address_collection', args, options);

export const egiftLinks = (client: SendosoClient, touchId: number, emails: readonly string[]) =>
  sendWith(client, 'create_a_sendoso_egift_links', { touch_id: touchId, recipient_users: emails.map((email) => ({ email })) });
