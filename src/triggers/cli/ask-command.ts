/**
 * @module `giftguard ask "…"`: the natural-language agent from the command line.
 */
import { Command } from 'commander';
import type { AppFactory } from './app.js';
import type { CliIo } from './io.js';

export function askCommand(io: CliIo, factory: AppFactory): Command {
  return new Command('ask')
    .description('Ask the gifting assistant in plain words (OpenAI or any OpenAI-compatible server)')
    .argument('<words...>', 'what you want, e.g. "check the New Hires Q3 group got their Welcome Swag Box"')
    .option('--json', 'print JSON (answer, runs, conversation id, tokens)')
    .addHelpText('after', '\nNeeds OPENAI_API_KEY, or OPENAI_BASE_URL for a compatible server; OPENAI_MODEL picks the model.')
    .action(async (words: string[], flags: { json?: boolean }) => {
      const app = factory({ env: io.env });
      try {
        // Configuration first: a missing key should not wait for a Sendoso connection.
        const { AgentFailedError, openAiClient } = await import('../agent/index.js');
        openAiClient({ apiKey: app.config.openAiApiKey, baseUrl: app.config.openAiBaseUrl, model: app.config.openAiModel, maxSteps: app.config.agentMaxSteps });
        const connection = await app.connectSendoso({ sandboxPort: 0 });
        const run = await app.agent(connection);
        const answer = await run(words.join(' '), { via: 'cli', id: app.config.operator, maySend: () => true }).catch((error: unknown) => {
          // A script reading --json gets JSON either way; the error itself still sets the exit code.
          if (error instanceof AgentFailedError) {
            if (flags.json) {
              const failed = { conversationId: error.conversationId, error: { code: error.code, message: error.message, retryable: error.retryable } };
              io.stdout.write(`${JSON.stringify(failed, null, 2)}\n`);
            } else io.stderr.write(`What it did until then: giftguard conversations show ${error.conversationId}\n`);
          }
          throw error;
        });
        if (flags.json) io.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
        else io.stdout.write(`${answer.answer}\n${answer.runIds.length ? `\n(runs: ${answer.runIds.join(', ')}; conversation ${answer.conversationId})\n` : ''}`);
      } finally {
        await app.close();
      }
    });
}
