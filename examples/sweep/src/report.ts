// What the sweep printed and measured, from the testkit servers' records: the chat and the channel
// as their users see them, and the facts a sweep on one bot and one channel must keep to (the
// shared ~1 message/s, one getUpdates poller, each command answered by the run it named).
import { type SlackCall, type SlackServer, slotLateness, type TelegramCall, type TelegramServer, type TgMessage } from '@epochcast/testkit';
import type { RunOutcome } from './sweep.js';
import { buttonsOf } from './user.js';

// ---- rates ---------------------------------------------------------------------------------------

export interface RateStats {
  count: number;
  /** Most arrivals in any window of `windowMs` (half-open: two arrivals exactly 1 s apart are in different windows). */
  maxInWindow: number;
  /** Least gap between two consecutive arrivals, ms (Infinity with fewer than two). */
  minGapMs: number;
  /** Arrivals per second between the first and the last. */
  meanPerSec: number;
  /**
   * With `slotMs`: how late into their slots the arrivals must have been, at least, if each had a
   * slot of its own `slotMs` after the one before — the largest (j − i) × slotMs − (t_j − t_i). Two
   * arrivals in one slot make it a whole slot or more.
   */
  slotLatenessMs?: number;
}

export function rateStats(times: readonly number[], windowMs = 1000, slotMs?: number): RateStats {
  const t = [...times].sort((a, b) => a - b);
  let maxInWindow = 0;
  let minGapMs = Number.POSITIVE_INFINITY;
  for (let i = 0, j = 0; i < t.length; i++) {
    while ((t[i] as number) - (t[j] as number) >= windowMs) j++;
    maxInWindow = Math.max(maxInWindow, i - j + 1);
    if (i > 0) minGapMs = Math.min(minGapMs, (t[i] as number) - (t[i - 1] as number));
  }
  const span = t.length > 1 ? ((t.at(-1) as number) - (t[0] as number)) / 1000 : 0;
  const stats: RateStats = { count: t.length, maxInWindow, minGapMs, meanPerSec: span > 0 ? (t.length - 1) / span : 0 };
  if (slotMs !== undefined) stats.slotLatenessMs = slotLateness(t, slotMs);
  return stats;
}

/** Calls that post to or change a chat: what Telegram's ~1 per second per chat counts. */
export function telegramChatWrites(server: TelegramServer, chatId: number): TelegramCall[] {
  return server.received.filter((c) => /^(send|edit|copy|forward)/i.test(c.method) && String(c.params.chat_id) === String(chatId));
}

/** getUpdates answered 409 Conflict: two pollers on one bot at once. */
export function conflicts(server: TelegramServer): number {
  return server.received.filter((c) => /^getUpdates$/i.test(c.method) && c.status === 409).length;
}

/**
 * Arrival times of the Slack calls that post a message (`chat.postMessage`), and of all that post
 * or change one (with `chat.update` and the plot's `files.completeUploadExternal`). The sweep's
 * server holds one channel, so every such call is to it.
 */
export function slackWrites(server: SlackServer): { posts: SlackCall[]; all: SlackCall[] } {
  const all = server.received.filter((c) => ['chat.postMessage', 'chat.update', 'files.completeUploadExternal'].includes(c.method));
  return { posts: all.filter((c) => c.method === 'chat.postMessage'), all };
}

/** A call as the closest-pair report names it: when it arrived and what it was. */
export interface Stamped {
  at: number;
  label: string;
}

/** The two consecutive arrivals closest together, to say which sends broke a pace. */
export function closestPair(calls: readonly Stamped[]): [Stamped, Stamped] | undefined {
  const sorted = [...calls].sort((a, b) => a.at - b.at);
  let best: [Stamped, Stamped] | undefined;
  for (let i = 1; i < sorted.length; i++) {
    const pair: [Stamped, Stamped] = [sorted[i - 1] as Stamped, sorted[i] as Stamped];
    if (!best || pair[1].at - pair[0].at < best[1].at - best[0].at) best = pair;
  }
  return best;
}

/** The busiest window of `windowMs`: its calls. */
export function busiestWindow(calls: readonly Stamped[], windowMs = 1000): Stamped[] {
  const sorted = [...calls].sort((a, b) => a.at - b.at);
  let best: Stamped[] = [];
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[i] as Stamped).at - (sorted[j] as Stamped).at >= windowMs) j++;
    if (i - j + 1 > best.length) best = sorted.slice(j, i + 1);
  }
  return best;
}

/**
 * Time during which some run was training but no run polled Telegram (so commands waited), from
 * the runs' own records: their fits' start and end, and when each was the poller (sampled every
 * 25 ms). The first `graceMs` after the first fit begins is left out: the first election takes a moment.
 */
export function pollGaps(outcomes: readonly RunOutcome[], graceMs = 1000, stepMs = 20): { totalMs: number; longestMs: number } {
  const results = outcomes.flatMap((o) => (o.result && o.result.fitEndedAt > 0 ? [o.result] : []));
  if (results.length === 0) return { totalMs: 0, longestMs: 0 };
  const from = Math.min(...results.map((r) => r.fitStartedAt)) + graceMs;
  const to = Math.max(...results.map((r) => r.fitEndedAt));
  const led = results.flatMap((r) => r.ledCommands);
  let totalMs = 0;
  let longestMs = 0;
  let current = 0;
  for (let t = from; t < to; t += stepMs) {
    const training = results.some((r) => r.fitStartedAt <= t && t < r.fitEndedAt);
    const polled = led.some((l) => l.from <= t && t < l.to);
    if (training && !polled) {
      totalMs += stepMs;
      current += stepMs;
      longestMs = Math.max(longestMs, current);
    } else current = 0;
  }
  return { totalMs, longestMs };
}

// ---- routing: which run answered which command ------------------------------------------------

/** A run as the messages name it: `lr=3e-2 (4f0c2a1b)`. */
export interface NamedRun {
  name: string;
  id: string;
}

/** What the user sent and how: `via` is the run picker message the command went through, if any. */
export interface Exchange {
  command: string;
  messageId: number;
  sentAt: number;
  /** The run the user meant (named, or pressed in the picker); undefined for /runs and /help. */
  meant?: NamedRun;
  /** The keyboard message when the user picked the run with a button. */
  via?: TgMessage;
}

export interface Routed {
  exchange: Exchange;
  /** The bot's answers: to the command, and to the picker it went through. */
  replies: string[];
  /** Runs named in the answers (the run answering names itself). */
  answeredBy: NamedRun[];
  /** The answer names the run meant, and no other. */
  correct: boolean | undefined;
}

/** The sendMessage calls answering message `messageId` (their `reply_parameters`), in arrival order. */
export function repliesTo(server: TelegramServer, chatId: number, messageId: number): TelegramCall[] {
  return server.received.filter(
    (c) =>
      /^sendMessage$/i.test(c.method) &&
      c.status === 200 &&
      String(c.params.chat_id) === String(chatId) &&
      replyTarget(c.params.reply_parameters) === messageId,
  );
}

function replyTarget(raw: unknown): number | undefined {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      return undefined;
    }
  }
  const id = (value as { message_id?: unknown } | undefined)?.message_id;
  return id === undefined ? undefined : Number(id);
}

export function route(server: TelegramServer, chatId: number, exchange: Exchange, runs: readonly NamedRun[]): Routed {
  const calls = [
    ...repliesTo(server, chatId, exchange.messageId),
    ...(exchange.via ? repliesTo(server, chatId, exchange.via.message_id) : []),
  ];
  // The picker names every run on its buttons, not in its text: only the answers count.
  const replies = calls.map((c) => String(c.params.text ?? '')).filter((text) => !/which one\?/.test(text));
  const answeredBy = runs.filter((r) => replies.some((text) => text.includes(r.id)));
  const meant = exchange.meant;
  const correct = meant ? answeredBy.length === 1 && answeredBy[0]?.id === meant.id : undefined;
  return { exchange, replies, answeredBy, correct };
}

// ---- what the user sees ------------------------------------------------------------------------

/**
 * The chat as a phone shows it (examples/telegram's transcript, made compact for several runs):
 * each message in its current state, who sent it, how often it was edited, photos, buttons. Blank
 * lines are left out, and a message longer than `maxLines` shows its first `cutTo` lines.
 */
export function chatTranscript(server: TelegramServer, chatId: number, maxLines = 7, cutTo = 3): string {
  const edits = new Map<number, number>();
  for (const call of server.received) {
    if (!/^editMessageText$/i.test(call.method) || call.status !== 200 || String(call.params.chat_id) !== String(chatId)) continue;
    const id = Number(call.params.message_id);
    edits.set(id, (edits.get(id) ?? 0) + 1);
  }
  return server
    .messages(chatId)
    .map((m) => chatEntry(m, edits.get(m.message_id) ?? 0, maxLines, cutTo))
    .join('\n');
}

function chatEntry(m: TgMessage, edits: number, maxLines: number, cutTo: number): string {
  const who = m.from?.is_bot ? '🤖' : '👤';
  const notes = [edits > 0 ? `edited ${edits}×` : '', m.photo ? `photo ${m.photo[0]?.width}×${m.photo[0]?.height}` : '']
    .filter(Boolean)
    .join(', ');
  const lines = (m.text ?? m.caption ?? '').split('\n').filter((l) => l.trim() !== '');
  const shown = lines.length > maxLines ? lines.slice(0, cutTo) : lines;
  const hidden = lines.length - shown.length;
  if (hidden > 0) shown.push(`… (${hidden} more line${hidden === 1 ? '' : 's'})`);
  const buttons = buttonsOf(m).map((b) => `[ ${b.text} ]`);
  const body = [...shown, ...(buttons.length ? [buttons.join(' ')] : [])];
  return `${who}${notes ? ` (${notes})` : ''} ${body.join('\n   ')}`;
}

/** The channel as Slack shows it: one line per run message (its current state), its thread's replies under it. */
export function channelSummary(server: SlackServer, channel: string): string {
  const messages = server.messages(channel);
  const first = (text: string) => {
    const line = text.split('\n')[0] ?? '';
    return line.length > 110 ? `${line.slice(0, 109)}…` : line;
  };
  const out: string[] = [];
  for (const parent of messages.filter((m) => !m.thread_ts)) {
    out.push(`● ${parent.edited ? '(edited) ' : ''}${first(parent.text)}`);
    for (const reply of messages.filter((m) => m.thread_ts === parent.ts)) {
      if (reply.files?.length) out.push(`    └ 📎 ${reply.files.map((f) => f.name).join(', ')}`);
      else out.push(`    └ ${reply.reply_broadcast ? '[also sent to the channel] ' : ''}${first(reply.text)}`);
    }
  }
  return out.join('\n');
}

/** Top-level messages of the channel (one per run) and their replies. */
export function threads(server: SlackServer, channel: string): { parent: string; replies: number }[] {
  const messages = server.messages(channel);
  return messages
    .filter((m) => !m.thread_ts)
    .map((p) => ({ parent: p.text, replies: messages.filter((m) => m.thread_ts === p.ts).length }));
}

// ---- the results table -------------------------------------------------------------------------

export function resultsTable(outcomes: readonly RunOutcome[]): string {
  const loss = (o: RunOutcome) => o.result?.validLoss ?? Number.NaN;
  const finite = outcomes.filter((o) => Number.isFinite(loss(o)));
  const best = finite.reduce<RunOutcome | undefined>((b, o) => (b === undefined || loss(o) < loss(b) ? o : b), undefined);
  const rows = outcomes.map((o) => {
    const r = o.result;
    return [
      o.spec.name,
      String(o.spec.lrMax),
      r ? fmt(r.validLoss, 4) : '–',
      r ? `${fmt(r.accuracy * 100, 2)}%` : '–',
      r ? `${fmt(r.trainMs / 1000, 1)} s` : '–',
      `${fmt(o.wallMs / 1000, 1)} s`,
      r ? r.status : `exit ${o.code ?? o.signal}`,
      o === best ? '← best' : '',
    ];
  });
  return table(['run', 'lrMax', 'valid_loss', 'accuracy', 'train', 'process', 'status', ''], rows);
}

/** A plain-text table, numbers right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = header.map(
    (_, i) => rows.length > 0 && rows.every((r) => /^[-–0-9.,%s /]*$/.test(r[i] ?? '') && /\d|–/.test(r[i] ?? '')),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function fmt(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '–';
}
