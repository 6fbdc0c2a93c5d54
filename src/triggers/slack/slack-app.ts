/**
 * @module giftguard's Slack app on @slack/bolt: the `/gift` slash command (abm, audit, ask, help),
 * acknowledged at once and answered on the response_url in Block Kit when the run ends; approval
 * requests posted to a channel with Approve / Deny buttons that only the group's approvers (policy
 * file) may press, deciding through the guard's approval path. Who may start sends from Slack is
 * listed per group too. Nothing here spends except through workflows and the guard.
 */
import { App } from '@slack/bolt';
import type { RespondFn } from '@slack/bolt';
import { toGiftingError } from '../../domain/index.js';
import type { Clock } from '../../domain/index.js';
import { findGroupPolicy, isListedApprover } from '../../guard/index.js';
import { slackText as esc } from '../escape.js';
import type { Approvals, Delivery, Policy } from '../../guard/index.js';
import type { Logger } from '../../log/index.js';
import { auditInput } from '../../orchestrator/index.js';
import type { Orchestrator, RunHandle, RunRecord } from '../../orchestrator/index.js';
import type { AgentAnswer, AgentRequester } from '../agent/index.js';
import type { SlackApprovalPosts } from './approval-posts.js';
import { answerBlocks, approvalBlocks, decisionBlocks, runBlocks } from './blocks.js';
import { HELP_TEXT, parseGiftCommand } from './command.js';
import { GiftguardSlackReceiver } from './receiver.js';
import { slackLogger } from './slack-logger.js';
import type { SlackPoster } from './slack-poster.js';

export interface SlackOptions {
  readonly signingSecret: string;
  /** Posts approval requests (with the bot token); absent when SLACK_BOT_TOKEN is not set. */
  readonly poster?: SlackPoster | undefined;
  readonly approvalChannel?: string | undefined;
  readonly policy: Policy | undefined;
  readonly orchestrator: Orchestrator;
  /** The approval feature (guard/approvals.ts); absent without a policy. */
  readonly approvals: Approvals | undefined;
  /** Which approvals were posted, shared with every other announcer (process or instance). */
  readonly posts: SlackApprovalPosts;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Answers `/gift ask`; absent when no model is configured. */
  readonly ask?: ((question: string, requester: AgentRequester) => Promise<AgentAnswer>) | undefined;
}

export interface SlackIntegration {
  /** Mount in the HTTP server: handles /slack/commands and /slack/interactions. */
  handle: GiftguardSlackReceiver['handle'];
  /** Posts approval requests not yet posted; returns how many. */
  announceApprovals(): Promise<number>;
  /**
   * Tells the channel a run was started from what became of its gift (address confirmed,
   * delivered, or a problem to act on); returns how many messages were posted.
   */
  announceDeliveries(deliveries: readonly Delivery[]): Promise<number>;
}

/** Lists name Slack user ids (U…); display names can be changed by their owner, ids cannot. */
function listed(list: readonly string[] | undefined, userId: string): boolean {
  return (list ?? []).includes(userId);
}

export function createSlackIntegration(options: SlackOptions): SlackIntegration {
  const log = options.logger.child({ module: 'slack' });
  const receiver = new GiftguardSlackReceiver(options.signingSecret, options.clock, options.logger);
  const app = new App({
    receiver,
    // Bolt's token mode calls auth.test on every request; commands and buttons need no bot
    // identity (replies go to response_url, messages through the poster), so nothing to authorize.
    authorize: async () => ({}),
    ignoreSelf: false,
    logger: slackLogger(log),
  });
  const { posts } = options;
  const { approvals } = options;
  // Replies outlive the HTTP request that asked for them (Slack wants an answer within 3 s).
  const inBackground = (work: Promise<unknown>) => {
    void work.catch((error: unknown) => log.error({ err: error }, 'Slack reply failed'));
  };

  const maySend = (group: string, userId: string) => (options.policy ? listed(findGroupPolicy(options.policy, group)?.triggers.slack_users, userId) : false);

  /** Replies on the response_url when the run ends (and once when it starts waiting). */
  async function replyWithRun(handle: RunHandle, respond: RespondFn): Promise<void> {
    const settled = await handle.settled;
    await respond({ response_type: 'in_channel', ...runBlocks(settled) });
    if (settled.status === 'waiting') {
      // The approvers hear about it now rather than at the next poll.
      await announceApprovals();
      const finished: RunRecord = await handle.finished;
      if (finished.status !== 'waiting') await respond({ response_type: 'in_channel', ...runBlocks(finished) });
    }
  }

  /**
   * Posts each pending approval once to the approval channel: one pass at a time here, and a
   * claim in the shared store before each post, so another process or instance announcing the
   * same approval posts nothing.
   */
  let announcing: Promise<number> = Promise.resolve(0);
  function announceApprovals(): Promise<number> {
    const pass = announcing.catch(() => 0).then(announcePending);
    announcing = pass;
    return pass;
  }

  async function announcePending(): Promise<number> {
    const { poster, approvalChannel } = options;
    if (!poster || !approvalChannel || !approvals) return 0;
    let count = 0;
    for (const approval of await approvals.pending()) {
      const claim = await posts.claim(approval.id, options.clock.now());
      if (claim === undefined) continue;
      let result: { readonly channel: string; readonly ts: string };
      try {
        result = await poster.post(approvalChannel, approvalBlocks(approval));
      } catch (error) {
        // Not posted: the next pass (here or elsewhere) claims it again.
        await posts.release(approval.id, claim);
        throw error;
      }
      await posts.record(approval.id, result.channel, result.ts, options.clock.now());
      count += 1;
    }
    return count;
  }

  app.command('/gift', async ({ command, ack, respond }) => {
    const parsed = parseGiftCommand(command.text ?? '');
    const userId = command.user_id;
    switch (parsed.kind) {
      case 'help':
        await ack({ response_type: 'ephemeral', text: HELP_TEXT });
        return;
      case 'batch':
        await ack({ response_type: 'ephemeral', text: 'CSV batches run from the command line, so the file never passes through Slack: `giftguard run batch --campaign "…" --group "…" --csv attendees.csv`' });
        return;
      case 'invalid':
        await ack({ response_type: 'ephemeral', text: esc(parsed.message) });
        return;
      case 'abm': {
        if (!maySend(parsed.group, userId)) {
          log.warn({ user: userId, group: parsed.group }, 'refused a Slack send request from an unlisted user');
          await ack({ response_type: 'ephemeral', text: `You are not allowed to start sends for ${esc(parsed.group)} from Slack (the spend policy lists who may). Nothing was sent.` });
          return;
        }
        const handle = await options.orchestrator.start(
          'abm',
          { group: parsed.group, campaign: parsed.campaign, recipientName: parsed.name, recipientEmail: parsed.email, ...(parsed.message && { message: parsed.message }), expireAfterDays: 7 },
          {},
          // Where the news of this gift goes later (address confirmed, delivered, a problem).
          { via: 'slack', channel: command.channel_id, user: userId },
        );
        await ack({ response_type: 'ephemeral', text: `Starting an ABM send of ${esc(parsed.campaign)} to ${esc(parsed.name)} (run \`${handle.id}\`). I will post the result here.` });
        inBackground(replyWithRun(handle, respond));
        return;
      }
      case 'audit': {
        const handle = await options.orchestrator.start('audit', auditInput({ group: parsed.group, campaign: parsed.campaign, sinceDays: parsed.sinceDays }, options.clock.now()));
        await ack({ response_type: 'ephemeral', text: `Auditing ${esc(parsed.group)} for ${esc(parsed.campaign)} (run \`${handle.id}\`)…` });
        inBackground(replyWithRun(handle, respond));
        return;
      }
      case 'ask': {
        if (!options.ask) {
          await ack({ response_type: 'ephemeral', text: 'The assistant is not configured (OPENAI_API_KEY or OPENAI_BASE_URL on the giftguard service).' });
          return;
        }
        await ack({ response_type: 'ephemeral', text: 'Thinking…' });
        const ask = options.ask;
        inBackground(
          (async () => {
            try {
              const answer = await ask(parsed.question, { via: 'slack', id: userId, maySend: (group) => maySend(group, userId) });
              await respond({ response_type: 'in_channel', ...answerBlocks(answer.answer, userId, answer.runIds) });
            } catch (error) {
              await respond({ response_type: 'ephemeral', text: `The assistant could not answer: ${esc(toGiftingError(error).message)}` });
            }
          })(),
        );
        return;
      }
    }
  });

  async function decide(body: { user: { id: string } }, approvalId: string, approve: boolean, respond: RespondFn): Promise<void> {
    const approval = approvals?.canDecide ? await approvals.get(approvalId) : undefined;
    if (!approvals || !approval) {
      await respond({ response_type: 'ephemeral', replace_original: false, text: `Approval ${approvalId} is unknown here.` });
      return;
    }
    const userId = body.user.id;
    const decider = { identity: `slack:${userId}` };
    // The guard enforces this too; asking first keeps the request's message intact for the approvers.
    if (!isListedApprover(approval.approvers ?? [], decider.identity)) {
      log.warn({ user: userId, approvalId }, 'refused an approval decision from a user who is not an approver');
      await respond({ response_type: 'ephemeral', replace_original: false, text: `You are not an approver for ${esc(approval.group)}; the request stays open for one who is.` });
      return;
    }
    let outcome: string;
    try {
      if (approve) {
        const result = await approvals.approve(approvalId, decider);
        if (result.status === 'approved') {
          outcome = result.sent ? ':white_check_mark: approved and sent.' : ':white_check_mark: approved; it will be sent shortly.';
        } else if (result.status === 'denied') {
          outcome = `:no_entry: approved, but the spend policy no longer allows it: ${esc(result.reasons.map((r) => r.message).join(' '))} Nothing was sent.`;
        } else {
          outcome = `:no_entry: ${esc(result.reason)}`;
        }
      } else {
        await approvals.deny(approvalId, decider);
        outcome = ':x: denied. Nothing was sent.';
      }
    } catch (error) {
      outcome = `:warning: ${esc(toGiftingError(error).message)}`;
    }
    await respond({ replace_original: true, ...decisionBlocks(approval, outcome, userId) });
  }

  app.action('approval.approve', async ({ ack, body, action, respond }) => {
    await ack();
    inBackground(decide(body as never, (action as { value: string }).value, true, respond));
  });
  app.action('approval.deny', async ({ ack, body, action, respond }) => {
    await ack();
    inBackground(decide(body as never, (action as { value: string }).value, false, respond));
  });
  app.error(async (error) => {
    log.error({ err: error }, 'Slack app error');
  });

  async function announceDeliveries(deliveries: readonly Delivery[]): Promise<number> {
    const poster = options.poster;
    if (!poster) return 0;
    let posted = 0;
    for (const d of deliveries) {
      if (!d.runId || !d.milestone) continue;
      const origin = await options.orchestrator.origin(d.runId);
      if (origin?.via !== 'slack' || typeof origin.channel !== 'string') continue;
      const who = typeof origin.user === 'string' ? `<@${origin.user}> ` : '';
      const text = `${d.milestone.problem ? ':warning:' : ':package:'} ${who}${esc(d.touchName)} for ${esc(d.recipient)}: ${d.milestone.words} (run ${d.runId}${d.trackingCode ? `, tracking ${esc(d.trackingCode)}` : ''}).`;
      try {
        await poster.post(origin.channel, { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] });
        posted += 1;
      } catch (error) {
        log.warn({ runId: d.runId, err: error }, 'could not tell Slack about a delivery');
      }
    }
    return posted;
  }

  return {
    handle: (request, response) => receiver.handle(request, response),
    announceApprovals,
    announceDeliveries,
  };
}
