/** Sweep runs as child processes, and what the chat and the channel saw of them. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SlackServer, slotLateness, type TelegramServer, type TgMessage } from '@epochcast/testkit';
import { expect } from 'vitest';

export const CHAT = 4242;
export const CHANNEL = '#sweep';

export interface RunLine {
  event: 'epoch' | 'done';
  name: string;
  epoch?: number;
  lr?: number;
  polling?: boolean;
  status?: string;
  stopReason?: string | null;
}

/** A file whose existence tells the runs to finish their remaining epochs at full speed. */
export async function finishSignal(): Promise<{ path: string; finish(): Promise<void>; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'epochcast-sweep-'));
  const file = path.join(dir, 'finish');
  return {
    path: file,
    finish: () => writeFile(file, ''),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface SweepChild {
  name: string;
  process: ChildProcess;
  lines: RunLine[];
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The newest epoch line, if any. */
  latest(): RunLine | undefined;
}

export function startRun(name: string, env: Record<string, string>): SweepChild {
  const script = fileURLToPath(new URL('./fixtures/sweep-run.mjs', import.meta.url));
  const child = spawn(process.execPath, [script], {
    // A clean environment: the parent's vitest env may carry EPOCHCAST_DISABLE or service settings.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', RUN_NAME: name, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: RunLine[] = [];
  let buffer = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    for (const part of parts) if (part.startsWith('{')) lines.push(JSON.parse(part) as RunLine);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    name,
    process: child,
    lines,
    stderr: () => stderr,
    exited,
    latest: () => lines.filter((l) => l.event === 'epoch').at(-1),
  };
}

export function telegramEnv(server: TelegramServer): Record<string, string> {
  return { TELEGRAM_BOT_TOKEN: server.token, TELEGRAM_CHAT_ID: String(CHAT), TELEGRAM_API_ROOT: server.url };
}

export function slackEnv(server: SlackServer): Record<string, string> {
  return { SLACK_BOT_TOKEN: server.token, SLACK_CHANNEL: CHANNEL, SLACK_API_URL: server.apiUrl };
}

export async function until<T>(probe: () => T | undefined | false, what: string, timeoutMs = 15_000, detail?: () => string): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (performance.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail ? `\n${detail()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The bot's messages in the chat that answer `command` (a reply to it). */
export function repliesTo(server: TelegramServer, command: TgMessage): TgMessage[] {
  return server.messages(CHAT).filter((m) => m.from?.is_bot && m.reply_to_message?.message_id === command.message_id);
}

/** The run ids the start messages announced, by run name (`sweep-a (1a2b3c4d)`). */
export function runIds(server: TelegramServer, names: readonly string[]): Map<string, string> {
  const ids = new Map<string, string>();
  for (const m of server.messages(CHAT)) {
    const text = m.text ?? '';
    for (const name of names) {
      const match = new RegExp(`${name} \\(([0-9a-f]{8})\\)`).exec(text);
      if (match?.[1] && !ids.has(name)) ids.set(name, match[1]);
    }
  }
  return ids;
}

/** Most posts that arrived within any `windowMs` (a sliding window over arrival times). */
export function maxInWindow(times: readonly number[], windowMs = 1000): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[i] ?? 0) - (sorted[j] ?? 0) >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

/** Arrival times as gaps from the first, for a failure message. */
export function timeline(times: readonly number[]): string {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted.map((t) => Math.round(t - (sorted[0] ?? 0))).join(' ');
}

type Keyboard = { inline_keyboard: { text: string; callback_data: string }[][] };

/** The buttons of a message's inline keyboard, row after row. */
export function keyboard(m: TgMessage | undefined): { text: string; callback_data: string }[] {
  return ((m?.reply_markup as Keyboard | undefined)?.inline_keyboard ?? []).flat();
}

export function text(m: TgMessage | undefined): string {
  return m?.text ?? m?.caption ?? '';
}

/** Sends `command` from the chat and waits for the bot's replies to it. */
export async function ask(tg: TelegramServer, command: string, what: string, count = 1, timeoutMs = 15_000): Promise<TgMessage[]> {
  const asked = tg.pushUpdate({ chatId: CHAT, text: command }).message as TgMessage;
  return until(
    () => {
      const replies = repliesTo(tg, asked);
      return replies.length >= count && replies;
    },
    what,
    timeoutMs,
  );
}

/** Each child's latest line and the end of its stderr: what a failed wait shows. */
export function describeRuns(children: readonly SweepChild[]): string {
  return children.map((c) => `${c.name}: ${JSON.stringify(c.lines.at(-1))}\n${c.stderr().slice(-400)}`).join('\n');
}

/** The running children whose latest epoch line says they poll Telegram. */
export function pollers(children: readonly SweepChild[]): SweepChild[] {
  return children.filter((c) => c.process.exitCode === null && c.process.signalCode === null && c.latest()?.polling);
}

/** Slack's pace per channel, as SlackCallback books it on the shared budget. */
export const SLACK_SLOT_MS = 1050;

/**
 * The channel got about one post per second, as one shared budget for all the runs: each post in a
 * slot of its own (`slotLateness` at most half a slot: a busy process may send late into its own
 * slot — up to 275 ms was seen on a loaded CI run — but a post that took another's is a whole slot
 * late), and never more than 5 posts in a burst. The burst window is the one those slots allow: a
 * post up to half a slot late can fall within 5 slots − ½ slot of the 5th slot after it, so a window
 * of exactly 5 s could hold 6 posts with every one in its own slot; 4.7 s holds at most 5.
 */
export function expectOnePostPerSlot(posts: readonly number[]): void {
  expect(slotLateness(posts, SLACK_SLOT_MS), timeline(posts)).toBeLessThanOrEqual(SLACK_SLOT_MS / 2);
  expect(maxInWindow(posts, 5 * SLACK_SLOT_MS - SLACK_SLOT_MS / 2 - 1), timeline(posts)).toBeLessThanOrEqual(5);
}
