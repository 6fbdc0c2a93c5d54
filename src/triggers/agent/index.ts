/** @module The natural-language agent. */
export { AgentFailedError, ask, agentRunner, openAiClient } from './agent.js';
export type { AgentAnswer, AgentSettings } from './agent.js';
export { agentToolbox } from './agent-tools.js';
export type { AgentRequester, AgentToolDeps, AgentToolbox } from './agent-tools.js';
export { SqliteConversationStore } from './conversation-store.js';
export type { Conversation, ConversationStore, ConversationUpdate } from './conversation-store.js';
export { PgConversationStore } from './pg-conversation-store.js';
