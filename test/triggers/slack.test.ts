/**
 * Slack over HTTP: correctly signed slash commands and button presses go to a running giftguard
 * HTTP server; what giftguard posts back (response_url, chat.postMessage) is captured by a local
 * stand-in for Slack. Bad signatures, stale timestamps, unlisted requesters and unlisted approvers
 * are each refused. Time is the sandbox's manual clock, which also signs the requests.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createApprovals } from '../../src/guard/index.js';
import { createLogger, silentLogger } from '../../src/log/index.js';
import { SqliteConversationStore, SqliteSlackApprovalPosts, agentRunner, agentToolbox, createSlackIntegration, openAiClient, slackPoster, startHttpServer } from '../../src/triggers/index.js';
import type { RunningHttpServer, SlackIntegration, SlackOptions } from '../../src/triggers/index.js';
import { allTools } from '../support/mcp.js';
import { lastToolResult, startFakeOpenAi } from '../support/fake-openai.js';
import type { FakeOpenAi, Turn } from '../support/fake-openai.js';
import { control } from '../support/sandbox-client.js';
import { policyFrom } from '../support/guard.js';
import { startOrchestration } from '../support/orchestration.js';
import type { Orchestration } from '../support/orchestration.js';
import { buttonPress, postSigned, slashCommand, startSlackStandIn } from '../support/slack.js';
import type { SlackStandIn } from '../support/slack.js';

const SECRET = 'slack-signing-secret-for-tests';
const REP = 'U0SALESREP1';
const APPROVER = 'U0APPROVER1';

let env: Orchestration | undefined;
let slackSide: SlackStandIn | undefined;
let server: RunningHttpServer | undefined;
let openai: FakeOpenAi | undefined;
afterEach(async () => {
  await server?.close();
  await openai?.close();
  openai = undefined;
  await env?.close();
  await slackSide?.close();
  env = undefined;
  server = undefined;
  slackSide = undefined;
});

/** The default policy, with Enterprise Sales needing approval above 100 USD (the whiskey set costs 150). */
const approvalPolicy = () => policyFrom(readFileSync('policies/default.yaml', 'utf8').replace('above: 200.00', 'above: 100.00'));

async function start(options: { policy?: ReturnType<typeof policyFrom>; turns?: Turn[] } = {}) {
  env = await startOrchestration(options.policy ? { policy: options.policy } : {});
  let ask: SlackOptions['ask'];
  if (options.turns) {
    openai = await startFakeOpenAi(options.turns);
    const settings = { baseUrl: openai.baseUrl, model: 'scripted-model', maxSteps: 6 };
    const e = env;
    ask = agentRunner({
      client: openAiClient(settings),
      settings,
      toolboxFor: (requester) => agentToolbox({ catalogue: allTools, tools: e.tools, orchestrator: e.orchestrator, runs: e.runs, approvals: createApprovals({ ledger: e.ledger, clock: e.clock }), requester, maxSends: 3, now: () => e.clock.now() }),
      store: new SqliteConversationStore(e.db),
      clock: e.clock,
      logger: silentLogger(),
    });
  }
  slackSide = await startSlackStandIn();
  const lines: any[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
  const slack: SlackIntegration = createSlackIntegration({
    signingSecret: SECRET,
    poster: slackPoster({ botToken: 'xoxb-test-bot-token', apiUrl: slackSide.apiUrl, logger }),
    approvalChannel: 'C0APPROVALS',
    policy: env.guard.policy,
    orchestrator: env.orchestrator,
    approvals: createApprovals({ ledger: env.ledger, clock: env.clock, guard: env.guard }),
    posts: new SqliteSlackApprovalPosts(env.db),
    clock: env.clock,
    logger,
    ask,
  });
  server = await startHttpServer({ host: '127.0.0.1', port: 0, handlers: [slack.handle], logger, info: () => ({}) });
  const base = `http://127.0.0.1:${server.port}`;
  const e = env;
  const now = () => Math.floor(e.clock.now() / 1000);
  return {
    slack,
    lines,
    command: (text: string, user: string, reply: string) => postSigned(`${base}/slack/commands`, slashCommand(text, user, slackSide!.responseUrl(reply)), SECRET, now()),
    press: (message: any, action: string, user: string, reply: string) => postSigned(`${base}/slack/interactions`, buttonPress(message, action, user, slackSide!.responseUrl(reply)), SECRET, now()),
    raw: (path: string, form: Record<string, string>, timestamp: number, signature?: string) => postSigned(`${base}${path}`, form, SECRET, timestamp, signature),
    now,
  };
}

const giftguardSends = async () => (await control(env!.sandbox, 'GET', '/sends')).sends.filter((s: any) => s.via_from === 'giftguard');
const responses = (name: string) => slackSide!.responses(name);
const blockText = (message: any) => message.blocks.map((b: any) => b.text?.text ?? b.elements?.map((e: any) => e.text?.text ?? e.text).join(' ') ?? '').join('\n');

describe('/gift abm', () => {
  it('acknowledges at once, runs the guarded ABM send and posts the result to the response_url', async () => {
    const slack = await start();
    const ack = await slack.command('abm group:"Enterprise Sales" campaign:"Executive Whiskey Set" to:"Sarah Connor <sarah@cyberdyne.example>"', REP, 'abm');
    expect(ack.status).toBe(200);
    expect(ack.json()).toMatchObject({ response_type: 'ephemeral', text: expect.stringMatching(/^Starting an ABM send of Executive Whiskey Set to Sarah Connor \(run `run_[^`]+`\)/) });
    const runId = /run `([^`]+)`/.exec(ack.json().text)![1]!;
    await vi.waitFor(() => expect(responses('abm')).toHaveLength(1));
    const [result] = responses('abm');
    expect(result.response_type).toBe('in_channel');
    expect(result.text).toMatch(/Sarah Connor will get an email/);
    expect(blockText(result)).toContain(`run \`${runId}\` · abm · done`);
    expect(await env!.runs.get(runId)).toMatchObject({ status: 'done' });
    const sends = await giftguardSends();
    expect(sends).toHaveLength(1);
    expect(sends[0]).toMatchObject({ kind: 'address_collection', recipient_email: 'sarah@cyberdyne.example', touch_name: 'Executive Whiskey Set' });
  });

  it('refuses a requester the policy does not list for the group, and sends nothing', async () => {
    const slack = await start();
    const ack = await slack.command('abm group:"Enterprise Sales" campaign:"Executive Whiskey Set" to:"Sarah Connor <sarah@cyberdyne.example>"', 'U0STRANGER', 'abm');
    expect(ack.json()).toEqual({ response_type: 'ephemeral', text: 'You are not allowed to start sends for Enterprise Sales from Slack (the spend policy lists who may). Nothing was sent.' });
    expect(await env!.runs.list()).toHaveLength(0);
    expect(await giftguardSends()).toHaveLength(0);
    expect(slack.lines.some((l) => l.msg === 'refused a Slack send request from an unlisted user' && l.user === 'U0STRANGER')).toBe(true);
  });

  it('explains a malformed command with an example', async () => {
    const slack = await start();
    const ack = await slack.command('abm group:"Enterprise Sales" to:"not an address"', REP, 'abm');
    expect(ack.json().text).toBe('Missing campaign:"…". Example: /gift abm group:"Enterprise Sales" campaign:"Executive Whiskey Set" to:"Sarah Connor &lt;sarah@cyberdyne.example&gt;"'); // Slack shows &lt; as <
  });
});

describe('/gift audit, help and batch', () => {
  it('posts the audit report naming the member who is missing the gift, without sending', async () => {
    const slack = await start();
    const ack = await slack.command('audit group:"New Hires Q3" campaign:"Welcome Swag Box"', 'U0ANYONE', 'audit');
    expect(ack.json().text).toMatch(/^Auditing New Hires Q3 for Welcome Swag Box \(run `run_/);
    await vi.waitFor(() => expect(responses('audit')).toHaveLength(1));
    const [report] = responses('audit');
    expect(report.text).toBe('New Hires Q3: 3 of 4 members got Welcome Swag Box; 1 missing (Tom Becker).');
    expect(blockText(report)).toContain('• Tom Becker — *missing*');
    expect(await giftguardSends()).toHaveLength(0);
  });

  it('answers help and keeps CSV batches on the command line', async () => {
    const slack = await start();
    expect((await slack.command('help', REP, 'h')).json().text).toContain('/gift abm group:"Enterprise Sales"');
    expect((await slack.command('', REP, 'h')).json().text).toContain('/gift audit');
    expect((await slack.command('batch campaign:"Q3 Webinar Attendees"', REP, 'h')).json().text).toContain('giftguard run batch');
    expect((await slack.command('ask something', REP, 'h')).json().text).toBe('The assistant is not configured (OPENAI_API_KEY or OPENAI_BASE_URL on the giftguard service).');
  });
});

describe('/gift ask', () => {
  it('answers in the channel with the assistant\'s words and the runs it started', async () => {
    const slack = await start({
      turns: [
        () => ({ toolCalls: [{ name: 'run_onboarding_audit', arguments: { group: 'New Hires Q3', campaign: 'Welcome Swag Box', since_days: null } }] }),
        (request) => ({ content: `${lastToolResult(request).summary} Shall I start an address-collection send for Tom Becker?` }),
      ],
    });
    const ack = await slack.command('ask check the New Hires Q3 group got their Welcome Swag Box', 'U0ANYONE', 'ask');
    expect(ack.json()).toEqual({ response_type: 'ephemeral', text: 'Thinking…' });
    await vi.waitFor(() => expect(responses('ask')).toHaveLength(1));
    const [answer] = responses('ask');
    expect(answer).toMatchObject({ response_type: 'in_channel', text: 'New Hires Q3: 3 of 4 members got Welcome Swag Box; 1 missing (Tom Becker). Shall I start an address-collection send for Tom Becker?' });
    expect(blockText(answer)).toMatch(/asked by <@U0ANYONE> · runs `run_[^`]+`/);
    expect(await giftguardSends()).toHaveLength(0);
  });

  it('acts as the Slack user: a send for a group that does not list them is refused', async () => {
    const slack = await start({
      turns: [
        () => ({ toolCalls: [{ name: 'start_abm_send', arguments: { group: 'Enterprise Sales', campaign: 'Executive Whiskey Set', recipient_name: 'Sarah Connor', recipient_email: 'sarah@cyberdyne.example', company: null, message: null, expire_after_days: null } }] }),
        (request) => ({ content: lastToolResult(request).error }),
      ],
    });
    await slack.command('ask send the whiskey set to sarah@cyberdyne.example', 'U0STRANGER', 'ask');
    await vi.waitFor(() => expect(responses('ask')).toHaveLength(1));
    expect(responses('ask')[0].text).toBe('You are not allowed to start sends for Enterprise Sales (the policy lists who may).');
    expect(await env!.runs.list()).toHaveLength(0);
    expect(await giftguardSends()).toHaveLength(0);
  });
});

describe('signatures', () => {
  it('refuses a wrong signature and a stale timestamp with 401 and logs the reason without the body', async () => {
    const slack = await start();
    const form = slashCommand('abm group:"Enterprise Sales" campaign:"Executive Whiskey Set" to:"Sarah Connor <sarah@cyberdyne.example>"', REP, slackSide!.responseUrl('x'));
    const forged = await slack.raw('/slack/commands', form, slack.now(), `v0=${'0'.repeat(64)}`);
    expect(forged.status).toBe(401);
    const stale = await slack.raw('/slack/commands', form, slack.now() - 301);
    expect(stale.status).toBe(401);
    const unsigned = await fetch(`http://127.0.0.1:${server!.port}/slack/interactions`, { method: 'POST', body: 'payload=%7B%7D' });
    expect(unsigned.status).toBe(401);
    expect(await env!.runs.list()).toHaveLength(0);
    const refusals = slack.lines.filter((l) => l.msg === 'refused a Slack request');
    expect(refusals.map((l) => l.reason)).toEqual(['bad signature', 'stale timestamp', 'missing headers']);
    const logged = JSON.stringify(slack.lines);
    expect(logged).not.toContain('Sarah Connor');
    expect(logged).not.toContain('sarah@cyberdyne.example');
    expect(logged).not.toContain(SECRET);
    // Inside the window it is accepted, whichever side of now.
    expect((await slack.raw('/slack/commands', slashCommand('help', REP, slackSide!.responseUrl('x')), slack.now() + 299)).status).toBe(200);
  });
});

describe('approvals', () => {
  it('posts the request with buttons; an unlisted user is refused; an approver sends it and the run reports', async () => {
    const slack = await start({ policy: approvalPolicy() });
    const ack = await slack.command('abm group:"Enterprise Sales" campaign:"Executive Whiskey Set" to:"Sarah Connor <sarah@cyberdyne.example>"', REP, 'abm');
    const runId = /run `([^`]+)`/.exec(ack.json().text)![1]!;
    await vi.waitFor(() => expect(slackSide!.messages()).toHaveLength(1));
    expect(responses('abm')[0].text).toBe('Waiting for a person to approve the send; nothing has been sent yet.');
    const [request] = slackSide!.messages();
    expect(request.channel).toBe('C0APPROVALS');
    expect(request.text).toBe('Enterprise Sales wants to send Executive Whiskey Set to sarah@cyberdyne.example (150.00 USD).');
    expect(slackSide!.posts.find((p) => p.path === '/api/chat.postMessage')!.authorization).toBe('Bearer xoxb-test-bot-token');
    expect(await giftguardSends()).toHaveLength(0);

    // The requester is listed for sends but is not an approver.
    expect((await slack.press(request, 'approval.approve', REP, 'press-rep')).status).toBe(200);
    await vi.waitFor(() => expect(responses('press-rep')).toHaveLength(1));
    expect(responses('press-rep')[0]).toMatchObject({ response_type: 'ephemeral', replace_original: false, text: 'You are not an approver for Enterprise Sales; the request stays open for one who is.' });
    expect(await giftguardSends()).toHaveLength(0);
    expect((await env!.ledger.approvals('pending')).map((a) => a.status)).toEqual(['pending']);

    await slack.press(request, 'approval.approve', APPROVER, 'press-approver');
    await vi.waitFor(() => expect(responses('press-approver')).toHaveLength(1));
    const decision = responses('press-approver')[0];
    expect(decision.replace_original).toBe(true);
    expect(decision.text).toBe('Executive Whiskey Set to sarah@cyberdyne.example: :white_check_mark: approved and sent.');
    expect(blockText(decision)).toContain(`decided by <@${APPROVER}>`);
    expect(await giftguardSends()).toHaveLength(1);

    // The waiting run notices at its next poll and the requester hears the end.
    env!.clock.advance(1000);
    await vi.waitFor(() => expect(responses('abm')).toHaveLength(2));
    expect(responses('abm')[1].text).toMatch(/started an address-collection send after approval; Sarah Connor will get an email/);
    expect(await env!.runs.get(runId)).toMatchObject({ status: 'done' });
    // Posted once, however often the announcer runs.
    expect(await slack.slack.announceApprovals()).toBe(0);
    expect(slackSide!.messages()).toHaveLength(1);
  });

  it('deny sends nothing and tells the requester', async () => {
    const slack = await start({ policy: approvalPolicy() });
    await slack.command('abm group:"Enterprise Sales" campaign:"Executive Whiskey Set" to:"Sarah Connor <sarah@cyberdyne.example>"', REP, 'abm');
    await vi.waitFor(() => expect(slackSide!.messages()).toHaveLength(1));
    await slack.press(slackSide!.messages()[0], 'approval.deny', APPROVER, 'press');
    await vi.waitFor(() => expect(responses('press')).toHaveLength(1));
    expect(responses('press')[0].text).toBe('Executive Whiskey Set to sarah@cyberdyne.example: :x: denied. Nothing was sent.');
    env!.clock.advance(1000);
    await vi.waitFor(() => expect(responses('abm')).toHaveLength(2));
    expect(responses('abm')[1].text).toMatch(/denied/i);
    expect(await giftguardSends()).toHaveLength(0);
  });

  it('an approval re-checks the caps: when the budget went meanwhile, approving sends nothing', async () => {
    const slack = await start({ policy: policyFrom(readFileSync('policies/default.yaml', 'utf8').replace('above: 200.00', 'above: 100.00').replace('per_day: 1500.00', 'per_day: 160.00')) });
    await slack.command('abm group:"Enterprise Sales" campaign:"Executive Whiskey Set" to:"Sarah Connor <sarah@cyberdyne.example>"', REP, 'abm');
    await vi.waitFor(() => expect(slackSide!.messages()).toHaveLength(1));
    // Meanwhile a mug goes out and uses 30 of today's 160 USD; 150 more no longer fits.
    await slack.command('abm group:"Enterprise Sales" campaign:"Branded Yeti Mug" to:"Kyle Reese <kyle@cyberdyne.example>"', REP, 'mug');
    await vi.waitFor(() => expect(responses('mug')).toHaveLength(1));
    expect(await giftguardSends()).toHaveLength(1);
    await slack.press(slackSide!.messages()[0], 'approval.approve', APPROVER, 'press');
    await vi.waitFor(() => expect(responses('press')).toHaveLength(1));
    expect(responses('press')[0].text).toMatch(/approved, but the spend policy no longer allows it: .*Nothing was sent\./);
    expect(await giftguardSends()).toHaveLength(1);
  });
});
