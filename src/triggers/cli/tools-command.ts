/**
 * @module `giftguard tools`: what the catalogue generates, as a table, as MCP tool definitions,
 * or in OpenAI's strict function-calling form.
 */
import { Command } from 'commander';
import type { AppFactory } from './app.js';
import { list, table } from './format.js';
import type { CliIo } from './io.js';

export function toolsCommand(io: CliIo, factory: AppFactory): Command {
  return new Command('tools')
    .description('List the tools generated from the Sendoso catalogue')
    .option('--methods <list>', 'read, write, custom or exact names (default: all)')
    .option('--tags <list>', 'only tools with one of these tags')
    .option('--json', 'print MCP tool definitions (name, description, inputSchema, outputSchema, annotations)')
    .option('--openai', 'print the tools in OpenAI strict function-calling form')
    .action(async (flags: { methods?: string; tags?: string; json?: boolean; openai?: boolean }) => {
      const app = factory({ env: io.env });
      try {
        const { assertUsableScope, toOpenAiTool } = await import('../../tools/index.js');
        const tools = assertUsableScope(app.tools, { methods: list(flags.methods), tags: list(flags.tags) });
        if (flags.openai) {
          io.stdout.write(`${JSON.stringify(tools.map(toOpenAiTool), null, 2)}\n`);
        } else if (flags.json) {
          const definitions = tools.map(({ name, title, description, inputSchema, outputSchema, annotations }) => ({ name, title, description, inputSchema, outputSchema, annotations }));
          io.stdout.write(`${JSON.stringify(definitions, null, 2)}\n`);
        } else {
          io.stdout.write(
            table(
              ['TOOL', 'METHOD', 'TAGS', 'SPENDS', 'HTTP'],
              tools.map((t) => [t.name, t.method, t.tags.join(','), t.spend ? 'yes' : '-', t.route]),
            ),
          );
        }
      } finally {
        await app.close();
      }
    });
}
