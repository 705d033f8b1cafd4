// Forum topics: every message of a run in one topic (messageThreadId, TELEGRAM_THREAD_ID), or a
// topic per run named after it and closed with its outcome (topicPerRun); commands sent in a
// run's topic address that run, also when two runs of a sweep share the bot.
import { ConfigError } from '@epochcast/core';
import type { Membership } from '@epochcast/notify';
import type { TelegramServer, TgMessage } from '@epochcast/testkit';
import { describe, expect, test } from 'vitest';
import { TelegramCallback, type TelegramCallbackOptions } from '../src/index.js';
import { parseForwarded } from '../src/routing.js';
import { AtEpoch, SlowEpochs, shown, TOKEN, telegram, tinyLearner, until, useTelegramServer } from './helpers.js';

const FORUM = -1001234567890;
const GROUP = -1009876543210;

const start = useTelegramServer(['TELEGRAM_THREAD_ID']);

/** The bot's own messages, service messages (topic created, closed…) left out. */
function sentByBot(s: TelegramServer, chatId: number): TgMessage[] {
  return s.messages(chatId).filter((m) => m.from?.is_bot && !Object.keys(m).some((k) => k.startsWith('forum_topic_')));
}

/** A TelegramCallback that lets the test see the runs sharing its bot, as its poller does. */
class Observed extends TelegramCallback {
  get membership(): Promise<Membership | undefined> | undefined {
    return this.scopeMembership;
  }
}

function observed(s: TelegramServer, options: TelegramCallbackOptions): { callback: Observed; warnings: string[] } {
  const warnings: string[] = [];
  const callback = new Observed({
    token: TOKEN,
    chatId: FORUM,
    apiRoot: s.url,
    minSendIntervalMs: 0,
    handleSignals: false,
    logger: { warn: (line) => warnings.push(line) },
    ...options,
  });
  return { callback, warnings };
}

/** Sends `text` in topic `threadId` (or General) and waits for the bot's answer to it. */
async function ask(s: TelegramServer, text: string, threadId?: number): Promise<TgMessage> {
  const asked = s.pushUpdate({ chatId: FORUM, text, ...(threadId !== undefined ? { threadId } : {}) }).message as TgMessage;
  let reply: TgMessage | undefined;
  await until(
    () => {
      reply = s.messages(FORUM).find((m) => m.reply_to_message?.message_id === asked.message_id);
      return reply !== undefined;
    },
    10_000,
    `the answer to ${text}`,
  );
  return reply as TgMessage;
}

describe('one topic for every message', () => {
  test.each([
    ['messageThreadId', 'option'],
    ['TELEGRAM_THREAD_ID', 'env'],
  ])('%s: the start, the epoch edits, the end and its plot all go to the topic', async (_name, source) => {
    const s = await start();
    s.createForum(FORUM);
    const topic = s.createTopic(FORUM, 'training');
    if (source === 'env') process.env.TELEGRAM_THREAD_ID = String(topic.message_thread_id);
    const { callback, warnings } = telegram(s, {
      chatId: FORUM,
      commands: false,
      ...(source === 'option' ? { messageThreadId: topic.message_thread_id } : {}),
    });
    // Each epoch waits for its message, so that the live message is sent, then edited, whatever the load.
    const delivered = (method: string) => () =>
      s.received.some((c) => c.method === method && c.status === 200 && /📈/.test(String(c.params.text)));
    await tinyLearner([
      callback,
      // (A notifier's hooks run after the other callbacks': epoch k's message is queued after these.)
      new AtEpoch(1, () => until(delivered('sendMessage'), 10_000, 'the live message')),
      new AtEpoch(2, () => until(delivered('editMessageText'), 10_000, 'its edit')),
    ]).fit(3);

    const sent = sentByBot(s, FORUM);
    // Start, the live message (edited), the end text and its photo.
    expect(sent.map((m) => (m.photo ? 'photo' : shown(m).split(' ')[0]))).toEqual(['⏳', '📈', '✅', 'photo']);

    for (const message of sent) expect(message).toMatchObject({ message_thread_id: topic.message_thread_id, is_topic_message: true });
    expect(sent[1]?.edit_date).toBeDefined();
    const sends = s.received.filter((c) => /^send(message|photo)$/i.test(c.method));
    expect(sends.map((c) => Number(c.params.message_thread_id))).toEqual(sends.map(() => topic.message_thread_id));
    // Someone else's topic: this run neither renames nor closes it.
    expect(s.topics(FORUM)).toMatchObject([{ name: 'training', closed: false, names: ['training'] }]);
    expect(warnings).toEqual([]);
  });

  test('the topic deleted mid-run: one warning, and the rest of the messages go to the chat itself', async () => {
    const s = await start();
    s.createForum(FORUM);
    const topic = s.createTopic(FORUM, 'training');
    const { callback, warnings } = telegram(s, { chatId: FORUM, messageThreadId: topic.message_thread_id, on: ['start', 'end'] });
    const learn = tinyLearner([
      callback,
      new AtEpoch(0, async () => {
        await until(() => sentByBot(s, FORUM).length === 1, 10_000, 'the start message');
        await fetch(`${s.url}/bot${TOKEN}/deleteForumTopic`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ chat_id: FORUM, message_thread_id: topic.message_thread_id }),
        });
      }),
    ]);
    await learn.fit(2);
    const sent = sentByBot(s, FORUM);
    expect(sent.map((m) => (m.photo ? 'photo' : shown(m).split(' ')[0]))).toEqual(['✅', 'photo']);
    for (const message of sent) expect(message.message_thread_id).toBeUndefined();
    expect(callback.report.failed).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/the topic of this run \(\d+\) refused its messages \(400 Bad Request: message thread not found\)/);
  });
});

describe('a topic per run', () => {
  test.each([
    ['completed', '✅', 'tiny-ok'],
    ['failed', '❌', 'tiny-crash'],
    ['stopped', '⏹', 'tiny-stop'],
  ])('%s: one topic named after the run, every message in it, renamed %s and closed at the end', async (status, mark, runName) => {
    const s = await start();
    s.createForum(FORUM);
    const { callback, warnings } = telegram(s, { chatId: FORUM, topicPerRun: true, runName });
    const actions = [
      new AtEpoch(1, (state) => {
        if (status === 'failed') throw new Error('boom');
        if (status === 'stopped') state.learner.stop('enough');
      }),
    ];
    const fit = tinyLearner([callback, ...actions]).fit(3);
    if (status === 'failed') await expect(fit).rejects.toThrow(/boom/);
    else await fit;

    const topics = s.topics(FORUM);
    expect(topics).toHaveLength(1);
    const [topic] = topics;
    expect(topic).toMatchObject({ name: `${mark} ${runName}`, closed: true, names: [`⏳ ${runName}`, `${mark} ${runName}`] });
    const sent = sentByBot(s, FORUM);
    // The start and the end, and between them the live message and the plot as far as the run got.
    expect(shown(sent[0])).toMatch(new RegExp(`^⏳ ${runName} \\([0-9a-f]{8}\\) started on `));
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expect(shown(sent.find((m) => !m.photo && /^(✅|❌|⏹) /.test(shown(m))))).toMatch(new RegExp(`^${mark} ${runName} `));
    for (const message of sent) expect(message).toMatchObject({ message_thread_id: topic?.message_thread_id, is_topic_message: true });
    // The topic exists before the first message: created, then the start message in it.
    const methods = s.received.map((c) => c.method).filter((m) => m !== 'getMe' && m !== 'getUpdates' && m !== 'setMyCommands');
    expect(methods.slice(0, 2)).toEqual(['createForumTopic', 'sendMessage']);
    expect(methods.slice(-2)).toEqual(['editForumTopic', 'closeForumTopic']);
    expect(warnings).toEqual([]);
  });

  test.each([
    ['a group that is not a forum', GROUP, undefined, /turn on Topics in the group's settings/],
    ['a forum where the bot may not manage topics', FORUM, { canManageTopics: false }, /with the "Manage topics" right/],
  ])('%s: one warning naming the fix, and every message in the chat itself', async (_what, chatId, rights, fix) => {
    const s = await start();
    if (rights) s.createForum(FORUM, rights);
    const { callback, warnings } = telegram(s, { chatId, topicPerRun: true });
    await tinyLearner([callback]).fit(3);
    await tinyLearner([callback]).fit(2);
    const sent = sentByBot(s, chatId);
    expect(sent.filter((m) => / started on /.test(shown(m)))).toHaveLength(2);
    for (const message of sent) expect(message.message_thread_id).toBeUndefined();
    expect(callback.report.failed).toEqual([]);
    expect(s.topics(chatId)).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^epochcast telegram: could not create a topic for run tiny \(400 Bad Request: .*\): /);
    expect(warnings[0]).toMatch(fix);
  });

  test('long run names are cut to the 128 characters a topic name may have', async () => {
    const s = await start();
    s.createForum(FORUM);
    const { callback, warnings } = telegram(s, { chatId: FORUM, topicPerRun: true, runName: 'r'.repeat(300), on: ['start'] });
    await tinyLearner([callback]).fit(1);
    const [topic] = s.topics(FORUM);
    expect([...(topic?.name ?? '')]).toHaveLength(128);
    expect(topic?.name).toMatch(/^⏳ r+…$/);
    expect(warnings).toEqual([]);
  });
});

describe('commands in a topic', () => {
  test('a command in the run’s topic addresses it and is answered there; in General the usual rules hold', async () => {
    const s = await start();
    s.createForum(FORUM);
    const { callback, warnings } = observed(s, { topicPerRun: true, runName: 'solo' });
    const learn = tinyLearner([callback, new SlowEpochs(50)]);
    const fit = learn.fit(200);
    await until(() => callback.pollsCommands, 15_000, 'the run to poll');
    const threadId = await registeredTopic(callback, 1);

    const status = await ask(s, '/status', threadId);
    expect(status).toMatchObject({ message_thread_id: threadId, is_topic_message: true });
    expect(shown(status)).toMatch(/^📊 solo \([0-9a-f]{8}\) · /);
    const general = await ask(s, '/status');
    expect(general.message_thread_id).toBeUndefined();
    expect(shown(general)).toMatch(/^📊 solo \([0-9a-f]{8}\) · /);
    learn.stop('enough');
    await fit;
    expect(warnings).toEqual([]);
  }, 30_000);

  test('two runs of a sweep on one bot: two topics, and each topic’s commands reach its own run only', async () => {
    const s = await start();
    s.createForum(FORUM);
    const a = observed(s, { topicPerRun: true, runName: 'sweep-a' });
    const b = observed(s, { topicPerRun: true, runName: 'sweep-b' });
    const learnA = tinyLearner([a.callback, new SlowEpochs(50)]);
    const learnB = tinyLearner([b.callback, new SlowEpochs(50)]);
    const fits = [learnA.fit(400), learnB.fit(400)];
    await until(() => a.callback.pollsCommands || b.callback.pollsCommands, 15_000, 'one run to poll');
    // Both topics are known to the runs sharing the bot, whichever of them polls.
    await registeredTopic(a.callback, 2);
    const topicOf = (name: string) => s.topics(FORUM).find((t) => t.name === `⏳ ${name}`)?.message_thread_id ?? 0;
    const [topicA, topicB] = [topicOf('sweep-a'), topicOf('sweep-b')];
    expect(topicA).not.toBe(topicB);

    const statusA = await ask(s, '/status', topicA);
    expect(statusA.message_thread_id).toBe(topicA);
    expect(shown(statusA)).toMatch(/^📊 sweep-a \(/);
    const statusB = await ask(s, '/status', topicB);
    expect(statusB.message_thread_id).toBe(topicB);
    expect(shown(statusB)).toMatch(/^📊 sweep-b \(/);
    // In General, with two runs and no name, the bot asks which.
    expect(shown(await ask(s, '/status'))).toBe('2 runs are active: /status for which one?');

    // /stop in topic B stops B only, with the question and its answer in topic B.
    const question = await ask(s, '/stop', topicB);
    expect(question.message_thread_id).toBe(topicB);
    expect(shown(question)).toMatch(/^⏹ Stop sweep-b \(/);
    const yes = (question.reply_markup as { inline_keyboard: { callback_data: string }[][] }).inline_keyboard[0]?.[0]?.callback_data;
    s.pushCallbackQuery({ chatId: FORUM, messageId: question.message_id, data: String(yes) });
    await fits[1];
    expect(learnB.state.status).toBe('stopped');
    expect(learnA.state.status).toBe('running');
    learnA.stop('enough');
    await fits[0];
    expect(s.topics(FORUM).map((t) => [t.name, t.closed])).toEqual([
      ['⏹ sweep-a', true],
      ['⏹ sweep-b', true],
    ]);
    expect([...a.warnings, ...b.warnings]).toEqual([]);
  }, 60_000);
});

/**
 * Waits until `count` runs on the bot have registered their topics, as the poller sees them, and
 * returns the first one's topic id.
 */
async function registeredTopic(callback: Observed, count: number): Promise<number> {
  const membership = await callback.membership;
  if (!membership) throw new Error('the run did not join its scope');
  let threads: string[] = [];
  const deadline = Date.now() + 20_000;
  while (threads.length < count) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} registered topics (have ${threads.length})`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    threads = (await membership.runs()).flatMap((r) => (r.thread ? [r.thread] : []));
  }
  for (const thread of threads) expect(thread).toMatch(new RegExp(`^${FORUM}/\\d+$`));
  return Number(threads[0]?.split('/')[1]);
}

describe('settings', () => {
  test.each([
    [{ messageThreadId: 0 }, /messageThreadId must be a positive integer, the id of a forum topic; received "0"/],
    [{ messageThreadId: -3 }, /messageThreadId must be a positive integer/],
    [{ messageThreadId: 1.5 }, /messageThreadId must be a positive integer/],
    [{ messageThreadId: '7' as unknown as number }, /messageThreadId must be a positive integer/],
    [{ topicPerRun: 'yes' as unknown as boolean }, /topicPerRun must be true or false; received "yes"/],
    [{ topicPerRun: true, messageThreadId: 7 }, /topicPerRun and messageThreadId both say where messages go.*Set one of them\./],
  ])('%o is refused with a ConfigError naming the fix', (options, message) => {
    expect(() => new TelegramCallback({ token: TOKEN, chatId: FORUM, ...options })).toThrow(ConfigError);
    expect(() => new TelegramCallback({ token: TOKEN, chatId: FORUM, ...options })).toThrow(message);
  });

  test('TELEGRAM_THREAD_ID: a positive integer, not with topicPerRun; the option wins over it', () => {
    process.env.TELEGRAM_THREAD_ID = 'general';
    expect(() => new TelegramCallback({ token: TOKEN, chatId: FORUM })).toThrow(
      /TELEGRAM_THREAD_ID must be a positive integer, the id of a forum topic; received "general"\. .*t\.me\/c\/<chat>\/<topic id>/,
    );
    expect(() => new TelegramCallback({ token: TOKEN, chatId: FORUM, messageThreadId: 5 })).not.toThrow();
    process.env.TELEGRAM_THREAD_ID = '12';
    expect(() => new TelegramCallback({ token: TOKEN, chatId: FORUM, topicPerRun: true })).toThrow(
      /topicPerRun and TELEGRAM_THREAD_ID both say where messages go.*unset TELEGRAM_THREAD_ID for topicPerRun/,
    );
  });

  test('a forwarded command with a thread id that is no topic id is dropped', () => {
    const base = { kind: 'command', command: 'status', args: '', chat: { id: FORUM, type: 'supergroup' }, replyTo: 3 };
    expect(parseForwarded({ ...base, threadId: 12 })).toMatchObject({ threadId: 12 });
    for (const threadId of [0, -1, 1.5, '12', null]) expect(parseForwarded({ ...base, threadId })).toBeUndefined();
  });
});
