import { accuracy, ConfigError, type Metric } from '@epochcast/core';
import type { Notification } from '@epochcast/notify';
import { Api } from 'node-telegram-bot-api';
import { describe, expect, test } from 'vitest';
import { TelegramCallback } from '../src/index.js';
import {
  AtEpoch,
  AwaitEpochMessages,
  botMessages,
  CHAT,
  messageCalls,
  SlowEpochs,
  shown,
  TOKEN,
  telegram,
  tinyLearner,
  top_1_acc,
  until,
  useTelegramServer,
} from './helpers.js';

const start = useTelegramServer(['TELEGRAM_BOT_TOKEN', 'TELEGRAM_CHAT_ID', 'TELEGRAM_API_ROOT', 'EPOCHCAST_DISABLE']);

describe('configuration', () => {
  test('settings come from options, else TELEGRAM_BOT_TOKEN / TELEGRAM_CHAT_ID / TELEGRAM_API_ROOT', () => {
    process.env.TELEGRAM_BOT_TOKEN = TOKEN;
    process.env.TELEGRAM_CHAT_ID = '-1001234567890';
    process.env.TELEGRAM_API_ROOT = 'http://127.0.0.1:9/';
    const cb = new TelegramCallback();
    expect(cb.chatId).toBe(-1001234567890);
    expect(new TelegramCallback({ chatId: '@my_channel' }).chatId).toBe('@my_channel');
  });

  test('a missing or malformed setting is a ConfigError that says how to fix it, never quoting the token', () => {
    expect(() => new TelegramCallback({ chatId: 1 })).toThrow(ConfigError);
    expect(() => new TelegramCallback({ chatId: 1 })).toThrow(/TELEGRAM_BOT_TOKEN.*@BotFather/);
    const badToken = 'not-a-token-but-a-secret-anyway';
    const error = (() => {
      try {
        new TelegramCallback({ token: badToken, chatId: 1 });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error?.message).toMatch(/token is malformed/);
    expect(error?.message).not.toContain(badToken);
    expect(() => new TelegramCallback({ token: TOKEN })).toThrow(/TELEGRAM_CHAT_ID.*message.*`epochcast telegram chats`/s);
    expect(() => new TelegramCallback({ token: TOKEN, chatId: 'my chat' })).toThrow(/chatId must be a chat id/);
    expect(() => new TelegramCallback({ token: TOKEN, chatId: 1, apiRoot: 'ftp://x' })).toThrow(
      /apiRoot \(or TELEGRAM_API_ROOT\) must be http/,
    );
    expect(() => new TelegramCallback({ token: TOKEN, chatId: 1, allowedChatIds: [1, 'x y'] })).toThrow(/allowedChatIds/);
    expect(() => new TelegramCallback({ token: TOKEN, chatId: 1, commands: ['stop', 'reboot' as 'stop'] })).toThrow(/commands must be/);
    expect(() => new TelegramCallback({ token: TOKEN, chatId: 1, parseMode: 'Markdown' as 'HTML' })).toThrow(/parseMode/);
  });

  test('switched off, it needs no settings (CI with EPOCHCAST_DISABLE=1)', async () => {
    process.env.EPOCHCAST_DISABLE = '1';
    const cb = new TelegramCallback();
    await tinyLearner([cb]).fit(1);
    expect(cb.report.delivered).toEqual([]);
  });

  test('a wrong token fails the fit before the first epoch (getMe), without printing the token', async () => {
    const s = await start();
    const wrong = '999:wrong-token-value';
    const { callback } = telegram(s, { token: wrong });
    let epochs = 0;
    const counter = new AtEpoch(0, () => {
      epochs++;
    });
    const error = await tinyLearner([callback, counter])
      .fit(2)
      .catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect(error?.message).toMatch(/Telegram rejected the bot token \(401 Unauthorized\).*TELEGRAM_BOT_TOKEN/);
    expect(error?.message).not.toContain('wrong-token-value');
    expect(epochs).toBe(0);
    expect(s.received.map((c) => c.method)).toEqual(['getMe']);
  });
});

describe('messages', () => {
  test('start, ONE live message edited each epoch, then a new end message and the loss plot', async () => {
    const s = await start();
    const { callback, warnings } = telegram(s, { commands: false });
    // Each epoch's message goes out before the next is due (none is coalesced).
    await tinyLearner([callback, new AwaitEpochMessages(s)]).fit(3);

    const calls = messageCalls(s).map((c) => `${c.method}:${c.status}`);
    expect(calls).toEqual([
      'sendMessage:200', // start
      'sendMessage:200', // epoch 1: the live message
      'editMessageText:200', // epoch 2
      'editMessageText:200', // epoch 3
      'sendMessage:200', // end
      'sendPhoto:200', // loss plot
    ]);
    const [startMsg, live, end, photo] = botMessages(s);
    expect(shown(startMsg)).toMatch(/^⏳ tiny \([0-9a-f]{8}\) started on .+ · 3 epochs · constant lr=0\.001/);
    expect(shown(startMsg)).toMatch(/params: 12\b/);
    expect(shown(startMsg)).toMatch(/host: \S+/);
    // The live message now holds the whole table, rows 0, 1 and 2.
    expect(live?.edit_date).toBeDefined();
    expect(shown(live)).toMatch(/^📈 tiny epoch 3\/3/);
    expect(shown(live)).toMatch(/epoch\s+train_loss\s+valid_loss\s+accuracy\s+time\n0 .*\n1 .*\n2 /);
    expect(shown(end)).toMatch(/^✅ tiny completed 3 epochs in \S+ · best accuracy [\d.]+% \(epoch \d\/3\)/);
    expect(shown(end)).toMatch(/duration: /);
    expect(shown(end)).toMatch(/\n2 /);
    expect(photo?.photo?.[0]?.width).toBeGreaterThan(100);
    expect(photo?.caption).toMatch(/^✅ tiny completed 3 epochs/);
    // The live message and the photo are silent; the start and end buzz.
    const silent = messageCalls(s).map((c) => c.params.disable_notification === 'true');
    expect(silent).toEqual([false, true, false, false, false, true]);
    expect(warnings).toEqual([]);
    expect(callback.report.delivered).toEqual(['start', 'epoch', 'epoch', 'epoch', 'end']);
  });

  test('an alert is a new message below the live one, which stays live; info arrives silently, warning and critical with sound', async () => {
    const s = await start();
    const { callback, warnings } = telegram(s, { commands: false });
    const alerts = Object.assign(
      new AtEpoch(0, () => callback.alert('valid_loss is NaN <b>&</b>', { level: 'critical' })),
      // After the notifier's own epoch hook, as user code after fit's bookkeeping.
      { order: 200 },
    );
    const note = Object.assign(new AtEpoch(1, () => callback.alert('checkpoint saved', { level: 'info' })), { order: 200 });
    await tinyLearner([callback, new AwaitEpochMessages(s), alerts, note]).fit(3);

    const calls = messageCalls(s);
    expect(calls.map((c) => `${c.method}:${c.status}`)).toEqual([
      'sendMessage:200', // start
      'sendMessage:200', // epoch 1: the live message
      'sendMessage:200', // the critical alert
      'editMessageText:200', // epoch 2, in the live message
      'sendMessage:200', // the info alert
      'editMessageText:200', // epoch 3
      'sendMessage:200', // end
      'sendPhoto:200',
    ]);
    expect(calls.map((c) => c.params.disable_notification === 'true')).toEqual([false, true, false, false, true, false, false, true]);
    const [, live, critical, info] = botMessages(s);
    // Every edit went to the live message, never to an alert.
    const liveId = String(live?.message_id);
    expect(calls.filter((c) => c.method === 'editMessageText').map((c) => String(c.params.message_id))).toEqual([liveId, liveId]);
    expect(shown(live)).toMatch(/^📈 tiny epoch 3\/3/);
    expect(shown(critical)).toMatch(
      /^🚨 tiny · valid_loss is NaN <b>&<\/b>\n\nrun: tiny \([0-9a-f]{8}\)\nhost: .+\nstarted: .+\nduration: \S+\nepochs: 1\/3$/,
    );
    expect(shown(info)).toMatch(/^ℹ️ tiny · checkpoint saved\n\nrun: .*\nepochs: 2\/3$/s);
    expect(warnings).toEqual([]);
    expect(callback.report.delivered).toEqual(['start', 'epoch', 'alert', 'epoch', 'alert', 'epoch', 'end']);
  });

  test('an alert outside a fit is one message naming the run, delivered by flush()', async () => {
    const s = await start();
    const { callback } = telegram(s, { runName: 'nightly' });
    callback.alert('the data export is 3 h late');
    await callback.flush(5000);
    const [message] = botMessages(s);
    expect(shown(message)).toMatch(
      /^🔔 nightly · the data export is 3 h late\n\nrun: nightly \([0-9a-f]{8}\)\nhost: .+\nstarted: .+\nduration: \S+$/,
    );
    expect(messageCalls(s).map((c) => c.params.disable_notification === 'true')).toEqual([false]);
  });

  test.each(['HTML', 'MarkdownV2'] as const)(
    '%s: run names with <&*_[ and metric names with underscores reach the chat intact',
    async (parseMode) => {
      const s = await start();
      const runName = 'exp <b>&amp; *bold* _it_ [x](y) `c` #1!';
      const { callback, warnings } = telegram(s, { parseMode, runName, commands: false });
      await tinyLearner([callback, new AwaitEpochMessages(s)], [top_1_acc]).fit(2);
      expect(warnings).toEqual([]);
      expect(messageCalls(s).every((c) => c.status === 200)).toBe(true);
      expect(messageCalls(s).every((c) => c.params.parse_mode === parseMode)).toBe(true);
      const messages = botMessages(s);
      expect(messages).toHaveLength(4);
      for (const m of messages) expect(shown(m)).toContain(runName);
      expect(shown(messages[1])).toContain('top_1_acc');
      expect(shown(messages[2])).toMatch(/best top_1_acc/);
    },
  );

  test('an error message carries the error, the trimmed stack (head and tail) and the last epochs, within 4096', async () => {
    const s = await start();
    const { callback } = telegram(s, { on: ['error'] });
    let validations = 0;
    // A metric that fails in the second epoch's validation, with a long message and a 400-frame stack.
    const exploding: Metric = (yTrue, yPred) => {
      validations += 1;
      if (validations < 2) return accuracy(yTrue, yPred);
      const error = new RangeError(`shapes <3> & <4> do not match ${'x'.repeat(6000)}`);
      error.stack = [`RangeError: ${error.message}`, ...Array.from({ length: 400 }, (_, i) => `    at frame${i} (file_${i}.js:1:1)`)].join(
        '\n',
      );
      throw error;
    };
    await expect(tinyLearner([callback], [exploding]).fit(5)).rejects.toThrow(/shapes <3> & <4>/);
    const [message] = botMessages(s);
    const text = shown(message);
    expect([...text].length).toBeLessThanOrEqual(4096);
    expect(text).toMatch(/^❌ tiny failed after 1\/5 epochs \(\S+\): RangeError: shapes <3> & <4> do not match x+…/);
    expect(text).toContain('at frame0 ');
    expect(text).toContain('at frame399 ');
    expect(text).toMatch(/… \d+ lines omitted …/);
    expect(text).toMatch(/\n0 +[\d.]+ /); // the last finished epoch's row
  });

  test('an interrupt says where it stopped', async () => {
    const s = await start();
    const { callback } = telegram(s, { on: ['interrupt'] });
    const learn = tinyLearner([callback, new AtEpoch(1, (state) => state.learner.stop('interrupted by SIGTERM', 'interrupted'))]);
    await learn.fit(5);
    expect(shown(botMessages(s)[0])).toMatch(/^⚠️ tiny interrupted \(interrupted by SIGTERM\) after 2\/5 epochs/);
  });

  test('a caption stays within 1024 and a message within 4096, however long the names', async () => {
    const s = await start();
    const { callback, warnings } = telegram(s, { on: ['end'], runName: `run-${'<&_'.repeat(2000)}` });
    const learn = tinyLearner([callback, new AtEpoch(0, (state) => state.learner.stop(`because ${'*[_'.repeat(3000)}`))]);
    await learn.fit(3);
    expect(warnings).toEqual([]);
    const [end, photo] = botMessages(s);
    expect([...shown(end)].length).toBeLessThanOrEqual(4096);
    expect(photo?.caption).toMatch(/^⏹ run-<&_<&_/);
    expect([...(photo?.caption ?? '')].length).toBeLessThanOrEqual(1024);
  });

  test('a 429 on an edit is waited out for exactly retry_after (measured), then the edit lands', async () => {
    const s = await start();
    const { callback, warnings } = telegram(s, { on: ['epoch'], commands: false });
    s.faults.rateLimit(1, 1, { methods: ['editMessageText'] });
    await tinyLearner([callback, new SlowEpochs(30)]).fit(2);
    const edits = s.received.filter((c) => c.method === 'editMessageText');
    expect(edits.map((c) => c.status)).toEqual([429, 200]);
    const waited = (edits[1]?.at ?? 0) - (edits[0]?.at ?? 0);
    expect(waited).toBeGreaterThanOrEqual(990);
    expect(waited).toBeLessThan(1600);
    expect(warnings).toEqual([]);
    expect(shown(botMessages(s)[0])).toMatch(/epoch 2\/2/);
  });

  test('epochs faster than the chat: their edits are coalesced, but the live message still ends on the last epoch, before the end message', async () => {
    const s = await start();
    const { callback, warnings } = telegram(s, { commands: false, minSendIntervalMs: 400 });
    const liveSent = () => s.received.some((c) => c.method === 'sendMessage' && c.status === 200 && /📈/.test(String(c.params.text)));
    // The first epoch's message goes out; the next three end within one 400 ms turn of the chat, so their
    // edits wait, the newest replacing the others, and the end arrives before their turn.
    await tinyLearner([callback, new AtEpoch(1, () => until(liveSent, 10_000, 'the live message'))]).fit(4);

    const calls = messageCalls(s);
    const endAt = calls.findIndex((c) => c.method === 'sendMessage' && String(c.params.text).includes('completed 4 epochs'));
    const lastEditAt = calls.map((c) => c.method).lastIndexOf('editMessageText');
    expect(lastEditAt).toBeGreaterThan(0);
    expect(endAt).toBeGreaterThan(lastEditAt);
    const [, live, end] = botMessages(s);
    expect(shown(live)).toMatch(/^📈 tiny epoch 4\/4/);
    expect(shown(live)).toMatch(/\n3 /); // the last epoch's row
    expect(shown(end)).toMatch(/^✅ tiny completed 4 epochs/);
    expect(calls.every((c) => c.status === 200)).toBe(true);
    expect(warnings).toEqual([]);
  });

  test('the live message deleted from the chat: the next epoch starts a new one', async () => {
    const s = await start();
    const { callback, warnings } = telegram(s, { on: ['epoch'], commands: false });
    const api = new Api(TOKEN, { apiRoot: s.url, maxRetries: 0 });
    const deleteLive = new AtEpoch(1, async () => {
      // Wait for epoch 1's message, then delete it as a user would.
      const first = await s.waitFor((c) => c.method === 'sendMessage' && c.status === 200);
      expect(first).toBeDefined();
      const live = botMessages(s)[0];
      if (live) await api.deleteMessage({ chat_id: CHAT, message_id: live.message_id });
    });
    await tinyLearner([callback, deleteLive, new SlowEpochs(40)]).fit(3);
    expect(warnings).toEqual([]);
    const methods = messageCalls(s).map((c) => `${c.method}:${c.status}`);
    expect(methods[0]).toBe('sendMessage:200');
    expect(methods).toContain('editMessageText:400');
    expect(methods.at(-1)).toMatch(/^(sendMessage|editMessageText):200$/);
    expect(botMessages(s)).toHaveLength(1);
    expect(shown(botMessages(s)[0])).toMatch(/epoch 3\/3/);
  });

  test('"message is not modified" is not an error', async () => {
    const s = await start();
    const cb = new TelegramCallback({ token: TOKEN, chatId: CHAT, apiRoot: s.url, minSendIntervalMs: 0 });
    const stats = { epoch: 0, totalEpochs: 2, trainLoss: 0.5, validLoss: 0.4, metrics: {}, lr: 1e-3, timeMs: 10 };
    const n: Notification = {
      event: 'epoch',
      run: { name: 'same', id: 'abcd1234', host: 'h', rank: 0, startedAt: Date.now(), totalEpochs: 2, schedule: '' },
      stats,
      history: [stats],
      metricNames: [],
      durationMs: 10,
      status: 'running',
    };
    await cb.notify(n);
    await cb.notify(n); // the same text again, as a retried edit that had landed would be
    const edit = s.received.find((c) => c.method === 'editMessageText');
    expect(edit?.description).toMatch(/message is not modified/);
    expect(botMessages(s)).toHaveLength(1);
  });
});
