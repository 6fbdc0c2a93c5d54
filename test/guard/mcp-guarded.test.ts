/**
 * Invariant 1 end to end: an external MCP client calling a spending tool goes through the guard —
 * the policy, the reservation, the intent — whatever it asks. And `giftguard serve` with the
 * shipped policy, approved from the CLI while serve runs: the waiting send names its console page
 * (a client that declared URL-mode elicitation is answered -32042 with it), and giftguard's own
 * read tool reports the approval before and after.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UrlElicitationRequiredError } from '@modelcontextprotocol/sdk/types.js';
import { silentLogger } from '../../src/log/index.js';
import { createMcpServer } from '../../src/tools/index.js';
import { control, startSandboxWithClient } from '../support/sandbox-client.js';
import type { SandboxWithClient } from '../support/sandbox-client.js';
import { allTools, testRuntime } from '../support/mcp.js';
import { guardOverSandbox } from '../support/guard.js';
import { cli, spawnUntil, stop, tempHome } from '../support/cli.js';
import { loadPolicy } from '../../src/guard/index.js';

let env: SandboxWithClient;
afterEach(async () => {
  await env?.close();
});

async function connect(group: string | undefined) {
  env = await startSandboxWithClient();
  const guard = guardOverSandbox(env, (await loadPolicy(['policies']))!);
  const server = createMcpServer({
    serverId: 'mcp_agent',
    serverName: 'agent',
    tools: allTools,
    runtime: { ...testRuntime(env, guard), viaFrom: 'giftguard' },
    clock: env.clock,
    logger: silentLogger(),
    group,
    version: 'test',
  });
  const [a, b] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'agent', version: '1' });
  await Promise.all([server.connect(b), client.connect(a)]);
  return { client, guard };
}

const text = (r: any) => r.content[0].text as string;
const sends = async () => (await control(env.sandbox, 'GET', '/sends')).sends.filter((s: any) => s.via_from === 'giftguard');

describe('spending tools go through the guard', () => {
  it('an allowed eGift is sent once; the same call again is not sent twice', async () => {
    const { client } = await connect('Marketing');
    const first: any = await client.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: 8937, email: 'attendee@example.com' } });
    expect(first.structuredContent).toMatchObject({ status: 'sent', tracking_code: expect.any(String) });
    const again: any = await client.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: 8937, email: 'attendee@example.com' } });
    expect(again.structuredContent).toMatchObject({ status: 'sent', tracking_code: first.structuredContent.tracking_code });
    expect(again.structuredContent.message).toContain('already made earlier and was not sent again');
    expect(await sends()).toHaveLength(1);
  });

  it('a closed or future campaign is refused as not found (not "declare its cost"), and its lookup says so too', async () => {
    const { client } = await connect('Enterprise Sales');
    for (const touch_id of [8940, 8941]) {
      const refused: any = await client.callTool({ name: 'create_a_sendoso_physical_gift_address_collection', arguments: { touch_id, name: 'S', email: 's@example.com' } });
      expect(refused.isError).toBe(true);
      expect(text(refused)).toContain(`Sendoso has no active campaign with touch id ${touch_id}`);
      expect(text(refused)).not.toContain('Declare it');
      const lookup: any = await client.callTool({ name: 'get_single_sendoso_campaign_by_id', arguments: { id: touch_id } });
      expect(lookup.isError).toBe(true);
      expect(text(lookup)).toContain('Touch not found');
    }
    const listed: any = await client.callTool({ name: 'list_all_sendoso_campaigns', arguments: {} });
    expect(listed.structuredContent.touches.map((t: any) => t.id)).not.toEqual(expect.arrayContaining([8940]));
    expect(listed.structuredContent.touches.every((t: any) => t.status === 'Active')).toBe(true);
    expect(await sends()).toHaveLength(0);
  });

  it('a campaign the group may not send, an invented touch id, and a .gov recipient are refused', async () => {
    const { client } = await connect('Marketing');
    const wrong: any = await client.callTool({ name: 'create_a_sendoso_physical_gift_address_collection', arguments: { touch_id: 8934, name: 'S', email: 's@example.com' } });
    expect(text(wrong)).toContain('Marketing may only send Q3 Webinar Attendees, Amazon eGift 10, Coffee eGift; Executive Whiskey Set (touch 8934) is not among them.');
    const invented: any = await client.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: 777, email: 'a@example.com' } });
    expect(text(invented)).toContain('Sendoso has no active campaign with touch id 777');
    const official: any = await client.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: 8937, email: 'someone@state.gov' } });
    expect(text(official)).toContain('Gifts to .gov addresses are blocked by the compliance rules');
    expect([wrong, invented, official].every((r) => r.isError)).toBe(true);
    expect(await sends()).toHaveLength(0);
  });

  it('an agent looping on sends is stopped by the caps', async () => {
    const { client } = await connect('Sales Development');
    const results: any[] = [];
    for (let i = 0; i < 50; i++) {
      results.push(await client.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: 8938, email: `lead${i}@example.com` } }));
    }
    const sent = results.filter((r) => r.structuredContent?.status === 'sent').length;
    expect(sent).toBe(30); // 300 USD a day at 10 USD each
    expect(text(results[49])).toContain('Sales Development has 0.00 USD left today');
    expect(await sends()).toHaveLength(30);
  });

  it('a send above the approval threshold waits for a person, with a clear non-error result', async () => {
    const { client, guard } = await connect('Sales Development');
    const result: any = await client.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: 8939, email: 'vp@example.com' } });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ status: 'pending_approval', approval_id: expect.stringMatching(/^apr_/) });
    expect(await sends()).toHaveLength(0);
    expect(await guard.approve(result.structuredContent.approval_id, { identity: 'slack:U0APPROVER1' })).toMatchObject({ status: 'approved' });
    await guard.dispatchApproved();
    expect(await sends()).toHaveLength(1);
  });
});

describe('giftguard serve with the shipped policy', () => {
  it('a waiting send is approved from the CLI while serve runs, and goes out once', async () => {
    const home = tempHome();
    const { child, output } = await spawnUntil(['serve', '--port', '0', '--sandbox-port', '0', '--control'], { GIFTGUARD_HOME: home }, 'Press Ctrl+C');
    try {
      expect(output()).toContain('guarded by 4 group policies');
      const created = await cli({ GIFTGUARD_HOME: home }, 'mcp', 'create', '--name', 'sdr agent', '--group', 'Sales Development');
      const url = new URL(/(http:\/\/\S+\/mcp\/ggmcp_\S+)/.exec(output())![1]!);
      const token = /(ggmcp_\S+)/.exec(created.out)![1]!;
      const client = new Client({ name: 'e2e', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${url.origin}/mcp/${token}`)));
      const result: any = await client.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: 8939, email: 'vp@example.com' } });
      expect(result.structuredContent.status).toBe('pending_approval');
      const id = result.structuredContent.approval_id as string;
      // The console page on the port this serve actually listens on (it was started with --port 0).
      const page = `${url.origin}/console/approvals/${id}`;
      expect(result.structuredContent.approval_url).toBe(page);
      const waiting: any = await client.callTool({ name: 'giftguard_check_approval', arguments: { approval_id: id } });
      expect(waiting.structuredContent).toMatchObject({ status: 'pending', approval_url: page, amount_per_send: '50.00 USD', group: 'Sales Development' });

      const listed = await cli({ GIFTGUARD_HOME: home }, 'approvals', 'list');
      expect(listed.out).toMatch(new RegExp(`${id}\\s+pending\\s+Sales Development\\s+Coffee eGift\\s+vp@example.com\\s+50.00 USD`));
      const approved = await cli({ GIFTGUARD_HOME: home }, 'approvals', 'approve', id);
      expect(approved.err).toBe('');
      expect(approved.out).toContain(`Approved ${id} as cli:operator and sent it.`);

      const history: any = await client.callTool({ name: 'list_all_sendoso_sends', arguments: {} });
      const sent = history.structuredContent.sends.filter((s: any) => s.recipient.email === 'vp@example.com');
      expect(sent).toHaveLength(1);
      const decided: any = await client.callTool({ name: 'giftguard_check_approval', arguments: { approval_id: id } });
      expect(decided.structuredContent).toMatchObject({ status: 'sent', decided_by: 'cli:operator', tracking_code: sent[0].tracking_code });
      const budget = await cli({ GIFTGUARD_HOME: home }, 'budget', '--group', 'Sales Development');
      expect(budget.out).toMatch(/Sales Development\s+day\s+300\.00 USD\s+50\.00 USD\s+0\.00 USD\s+250\.00 USD/);
      const headroom: any = await client.callTool({ name: 'giftguard_group_headroom', arguments: {} });
      expect(headroom.structuredContent).toMatchObject({ group: 'Sales Development', available: '250.00 USD', binding: { window: 'day', rule: 'caps.per_day' } });
      await client.close();

      // A client that can open links (its own token: a stateless endpoint remembers each token's initialize).
      const linked = await cli({ GIFTGUARD_HOME: home }, 'mcp', 'create', '--name', 'claude', '--group', 'Sales Development');
      const linkedToken = /(ggmcp_\S+)/.exec(linked.out)![1]!;
      const opener = new Client({ name: 'e2e-links', version: '1' }, { capabilities: { elicitation: { url: {} } } });
      await opener.connect(new StreamableHTTPClientTransport(new URL(`${url.origin}/mcp/${linkedToken}`)));
      const elicited = await opener.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: 8939, email: 'cfo@example.com' } }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(elicited).toBeInstanceOf(UrlElicitationRequiredError);
      const [elicitation] = (elicited as UrlElicitationRequiredError).elicitations;
      expect(elicitation).toMatchObject({ mode: 'url', url: `${url.origin}/console/approvals/${elicitation!.elicitationId}` });
      expect(elicitation!.message).toContain('50.00 USD — Coffee eGift (touch 8939) to cfo@example.com, charged to Sales Development');
      await opener.close();
    } finally {
      expect(await stop(child)).toBe(0);
    }
  }, 30_000);
});

