/**
 * Tools come only from the catalogue: one per documented method (no documentation, no tool),
 * stable snake_case names ≤ 64 characters, flat arguments whose names must be unique across path,
 * query and body (a clash is a build error), honest annotations, portable input schemas, and an
 * OpenAI strict form of each. giftguard's own read tools follow Sendoso's, named giftguard_* and
 * tagged giftguard, read-only and closed-world, selected by the same scopes.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { assertUsableScope, buildTools, giftguardCatalogue, selectTools, sendosoCatalogue, toOpenAiTool } from '../../src/tools/index.js';
import type { CatalogueMethod, GiftguardMethod, JsonSchema } from '../../src/tools/index.js';
import { allTools } from '../support/mcp.js';

const EXPECTED = [
  'list_all_sendoso_me',
  'list_all_sendoso_users',
  'create_a_sendoso_user',
  'list_all_sendoso_groups',
  'list_all_sendoso_team_group_users',
  'list_all_sendoso_campaigns',
  'get_single_sendoso_campaign_by_id',
  'list_all_sendoso_sends',
  'create_a_sendoso_egift',
  'create_a_sendoso_physical_gift',
  'create_a_sendoso_physical_gift_address_collection',
  'create_a_sendoso_egift_links',
];
const OWN = ['giftguard_check_approval', 'giftguard_check_spend_request', 'giftguard_group_headroom'];

const base: CatalogueMethod = {
  toolName: 'create_a_thing',
  resource: 'things',
  method: 'create',
  http: { method: 'POST', path: '/things/{id}' },
  tags: ['things'],
  pathParams: z.strictObject({ id: z.number() }),
  body: { wrap: 'thing', schema: z.strictObject({ name: z.string() }) },
  response: z.object({}),
  docs: { title: 'Create a thing', description: 'Creates a thing.' },
};

describe('the generated tools', () => {
  it('are exactly the twelve documented Sendoso operations, in catalogue order, then giftguard\'s own three', () => {
    expect(allTools.map((t) => t.name)).toEqual([...EXPECTED, ...OWN]);
    expect(buildTools(sendosoCatalogue, []).map((t) => t.name)).toEqual(EXPECTED);
    for (const t of allTools) expect(t.name).toMatch(/^[a-z][a-z0-9_]{0,63}$/);
  });

  it('leave out a catalogue method without a documentation record', () => {
    const undocumented = sendosoCatalogue.filter((m) => !m.docs).map((m) => m.toolName);
    expect(undocumented).toEqual(['get_sendoso_send_status_by_tracking_code']);
    expect(allTools.map((t) => t.name)).not.toContain('get_sendoso_send_status_by_tracking_code');
    expect(buildTools([{ ...base, docs: undefined }], [])).toEqual([]);
  });

  it('refuse, at build time, an argument name used in two places of one method', () => {
    const clash: CatalogueMethod = { ...base, body: { wrap: 'thing', schema: z.strictObject({ id: z.number(), name: z.string() }) } };
    expect(() => buildTools([clash])).toThrow('argument "id" appears in both path and body; flat arguments must be unique');
    const queryClash: CatalogueMethod = { ...base, query: z.strictObject({ name: z.string() }) };
    expect(() => buildTools([queryClash])).toThrow('argument "name" appears in both query and body');
  });

  it('refuse other catalogue mistakes', () => {
    expect(() => buildTools([{ ...base, toolName: 'Create-Thing' }])).toThrow(/snake_case/);
    expect(() => buildTools([{ ...base, toolName: `a${'b'.repeat(64)}` }])).toThrow(/at most 64/);
    expect(() => buildTools([{ ...base, pathParams: z.strictObject({}) }])).toThrow(/needs parameters \[id\]/);
    expect(() => buildTools([base, base])).toThrow(/defined twice/);
    expect(() => buildTools([{ ...base, body: { schema: z.strictObject({ via: z.string() }), constants: { via: 'x' } } }])).toThrow(/both a constant and an argument/);
  });

  it('mark reads read-only and every spending tool destructive and open-world', () => {
    for (const tool of allTools) {
      if (tool.route.startsWith('GET ')) expect(tool.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
      if (tool.spend) expect(tool.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true, openWorldHint: true, idempotentHint: false });
    }
    expect(allTools.filter((t) => t.spend).map((t) => t.name)).toEqual(EXPECTED.slice(8));
  });

  it("list giftguard's own tools as read-only, closed-world reads in their own tag, never as Sendoso requests", () => {
    const own = allTools.filter((t) => t.route === 'giftguard');
    expect(own.map((t) => t.name)).toEqual(OWN);
    for (const tool of own) {
      expect(tool).toMatchObject({ method: 'get', tags: ['giftguard'], spend: undefined });
      expect(tool.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false });
      expect(tool.description).toContain("calls nothing in Sendoso");
      expect(() => tool.split({}, 'x')).toThrow(/has no Sendoso request/);
    }
    // `read` takes them with Sendoso's reads; the giftguard tag takes exactly them; write takes none.
    expect(selectTools(allTools, { methods: ['read'] }).map((t) => t.name)).toEqual([...EXPECTED.slice(0, 2), ...EXPECTED.slice(3, 8), ...OWN]);
    expect(assertUsableScope(allTools, { tags: ['giftguard'] }).map((t) => t.name)).toEqual(OWN);
    expect(assertUsableScope(allTools, { methods: ['read'], tags: ['giftguard'] }).map((t) => t.name)).toEqual(OWN);
    expect(selectTools(allTools, { methods: ['write'] }).some((t) => t.route === 'giftguard')).toBe(false);
    expect(selectTools(allTools, { tags: ['campaigns'] }).some((t) => t.route === 'giftguard')).toBe(false);
  });

  it("refuse one of giftguard's own tools not named giftguard_…, or named like another tool", () => {
    const own: GiftguardMethod = giftguardCatalogue[0]!;
    expect(() => buildTools([], [{ ...own, toolName: 'check_approval' }])).toThrow(/giftguard's own tools are named giftguard_/);
    expect(() => buildTools([], [own, own])).toThrow(/defined twice/);
    expect(() => buildTools([{ ...base, toolName: own.toolName }], [own])).toThrow(/defined twice/);
  });

  it('tell the model where ids come from', () => {
    for (const tool of allTools.filter((t) => t.spend)) expect(tool.description).toContain('list_all_sendoso_campaigns');
    const collection = allTools.find((t) => t.name === 'create_a_sendoso_physical_gift_address_collection')!;
    expect(collection.description).toMatch(/does not ship anything without that confirmation/);
  });

  it('flatten path, query and body arguments into one portable input schema', () => {
    const get = allTools.find((t) => t.name === 'get_single_sendoso_campaign_by_id')!;
    expect(get.inputSchema).toMatchObject({ type: 'object', properties: { id: { type: 'integer' } }, required: ['id'], additionalProperties: false });
    for (const tool of allTools) {
      expect(tool.inputSchema).not.toHaveProperty('$schema');
      expect(JSON.stringify(tool.inputSchema)).not.toContain('9007199254740991');
      expect(tool.inputSchema.additionalProperties).toBe(false);
    }
    const egift = allTools.find((t) => t.name === 'create_a_sendoso_egift')!;
    expect(Object.keys(egift.inputSchema.properties as object)).toEqual(['touch_id', 'email', 'name', 'custom_message']);
    // Constants are giftguard's business, not the model's.
    expect(JSON.stringify(egift.inputSchema)).not.toMatch(/via/);
  });

  it('re-nest the body and add constants and via_from when split', () => {
    const collection = allTools.find((t) => t.name === 'create_a_sendoso_physical_gift_address_collection')!;
    const args = collection.args.parse({ touch_id: 8934, name: 'Sarah Connor', email: 'sarah@cyberdyne.example' });
    expect(collection.split(args, 'giftguard')).toEqual({
      method: 'POST',
      path: '/send',
      query: {},
      body: {
        send: {
          touch_id: 8934,
          name: 'Sarah Connor',
          email: 'sarah@cyberdyne.example',
          address_confirmation_via: 'email',
          expire_after_days: 7,
          hide_product_info: false,
          no_address: true,
          confirm_address: true,
          resume_with_unconfirmed_address: false,
          via: 'single_person_or_company',
          via_from: 'giftguard',
        },
      },
    });
    const members = allTools.find((t) => t.name === 'list_all_sendoso_team_group_users')!;
    expect(members.split({ team_group_id: 103 }, 'x')).toMatchObject({ method: 'GET', path: '/groups/103/members', body: undefined });
  });
});

describe('OpenAI strict form', () => {
  function walk(node: JsonSchema, visit: (n: JsonSchema) => void): void {
    visit(node);
    for (const value of Object.values(node)) {
      if (Array.isArray(value)) value.forEach((v) => typeof v === 'object' && v && walk(v as JsonSchema, visit));
      else if (typeof value === 'object' && value) walk(value as JsonSchema, visit);
    }
  }

  it('closes every object, requires every property, makes optional ones nullable, drops format', () => {
    for (const tool of allTools) {
      const { function: fn } = toOpenAiTool(tool);
      expect(fn.strict).toBe(true);
      walk(fn.parameters, (node) => {
        expect(node).not.toHaveProperty('format');
        expect(node).not.toHaveProperty('default');
        if (node.type === 'object') {
          expect(node.additionalProperties).toBe(false);
          expect(node.required).toEqual(Object.keys(node.properties as object));
        }
      });
    }
    const egift = toOpenAiTool(allTools.find((t) => t.name === 'create_a_sendoso_egift')!).function.parameters as any;
    expect(egift.properties.name.type).toEqual(['string', 'null']);
    expect(egift.properties.email.type).toBe('string');
    const campaigns = toOpenAiTool(allTools.find((t) => t.name === 'list_all_sendoso_campaigns')!).function.parameters as any;
    expect(campaigns.properties.delivery_type.enum).toEqual(['mail', 'email', null]);
  });
});
