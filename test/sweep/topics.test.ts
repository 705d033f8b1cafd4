// Issue 17: a sweep of two processes on one bot, in a forum group, each run in a topic of its own.
// Whichever process polls, a command sent in a run's topic reaches that run — the topic travels
// with the run's registration, not in the poller's memory — and is answered in the topic.
import { startTelegramServer, type TelegramServer, type TgMessage } from '@epochcast/testkit';
import { afterEach, expect, test } from 'vitest';
import { describeRuns, finishSignal, keyboard, pollers, type SweepChild, startRun, telegramEnv, text, until } from './helpers.js';

const FORUM = -1001234567890;
const NAMES = ['sweep-a', 'sweep-b'] as const;
let children: SweepChild[] = [];
let servers: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const c of children) if (c.process.exitCode === null && c.process.signalCode === null) c.process.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
  await Promise.all(servers.map((s) => s.close()));
  children = [];
  servers = [];
});

/** Sends `command` in topic `threadId` and waits for the bot's answer to it. */
async function askIn(tg: TelegramServer, threadId: number, command: string): Promise<TgMessage> {
  const asked = tg.pushUpdate({ chatId: FORUM, text: command, threadId }).message as TgMessage;
  return until(
    () => tg.messages(FORUM).find((m) => m.from?.is_bot && m.reply_to_message?.message_id === asked.message_id),
    `the answer to ${command} in topic ${threadId}`,
  );
}

test('two processes, two topics: each topic’s commands reach its own run, answered in the topic; each topic closes with its outcome', async () => {
  const tg = await startTelegramServer();
  servers = [tg];
  tg.createForum(FORUM);
  const finish = await finishSignal();
  servers.push({ close: finish.remove });
  const env = {
    ...telegramEnv(tg),
    TELEGRAM_CHAT_ID: String(FORUM),
    TOPIC_PER_RUN: '1',
    TELEGRAM_MIN_SEND_INTERVAL_MS: '100',
    EPOCHS: '1000',
    EPOCH_MS: '100',
    FINISH_FILE: finish.path,
  };
  children = NAMES.map((name) => startRun(name, env));

  // Each run's topic, with its live epoch message in it: by then the run has registered the topic
  // (right after its start message went out there).
  const topicOf = (name: string) => tg.topics(FORUM).find((t) => t.names[0] === `⏳ ${name}`)?.message_thread_id;
  const live = (name: string) => tg.messages(FORUM).some((m) => m.message_thread_id === topicOf(name) && text(m).startsWith(`📈 ${name}`));
  await until(
    () => NAMES.every(live),
    'both runs’ live messages in their topics',
    30_000,
    () => describeRuns(children),
  );
  await until(
    () => pollers(children).length === 1,
    'one poller',
    15_000,
    () => describeRuns(children),
  );
  const topicA = topicOf('sweep-a') ?? 0;
  const topicB = topicOf('sweep-b') ?? 0;
  expect(topicA).not.toBe(topicB);

  for (const [name, topic] of [
    ['sweep-a', topicA],
    ['sweep-b', topicB],
  ] as const) {
    const status = await askIn(tg, topic, '/status');
    expect(status.message_thread_id).toBe(topic);
    expect(text(status)).toMatch(new RegExp(`^📊 ${name} \\([0-9a-f]{8}\\) · epoch \\d+/1000`));
  }

  // /stop in sweep-a's topic stops sweep-a only; the question and the answer stay in its topic.
  const question = await askIn(tg, topicA, '/stop');
  expect(question.message_thread_id).toBe(topicA);
  expect(text(question)).toMatch(/^⏹ Stop sweep-a \(/);
  tg.pushCallbackQuery({ chatId: FORUM, messageId: question.message_id, data: keyboard(question)[0]?.callback_data ?? '' });
  const [a, b] = children as [SweepChild, SweepChild];
  const done = await until(() => a.lines.find((l) => l.event === 'done'), 'sweep-a to stop', 30_000);
  expect(done).toMatchObject({ status: 'stopped', stopReason: expect.stringMatching(/^stopped from Telegram by /) });
  expect(b.lines.some((l) => l.event === 'done')).toBe(false);

  await finish.finish();
  await until(() => b.lines.find((l) => l.event === 'done'), 'sweep-b to complete', 30_000);
  await Promise.all(children.map((c) => c.exited));
  // The two processes start at once: either may create its topic first.
  const byName = (a: readonly unknown[], b: readonly unknown[]) => String(a[0]).localeCompare(String(b[0]));
  expect(
    tg
      .topics(FORUM)
      .map((t) => [t.name, t.closed])
      .sort(byName),
  ).toEqual([
    ['⏹ sweep-a', true],
    ['✅ sweep-b', true],
  ]);
  // No warning from either run (tfjs prints its own banner there).
  for (const c of children) expect(c.stderr()).not.toMatch(/epochcast/);
}, 120_000);
