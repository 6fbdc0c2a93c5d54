/** @module The natural-language agent. */
export { AgentFailedError, ask, agentRunner, openAiClient } from './agent.js';
export type { AgentAnswer, AgentSettings } from './agent.js';
export { agentToolbox } from './agent-tools.js';
export type { AgentRequester, AgentToolDeps, AgentToolbox } from './agent-tools.js';
export { ConversationStore } from './conversation-store.js';
export type { Conversation } from './conversation-store.js';
