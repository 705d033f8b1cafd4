/**
 * A Notification as a Discord webhook message, built only from @epochcast/notify's public
 * render kit (`headline`, `epochTable`, `trimStack`, `bestEpoch`, …):
 *
 * - start and epoch: `content` only — the headline, and for an epoch the table in a code block.
 * - end, error, interrupt: the headline as `content` (what the notification shows) and an embed
 *   with the summary: colour by outcome, fields (status, epochs, duration, best, final losses and
 *   metrics, stop reason, host…), the epoch table and, for a crash, the trimmed stack.
 *
 * Every part stays within Discord's limits (content 2000, title 256, description 4096, 25 fields
 * of name 256 / value 1024, footer 2048, 6000 characters of embed text in all), and
 * `allowed_mentions: { parse: [] }` means no run name or error message can ping anyone.
 */
import {
  bestEpoch,
  epochTable,
  formatDuration,
  formatLoss,
  formatMetric,
  headline,
  type Notification,
  notificationOutcome,
  type Outcome,
  trimStack,
} from '@epochcast/notify';

/** Discord's documented limits for a webhook message, in characters. */
export const DISCORD_LIMITS = {
  content: 2000,
  embeds: 10,
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  author: 256,
  /** Title, description, field names and values, footer and author of every embed together. */
  embedTotal: 6000,
} as const;

export interface DiscordEmbedField {
  name: string;
  value: string;
  inline?: boolean;
}

export interface DiscordEmbed {
  title?: string;
  description?: string;
  color?: number;
  fields?: DiscordEmbedField[];
  footer?: { text: string };
  /** ISO 8601. */
  timestamp?: string;
}

/** The JSON body of "Execute Webhook" that epochcast sends. */
export interface DiscordMessage {
  content: string;
  embeds?: DiscordEmbed[];
  username?: string;
  avatar_url?: string;
  /** `{ parse: [] }`: nothing in a message may mention @everyone, a role or a user. */
  allowed_mentions: { parse: string[] };
}

/** Embed colours by outcome. */
export const OUTCOME_COLOR: Readonly<Record<Outcome, number>> = {
  started: 0x5865f2,
  progress: 0x5865f2,
  completed: 0x2ecc71,
  stopped: 0x95a5a6,
  failed: 0xe74c3c,
  interrupted: 0xf39c12,
  alert: 0xe67e22,
};

const ELLIPSIS = '…';
const FENCE = '```';
/** "```\n" + "\n```". */
const FENCE_OVERHEAD = 8;
/** The epoch table's share of an epoch message. */
const EPOCH_TABLE_ROWS = 30;
const STACK_CHARS = 1500;

/** `s` cut to `max` characters, an ellipsis marking the cut. */
export function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  if (max <= 0) return '';
  let end = max - 1;
  // Never split a surrogate pair.
  const code = s.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${s.slice(0, end)}${ELLIPSIS}`;
}

/**
 * Discord markdown made literal: `\ * _ ~ \` | [ ]` anywhere, and `> # -` where they would start a
 * quote, a heading or a list.
 */
export function escapeDiscord(s: string): string {
  return s.replace(/[\\*_~`|[\]]/g, '\\$&').replace(/^([>#-])/gm, '\\$1');
}

/** `text` in a code block of at most `max` characters (whole lines dropped from the end first). */
export function codeBlock(text: string, max: number): string {
  const budget = max - FENCE_OVERHEAD;
  if (budget <= 0) return '';
  // A ``` inside would close the block: a zero-width space keeps it from being read as a fence.
  const safe = text.replaceAll(FENCE, '`\u200b``');
  return `${FENCE}\n${fitLines(safe, budget)}\n${FENCE}`;
}

function fitLines(text: string, max: number): string {
  if (text.length <= max) return text;
  const lines = text.split('\n');
  const kept: string[] = [];
  let length = 0;
  for (const line of lines) {
    const next = length + (kept.length > 0 ? 1 : 0) + line.length;
    if (next > max - 2) break;
    kept.push(line);
    length = next;
  }
  return kept.length > 0 ? `${kept.join('\n')}\n${ELLIPSIS}` : cut(text, max);
}

/** The message for one notification. */
export function renderDiscord(n: Notification): DiscordMessage {
  const head = escapeDiscord(headline(n, { maxLength: DISCORD_LIMITS.content - 50 }));
  const message: DiscordMessage = { content: head, allowed_mentions: { parse: [] } };
  if (n.event === 'start') return message;
  if (n.event === 'epoch') {
    if (n.history.length > 0) {
      const room = DISCORD_LIMITS.content - head.length - 1;
      const table = epochTable(n.history, n.metricNames, { maxRows: EPOCH_TABLE_ROWS, maxChars: room - FENCE_OVERHEAD });
      const block = codeBlock(table, room);
      if (block) message.content = `${head}\n${block}`;
    }
    return message;
  }
  message.embeds = [summaryEmbed(n)];
  return message;
}

/** The summary embed of an end, error or interrupt message. */
export function summaryEmbed(n: Notification): DiscordEmbed {
  const outcome = notificationOutcome(n);
  const title = cut(headline(n, { emoji: false, maxLength: DISCORD_LIMITS.title }), DISCORD_LIMITS.title);
  const fields = summaryFields(n, outcome);
  const footer = { text: cut(`epochcast · run ${n.run.id} · ${n.run.host}`, DISCORD_LIMITS.footer) };
  const used = title.length + footer.text.length + fields.reduce((sum, f) => sum + f.name.length + f.value.length, 0);
  const room = Math.min(DISCORD_LIMITS.description, DISCORD_LIMITS.embedTotal - used);
  const embed: DiscordEmbed = {
    title,
    color: OUTCOME_COLOR[outcome],
    fields,
    footer,
    timestamp: new Date(n.run.startedAt + n.durationMs).toISOString(),
  };
  const description = summaryDescription(n, room);
  if (description) embed.description = description;
  return embed;
}

function summaryFields(n: Notification, outcome: Outcome): DiscordEmbedField[] {
  const fields: DiscordEmbedField[] = [];
  const add = (name: string, value: string, inline = true) => {
    if (value === '' || fields.length >= DISCORD_LIMITS.fields) return;
    fields.push({ name: cut(name, DISCORD_LIMITS.fieldName), value: cut(value, DISCORD_LIMITS.fieldValue), inline });
  };
  add('Status', outcome);
  add('Epochs', `${n.history.length}/${n.run.totalEpochs}`);
  add('Duration', formatDuration(n.durationMs));
  const best = bestEpoch(n.history, n.metricNames);
  if (best) add('Best', `${escapeDiscord(best.name)} ${formatMetric(best.name, best.value)} (epoch ${best.epoch + 1})`);
  const last = n.stats ?? n.history.at(-1);
  if (last) {
    add('train_loss', formatLoss(last.trainLoss));
    add('valid_loss', formatLoss(last.validLoss));
    // Room is kept for the fields below: at most 12 metrics.
    for (const name of n.metricNames.slice(0, 12)) {
      const value = last.metrics[name];
      if (value !== undefined) add(name, formatMetric(name, value));
    }
  }
  if (n.stopReason) add('Reason', escapeDiscord(n.stopReason), false);
  if (n.error) add('Error', escapeDiscord(`${n.error.name}: ${n.error.message}`), false);
  add('Run', escapeDiscord(`${n.run.name} (${n.run.id})`));
  add('Host', escapeDiscord(n.run.host));
  if (n.run.backend) add('Backend', n.run.backend);
  if (n.run.schedule) add('Schedule', escapeDiscord(n.run.schedule), false);
  return fields;
}

function summaryDescription(n: Notification, room: number): string {
  const parts: string[] = [];
  let left = room;
  if (n.error?.stack && left > FENCE_OVERHEAD + 40) {
    // The stack goes first in the budget: it says what broke; the table is in the fields too.
    const stack = codeBlock(
      trimStack(n.error.stack, Math.min(STACK_CHARS, left - FENCE_OVERHEAD)),
      Math.min(STACK_CHARS + FENCE_OVERHEAD, left),
    );
    if (stack) {
      parts.push(stack);
      left -= stack.length + 1;
    }
  }
  if (n.history.length > 0 && left > FENCE_OVERHEAD + 40) {
    const table = codeBlock(epochTable(n.history, n.metricNames, { maxRows: EPOCH_TABLE_ROWS, maxChars: left - FENCE_OVERHEAD }), left);
    if (table) parts.unshift(table);
  }
  return parts.join('\n');
}

/** The characters of embed text Discord counts against its 6000 total. */
export function embedLength(embed: DiscordEmbed): number {
  return (
    (embed.title?.length ?? 0) +
    (embed.description?.length ?? 0) +
    (embed.footer?.text.length ?? 0) +
    (embed.fields ?? []).reduce((sum, f) => sum + f.name.length + f.value.length, 0)
  );
}
