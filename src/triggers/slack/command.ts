/**
 * @module Parses `/gift` text: `abm group:"Enterprise Sales" campaign:"Executive Whiskey Set"
 * to:"Sarah Connor <sarah@cyberdyne.example>"`, `audit group:"New Hires Q3" campaign:"Welcome Swag
 * Box"`, `ask <words>`, `help`, and `batch` (which stays on the command line).
 */

export type GiftCommand =
  | { readonly kind: 'abm'; readonly group: string; readonly campaign: string; readonly name: string; readonly email: string; readonly message?: string | undefined }
  | { readonly kind: 'audit'; readonly group: string; readonly campaign: string; readonly sinceDays?: number | undefined }
  | { readonly kind: 'ask'; readonly question: string }
  | { readonly kind: 'help' }
  | { readonly kind: 'batch' }
  | { readonly kind: 'invalid'; readonly message: string };

const PAIR = /(\w+):(?:"([^"]*)"|“([^”]*)”|(\S+))/g;

function pairs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const match of text.matchAll(PAIR)) out[match[1]!.toLowerCase()] = (match[2] ?? match[3] ?? match[4] ?? '').trim();
  return out;
}

/**
 * "Sarah Connor <sarah@x.com>", "Sarah Connor sarah@x.com" or a bare address; Slack may have
 * turned the address into a link, "<mailto:sarah@x.com|sarah@x.com>", which is undone first.
 */
export function parseRecipient(value: string): { name: string; email: string } | undefined {
  const unlinked = value.replace(/<mailto:([^|>]+)\|[^>]+>/g, '$1').trim();
  const match = /^(.*?)\s*<?\s*([^<>\s@]+@[^<>\s@]+\.[^<>\s@]+)\s*>?$/.exec(unlinked);
  if (!match) return undefined;
  const email = match[2]!;
  return { name: match[1]!.trim() || email.split('@')[0]!, email };
}

export function parseGiftCommand(text: string): GiftCommand {
  const trimmed = text.trim();
  const [verb = ''] = trimmed.split(/\s+/);
  const remainder = trimmed.slice(verb.length).trim();
  switch (verb.toLowerCase()) {
    case '':
    case 'help':
      return { kind: 'help' };
    case 'batch':
      return { kind: 'batch' };
    case 'ask':
      return remainder ? { kind: 'ask', question: remainder } : { kind: 'invalid', message: 'Ask what? For example: /gift ask check the New Hires Q3 group got their Welcome Swag Box' };
    case 'abm': {
      const p = pairs(remainder);
      const missing = ['group', 'campaign', 'to'].filter((k) => !p[k]);
      if (missing.length > 0) return { kind: 'invalid', message: `Missing ${missing.map((m) => `${m}:"…"`).join(', ')}. Example: /gift abm group:"Enterprise Sales" campaign:"Executive Whiskey Set" to:"Sarah Connor <sarah@cyberdyne.example>"` };
      const recipient = parseRecipient(p.to!);
      if (!recipient) return { kind: 'invalid', message: `to: needs a name and an email, like to:"Sarah Connor <sarah@cyberdyne.example>" (got "${p.to}").` };
      return { kind: 'abm', group: p.group!, campaign: p.campaign!, ...recipient, ...(p.message && { message: p.message }) };
    }
    case 'audit': {
      const p = pairs(remainder);
      const missing = ['group', 'campaign'].filter((k) => !p[k]);
      if (missing.length > 0) return { kind: 'invalid', message: `Missing ${missing.map((m) => `${m}:"…"`).join(', ')}. Example: /gift audit group:"New Hires Q3" campaign:"Welcome Swag Box"` };
      const since = p.since ? /^(\d+)d?$/.exec(p.since) : null;
      return { kind: 'audit', group: p.group!, campaign: p.campaign!, ...(since && { sinceDays: Number(since[1]) }) };
    }
    default:
      return { kind: 'invalid', message: `Unknown command "${verb}". Try /gift help.` };
  }
}

export const HELP_TEXT = [
  '*giftguard* — sends go through the spend policy; nothing spends around it.',
  '• `/gift abm group:"Enterprise Sales" campaign:"Executive Whiskey Set" to:"Sarah Connor <sarah@cyberdyne.example>"` — a physical gift; the recipient confirms their address by email',
  '• `/gift audit group:"New Hires Q3" campaign:"Welcome Swag Box"` — who in a group got a campaign, who is missing',
  '• `/gift ask <anything>` — ask the assistant in plain words',
  '• CSV batches run from the command line: `giftguard run batch --csv attendees.csv …`',
].join('\n');
