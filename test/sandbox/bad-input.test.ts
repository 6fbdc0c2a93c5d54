/**
 * Bad input gets a clear Sendoso-style error and changes nothing: no send, no charge.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { control, startSandboxWithClient } from '../support/sandbox-client.js';
import type { SandboxWithClient } from '../support/sandbox-client.js';
import { addressCollection } from '../support/sends.js';

let env: SandboxWithClient;
let token: string;
beforeEach(async () => {
  env = await startSandboxWithClient();
  token = env.sandbox.issueToken().access_token;
});
afterEach(async () => {
  await env.close();
});

/** Everything that would show a change: the send log and every budget and balance. */
async function snapshot() {
  const sends = await control(env.sandbox, 'GET', '/sends');
  return {
    sends: sends.sends.length,
    budgets: env.sandbox.state.groups.map((g) => g.budget),
    balances: env.sandbox.state.users.map((u) => u.balance),
  };
}

async function raw(method: string, path: string, body?: string, contentType = 'application/json') {
  const response = await fetch(`${env.sandbox.apiBaseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': contentType }) },
    ...(body !== undefined && { body }),
  });
  return { status: response.status, body: await response.json() };
}

const egift = (over: Record<string, unknown>) =>
  JSON.stringify({ send: { touch_id: 8937, email: 'a@example.com', via: 'single_email_address', via_from: 'tests', ...over } });
const collection = (over: Record<string, unknown>) =>
  JSON.stringify({
    send: {
      touch_id: 8934,
      name: 'Sarah Connor',
      email: 'sarah@cyberdyne.example',
      no_address: true,
      confirm_address: true,
      address_confirmation_via: 'email',
      resume_with_unconfirmed_address: false,
      expire_after_days: 7,
      hide_product_info: false,
      via: 'single_person_or_company',
      via_from: 'tests',
      ...over,
    },
  });

describe('bad input changes nothing', () => {
  it.each([
    ['an unknown touch', 'POST', '/send', egift({ touch_id: 424242 }), 404, 'Touch not found'],
    ['a missing email', 'POST', '/send', egift({ email: undefined }), 400, "email can't be blank"],
    ['a blank email', 'POST', '/send', egift({ email: '  ' }), 400, "email can't be blank"],
    ['an invalid email', 'POST', '/send', egift({ email: 'not-an-email' }), 400, 'email is invalid'],
    ['expire_after_days 1', 'POST', '/send', collection({ expire_after_days: 1 }), 400, 'expire_after_days must be between 2 and 7'],
    ['expire_after_days 8', 'POST', '/send', collection({ expire_after_days: 8 }), 400, 'expire_after_days must be between 2 and 7'],
    ['a missing touch_id', 'POST', '/send', egift({ touch_id: undefined }), 400, "touch_id can't be blank"],
    ['an unknown via', 'POST', '/send', egift({ via: 'carrier_pigeon' }), 400, 'via must be one of: single_email_address, single_person_or_company'],
    ['an eGift via on a physical touch', 'POST', '/send', egift({ touch_id: 8934 }), 400, 'This touch is not an eGift campaign'],
    ['a body without the send wrapper', 'POST', '/send', JSON.stringify({ touch_id: 8937, email: 'a@example.com' }), 400, 'param is missing or the value is empty: send'],
    ['a malformed JSON body', 'POST', '/send', '{"send": {"touch_id": 8937,', 400, 'The request body is not valid JSON'],
  ])('%s', async (_name, method, path, body, status, message) => {
    const before = await snapshot();
    const answer = await raw(method, path, body);
    expect(answer).toEqual({ status, body: { success: false, message } });
    expect(await snapshot()).toEqual(before);
  });

  it('a wrong content type is refused with 415', async () => {
    const before = await snapshot();
    const answer = await raw('POST', '/send', 'touch_id=8937&email=a@example.com', 'application/x-www-form-urlencoded');
    expect(answer).toEqual({ status: 415, body: { success: false, message: 'Content-Type must be application/json (got application/x-www-form-urlencoded)' } });
    expect(await snapshot()).toEqual(before);
  });

  it.each([
    ['per_page=0', 'per_page must be between 1 and 100'],
    ['per_page=500', 'per_page must be between 1 and 100'],
    ['per_page=ten', 'per_page must be an integer'],
    ['page=0', 'page must be 1 or more'],
  ])('GET /send?%s is a 400', async (query, message) => {
    expect(await raw('GET', `/send?${query}`)).toEqual({ status: 400, body: { success: false, message } });
  });

  it('an unknown delivery_type is a 400', async () => {
    expect(await raw('GET', '/touches?delivery_type=pigeon')).toEqual({ status: 400, body: { success: false, message: 'delivery_type must be one of: mail, email' } });
  });

  it('an unknown path is a 404 naming it', async () => {
    expect(await raw('GET', '/gifts')).toEqual({ status: 404, body: { success: false, message: 'No route matches GET /api/v3/gifts' } });
  });

  it('through the typed client, the same refusals arrive as not_sent errors', async () => {
    await expect(
      addressCollection(env.client, { touch_id: 8934, name: 'S', email: 's@example.com', address_confirmation_via: 'email', hide_product_info: false, expire_after_days: 8 }, { validate: false }),
    ).rejects.toMatchObject({ code: 'bad_request', status: 400, outcome: 'not_sent', upstreamMessage: 'expire_after_days must be between 2 and 7' });
    await expect(env.client.sends.list({ perPage: 500 })).rejects.toMatchObject({ status: 400, upstreamMessage: 'per_page must be between 1 and 100' });
  });
});
