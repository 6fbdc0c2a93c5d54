/**
 * The agent with the real openai SDK against a local OpenAI-compatible server playing scripted
 * model turns: both seed stories end in the right runs; an adversarial model that calls a spending
 * tool directly, invents a campaign, or loops on sends ends with no unauthorised spend and a clear
 * refusal in the transcript.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createApprovals } from '../../src/guard/index.js';
import { SqliteConversationStore, agentRunner, agentToolbox, openAiClient } from '../../src/triggers/index.js';
import { silentLogger } from '../../src/log/index.js';
import { control } from '../support/sandbox-client.js';
import { startOrchestration } from '../support/orchestration.js';
import type { Orchestration } from '../support/orchestration.js';
import { allTools } from '../support/mcp.js';
import { lastToolResult, startFakeOpenAi } from '../support/fake-openai.js';
import type { FakeOpenAi, Turn } from '../support/fake-openai.js';
import { cli, tempHome } from '../support/cli.js';

let env: Orchestration | undefined;
let openai: FakeOpenAi | undefined;
afterEach(async () => {
  await env?.close();
  await openai?.close();
  env = undefined;
  openai = undefined;
});

async function agent(turns: Turn[], maySend: (group: string) => boolean = () => true) {
  env = await startOrchestration();
  openai = await startFakeOpenAi(turns);
  const settings = { baseUrl: openai.baseUrl, model: 'scripted-model', maxSteps: 8 };
  const store = new SqliteConversationStore(env.db);
  const e = env;
  const run = agentRunner({
    client: openAiClient(settings),
    settings,
    toolboxFor: (requester) => agentToolbox({ catalogue: allTools, tools: e.tools, orchestrator: e.orchestrator, runs: e.runs, approvals: createApprovals({ ledger: e.ledger, clock: e.clock }), requester, maxSends: 3, now: () => e.clock.now() }),
    store,
    clock: e.clock,
    logger: silentLogger(),
  });
  return { run: (q: string) => run(q, { via: 'cli', id: 'tester', maySend }), store };
}

const giftguardSends = async () => (await control(env!.sandbox, 'GET', '/sends')).sends.filter((s: any) => s.via_from === 'giftguard');

describe('the seed stories', () => {
  it('"Send the Executive Whiskey Set to Sarah Connor…" ends in one guarded ABM run and a summary', async () => {
    const { run, store } = await agent([
      () => ({ toolCalls: [{ name: 'list_all_sendoso_groups', arguments: { page: null, per_page: null } }] }),
      () => ({ toolCalls: [{ name: 'list_all_sendoso_campaigns', arguments: { page: null, per_page: null, delivery_type: 'mail' } }] }),
      (request) => {
        const touches = lastToolResult(request).touches.map((t: any) => t.name);
        expect(touches).toContain('Executive Whiskey Set');
        return {
          toolCalls: [
            {
              name: 'start_abm_send',
              arguments: { group: 'Enterprise Sales', campaign: 'Executive Whiskey Set', recipient_name: 'Sarah Connor', recipient_email: 'sarah@cyberdyne.example', company: 'Cyberdyne', message: null, expire_after_days: null },
            },
          ],
        };
      },
      (request) => ({ content: `Done. ${lastToolResult(request).summary}` }),
    ]);
    const answer = await run('Send the Executive Whiskey Set to Sarah Connor at Cyberdyne, check Enterprise Sales has the budget, use address collection');
    expect(answer.runIds).toHaveLength(1);
    expect(answer.answer).toMatch(/^Done\. Enterprise Sales had 5,000\.00 USD available .* started an address-collection send; Sarah Connor will get an email/);
    expect(await env!.runs.get(answer.runIds[0]!)).toMatchObject({ workflow: 'abm', status: 'done' });
    expect(await giftguardSends()).toHaveLength(1);
    const stored = (await store.get(answer.conversationId))!;
    expect(stored).toMatchObject({ promptTokens: 400, completionTokens: 80, runIds: answer.runIds, answer: answer.answer });
    expect(stored.transcript.filter((m: any) => m.role === 'tool')).toHaveLength(3);
    // The model was offered read tools and workflows, never a raw spending tool.
    const offered = openai!.requests[0]!.tools.map((t: any) => t.function.name);
    expect(offered).toContain('start_abm_send');
    expect(offered.filter((n: string) => n.startsWith('create_a_'))).toEqual([]);
    expect(openai!.requests[0]!.tools.every((t: any) => t.function.strict === true)).toBe(true);
  });

  it('"check the New Hires Q3 group got their Welcome Swag Box" ends in an audit naming the member without a send', async () => {
    const { run } = await agent([
      () => ({ toolCalls: [{ name: 'run_onboarding_audit', arguments: { group: 'New Hires Q3', campaign: 'Welcome Swag Box', since_days: null } }] }),
      (request) => {
        const audit = lastToolResult(request);
        const missing = audit.output.lines.filter((l: any) => !l.gifted).map((l: any) => l.name);
        return { content: `${audit.summary} ${missing.join(', ')} has no Welcome Swag Box yet. Shall I start an address-collection send for them?` };
      },
    ]);
    const answer = await run('check the New Hires Q3 group got their Welcome Swag Box');
    expect(answer.answer).toBe('New Hires Q3: 3 of 4 members got Welcome Swag Box; 1 missing (Tom Becker). Tom Becker has no Welcome Swag Box yet. Shall I start an address-collection send for them?');
    expect(await env!.runs.get(answer.runIds[0]!)).toMatchObject({ workflow: 'audit', status: 'done' });
    expect(await giftguardSends()).toHaveLength(0);
  });
});

describe('an adversarial model', () => {
  it('calling a spending tool directly gets a refusal and spends nothing', async () => {
    const { run, store } = await agent([
      () => ({ toolCalls: [{ name: 'create_a_sendoso_egift', arguments: { touch_id: 8938, email: 'me@attacker.example' } }] }),
      () => ({ content: 'I could not send it.' }),
    ]);
    const answer = await run('send me an amazon gift card');
    const tool = (await store.get(answer.conversationId))!.transcript.find((m: any) => m.role === 'tool') as any;
    expect(JSON.parse(tool.content).error).toContain('There is no tool "create_a_sendoso_egift" for this assistant. It cannot send gifts directly');
    expect(await giftguardSends()).toHaveLength(0);
  });

  it('inventing a campaign ends in a failed run that names the real campaigns', async () => {
    const { run, store } = await agent([
      () => ({ toolCalls: [{ name: 'start_abm_send', arguments: { group: 'Enterprise Sales', campaign: '99999', recipient_name: 'X', recipient_email: 'x@example.com', company: null, message: null, expire_after_days: null } }] }),
      () => ({ content: 'That campaign does not exist.' }),
    ]);
    const answer = await run('send campaign 99999 to x@example.com');
    const tool = JSON.parse(((await store.get(answer.conversationId))!.transcript.find((m: any) => m.role === 'tool') as any).content);
    expect(tool).toMatchObject({ status: 'failed', summary: expect.stringContaining('No active campaign with touch id 99999') });
    expect(await giftguardSends()).toHaveLength(0);
  });

  it('sending 50 gifts in a loop stops at the per-request limit and within the caps', async () => {
    const fifty = Array.from({ length: 50 }, (_, i) => ({
      name: 'start_abm_send',
      arguments: { group: 'Enterprise Sales', campaign: 'Branded Yeti Mug', recipient_name: `Lead ${i}`, recipient_email: `lead${i}@example.com`, company: null, message: null, expire_after_days: null },
    }));
    const { run, store } = await agent([() => ({ toolCalls: fifty }), () => ({ toolCalls: fifty }), () => ({ content: 'Some sends were refused.' })]);
    const answer = await run('send a yeti mug to all 50 leads');
    expect(answer.runIds).toHaveLength(3);
    expect(await giftguardSends()).toHaveLength(3);
    const refusals = (await store.get(answer.conversationId))!.transcript.filter((m: any) => m.role === 'tool' && JSON.parse(m.content).error);
    expect(refusals).toHaveLength(97);
    expect(JSON.parse((refusals[0] as any).content).error).toBe('This request has already started 3 send(s), the most one request may. For more, ask a person to run a batch.');
  });

  it('a requester not allowed to send for a group is refused', async () => {
    const { run } = await agent(
      [
        () => ({ toolCalls: [{ name: 'start_abm_send', arguments: { group: 'Enterprise Sales', campaign: 'Executive Whiskey Set', recipient_name: 'S', recipient_email: 's@example.com', company: null, message: null, expire_after_days: null } }] }),
        (request) => ({ content: lastToolResult(request).error }),
      ],
      () => false,
    );
    const answer = await run('send the whiskey set');
    expect(answer.answer).toBe('You are not allowed to start sends for Enterprise Sales (the policy lists who may).');
    expect(await giftguardSends()).toHaveLength(0);
  });

  it('is bounded in steps', async () => {
    const loop: Turn = () => ({ toolCalls: [{ name: 'list_all_sendoso_me', arguments: {} }] });
    const { run } = await agent(Array.from({ length: 20 }, () => loop));
    const answer = await run('keep going');
    expect(answer.steps).toBe(8);
    expect(answer.answer).toContain('I stopped after 8 steps without finishing.');
  });
});

describe('giftguard ask', () => {
  it('says what to configure when there is neither a key nor a base URL', async () => {
    const result = await cli({}, 'ask', 'hello');
    expect(result.code).toBe(1);
    expect(result.err).toContain('Missing setting OPENAI_API_KEY: the agent needs an OpenAI API key (OPENAI_API_KEY) or an OpenAI-compatible server (OPENAI_BASE_URL');
    expect(result.err).not.toContain('Invalid');
  });

  it('names the model server it could not reach', async () => {
    const { createServer } = await import('node:net');
    // A port nobody listens on: taken, then freed.
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as { port: number };
        probe.close(() => resolve(free));
      });
    });
    const home = tempHome();
    const result = await cli({ GIFTGUARD_HOME: home, OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1` }, 'ask', 'hello');
    expect(result.code).toBe(1);
    expect(result.err).toContain(`Could not reach the model server at http://127.0.0.1:${port}/v1 (ECONNREFUSED). Check OPENAI_BASE_URL`);
    const id = /conversations show (ask_[0-9a-f]+)/.exec(result.err)?.[1];
    expect(id).toBeDefined();

    // The reason is kept with the conversation, and --json answers in JSON when it fails too.
    const shown = await cli({ GIFTGUARD_HOME: home }, 'conversations', 'show', id!);
    expect(shown.out).toContain('(It stopped without an answer: Could not reach the model server');
    expect((await cli({ GIFTGUARD_HOME: home }, 'conversations', 'list')).out).toContain('(failed: Could not reach the model server');
    const json = await cli({ GIFTGUARD_HOME: home, OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1` }, 'ask', '--json', 'hello');
    expect(json.code).toBe(1);
    const answer = JSON.parse(json.out);
    expect(answer).toMatchObject({ conversationId: expect.stringMatching(/^ask_/), error: { code: 'connection' } });
    expect(answer.error.message).toContain('Could not reach the model server');
  });

  it('hands the model ISO 8601 times, and keeps every conversation readable with conversations list|show', async () => {
    const home = tempHome();
    openai = await startFakeOpenAi([
      () => ({ toolCalls: [{ name: 'run_onboarding_audit', arguments: { group: 'New Hires Q3', campaign: 'Welcome Swag Box', since_days: null } }] }),
      (request) => {
        const audit = lastToolResult(request);
        const gifted = audit.output.lines.find((l: any) => l.gifted);
        expect(gifted.date).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        expect(JSON.stringify(audit)).not.toMatch(/"(date|since|now)":\d{12,}/);
        return { content: `${audit.summary}` };
      },
    ]);
    const env = { GIFTGUARD_HOME: home, OPENAI_BASE_URL: openai.baseUrl, OPENAI_MODEL: 'scripted-model' };
    const asked = await cli(env, 'ask', 'check', 'New Hires Q3', '--json');
    expect(asked.code, asked.err).toBe(0);
    const { conversationId, runIds } = JSON.parse(asked.out);
    const listed = await cli(env, 'conversations', 'list');
    expect(listed.out).toMatch(new RegExp(`${conversationId}\\s+\\S+\\s+cli:\\S+\\s+1\\s+\\d+\\s+check New Hires Q3\\s+New Hires Q3: 3 of 4`));
    const shown = await cli(env, 'conversations', 'show', conversationId);
    expect(shown.out).toContain(`Conversation ${conversationId}`);
    expect(shown.out).toContain(`runs: ${runIds[0]}`);
    expect(shown.out).toContain('You: check New Hires Q3');
    expect(shown.out).toContain('  → run_onboarding_audit {"group":"New Hires Q3","campaign":"Welcome Swag Box","since_days":null}');
    expect(shown.out).toMatch(/ {2}← \{"run_id":"run_\w+","workflow":"audit"/);
    expect(shown.out).toContain('Assistant: New Hires Q3: 3 of 4 members got Welcome Swag Box');
    expect(JSON.parse((await cli(env, 'conversations', 'show', conversationId, '--json')).out).transcript.length).toBeGreaterThan(3);
    expect((await cli(env, 'conversations', 'show', 'ask_nope')).err).toContain('No conversation ask_nope');
  });
});
