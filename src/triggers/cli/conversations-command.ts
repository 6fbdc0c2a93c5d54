/**
 * @module `giftguard conversations list|show`: what the assistant was asked, what it did (each
 * tool call and what came back) and what it answered, read back from the stored transcript.
 */
import { Command, Option } from 'commander';
import { GiftingError } from '../../domain/index.js';
import type { Conversation } from '../agent/index.js';
import { terminalText } from '../escape.js';
import type { AppFactory } from './app.js';
import { oneLine, table, when } from './format.js';
import type { CliIo } from './io.js';
import { integer } from './options.js';

interface TranscriptMessage {
  readonly role: string;
  readonly content?: string | null;
  readonly tool_calls?: readonly { readonly function?: { readonly name: string; readonly arguments: string } }[];
}

/** The transcript as people read it: the question, each tool call with its arguments and result, the answer. */
function transcriptLines(conversation: Conversation): string[] {
  const lines: string[] = [];
  for (const raw of conversation.transcript as TranscriptMessage[]) {
    if (raw.role === 'system') continue;
    if (raw.role === 'user') lines.push(`You: ${raw.content ?? ''}`);
    else if (raw.role === 'assistant') {
      for (const call of raw.tool_calls ?? []) if (call.function) lines.push(`  → ${call.function.name} ${oneLine(call.function.arguments, 200)}`);
      if (raw.content) lines.push(`Assistant: ${raw.content}`);
    } else if (raw.role === 'tool') lines.push(`  ← ${oneLine(raw.content ?? '', 300)}`);
  }
  return lines.map(terminalText);
}

/** `giftguard conversations` */
export function conversationsCommand(io: CliIo, factory: AppFactory): Command {
  const command = new Command('conversations').description('What the assistant (giftguard ask, /gift ask) was asked, did and answered');
  command
    .command('list')
    .description('Recent conversations, newest first')
    .addOption(new Option('--limit <n>', 'how many').default(20).argParser(integer('--limit', 1, 10_000)))
    .option('--json', 'print JSON')
    .action(async (flags: { limit: number; json?: boolean }) => {
      const app = factory({ env: io.env });
      try {
        const rows = await (await app.conversations()).list(flags.limit);
        if (flags.json) {
          io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
          return;
        }
        io.stdout.write(
          rows.length === 0
            ? 'No conversations yet. Ask with: giftguard ask "…"\n'
            : table(
                ['ID', 'WHEN', 'WHO', 'RUNS', 'TOKENS', 'QUESTION', 'ANSWER'],
                rows.map((c) => [c.id, when(c.createdAt), c.requester, String(c.runIds.length), String(c.promptTokens + c.completionTokens), oneLine(c.question, 50), c.answer !== null ? oneLine(c.answer, 60) : c.failure !== null ? oneLine(`(failed: ${c.failure})`, 60) : '(no answer)']),
              ),
        );
      } finally {
        await app.close();
      }
    });
  command
    .command('show')
    .description('One conversation: the question, every tool call and result, the answer')
    .argument('<id>', 'the conversation id (ask_…)')
    .option('--json', 'print JSON, with the whole transcript')
    .action(async (id: string, flags: { json?: boolean }) => {
      const app = factory({ env: io.env });
      try {
        const conversation = await (await app.conversations()).get(id);
        if (!conversation) throw new GiftingError('not_found', `No conversation ${id}; see giftguard conversations list`);
        if (flags.json) {
          io.stdout.write(`${JSON.stringify(conversation, null, 2)}\n`);
          return;
        }
        io.stdout.write(
          [
            `Conversation ${conversation.id} — ${conversation.requester}, ${when(conversation.createdAt)}, model ${conversation.model}`,
            `Tokens: ${conversation.promptTokens} prompt + ${conversation.completionTokens} completion${conversation.runIds.length ? `; runs: ${conversation.runIds.join(', ')} (giftguard runs show ID)` : ''}`,
            '',
            ...transcriptLines(conversation),
            ...(conversation.answer === null ? ['', conversation.failure !== null ? `(It stopped without an answer: ${terminalText(conversation.failure)})` : '(It stopped without an answer.)'] : []),
            '',
          ].join('\n'),
        );
      } finally {
        await app.close();
      }
    });
  return command;
}
