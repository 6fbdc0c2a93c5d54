/**
 * @module The layers, loaded when a command runs rather than when the CLI starts: `--help` needs
 * none of them, and a command loads only the heavy ones it uses — the MCP SDK (tools,
 * orchestrator), xstate (orchestrator), ioredis (sendoso), Slack Bolt (schedule, slack), Svix
 * (webhooks) and OpenAI (agent); the web console (console) is light but only serve and `giftguard console` use it. The App's async parts load what they need themselves; its
 * synchronous ones use layers `prepareApp` loaded before the command's action (with the parts
 * src/triggers/cli/program.ts says the command uses). Triggers are reached through their own
 * barrels: the triggers barrel would load all of them.
 */
const layerModules = {
  config: () => import('../config/index.js'),
  log: () => import('../log/index.js'),
  storage: () => import('../storage/index.js'),
  guard: () => import('../guard/index.js'),
  sendoso: () => import('../sendoso/index.js'),
  sandbox: () => import('../sandbox/index.js'),
  tools: () => import('../tools/index.js'),
  orchestrator: () => import('../orchestrator/index.js'),
  cli: () => import('../triggers/cli/index.js'),
  http: () => import('../triggers/http/index.js'),
  schedule: () => import('../triggers/schedule/index.js'),
  slack: () => import('../triggers/slack/index.js'),
  webhooks: () => import('../triggers/webhooks/index.js'),
  agent: () => import('../triggers/agent/index.js'),
  console: () => import('../triggers/console/index.js'),
};
type Layers = { [K in keyof typeof layerModules]: Awaited<ReturnType<(typeof layerModules)[K]>> };
export type LayerName = keyof Layers;
const loadedLayers: Partial<Layers> = {};

/** Loads a layer, once, and keeps it for the synchronous parts of the App. */
export async function layer<K extends LayerName>(name: K): Promise<Layers[K]> {
  const loaded = loadedLayers[name] ?? ((await layerModules[name]()) as Layers[K]);
  loadedLayers[name] = loaded;
  return loaded;
}

/** A layer a synchronous part of the App uses; it was loaded before the command's action ran. */
export function ready<K extends LayerName>(name: K): Layers[K] {
  const loaded = loadedLayers[name];
  if (!loaded) throw new Error(`giftguard: the ${name} layer is used before it was loaded; list it for this command in src/triggers/cli/program.ts (APP_PARTS)`);
  return loaded;
}

/** What every App is built on: configuration, logging, storage, policies and the ledger. */
const BASE_LAYERS = ['config', 'log', 'storage', 'guard'] as const;

/** Loads the base of the App and the parts a command uses, before its action runs. */
export async function prepareApp(parts: readonly LayerName[]): Promise<void> {
  await Promise.all([...BASE_LAYERS, ...parts].map((name) => layer(name)));
}
