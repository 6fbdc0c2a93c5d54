/** @module The natural-language agent over a connection, for every trigger (CLI, Slack). */
import type { AskAgent, App, SendosoConnection } from '../triggers/index.js';
import { layer } from './layers.js';

export async function agentFor(app: App, connection: SendosoConnection): Promise<AskAgent> {
  const { agentRunner, agentToolbox, openAiClient } = await layer('agent');
  const settings = { apiKey: app.config.openAiApiKey, baseUrl: app.config.openAiBaseUrl, model: app.config.openAiModel, maxSteps: app.config.agentMaxSteps };
  const client = openAiClient(settings);
  const { orchestrator, tools } = await app.orchestration(connection);
  // Read-only to the agent: a person decides approvals (Slack, the CLI).
  const approvals = (await app.policy()) ? app.approvals(connection) : undefined;
  return agentRunner({
    client,
    settings,
    toolboxFor: (requester) =>
      agentToolbox({ catalogue: app.tools, tools, orchestrator, runs: app.runs(), approvals, requester, maxSends: app.config.agentMaxSends, now: () => app.clock.now() }),
    store: await app.conversations(),
    clock: app.clock,
    logger: app.logger,
  });
}
