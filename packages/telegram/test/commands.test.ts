import { ParamScheduler } from '@epochcast/core';
import type { TelegramCall, TelegramServer } from '@epochcast/testkit';
import { describe, expect, test } from 'vitest';
import { AtEpoch, botMessages, CHAT, SlowEpochs, shown, telegram, tinyLearner, until, useTelegramServer } from './helpers.js';

const start = useTelegramServer();

const STRANGER = 9999;

/** The bot's reply to the user message with `messageId`, once it is there. */
async function replyTo(s: TelegramServer, messageId: number, chatId = CHAT): Promise<TelegramCall> {
  return s.waitFor(
    (c) =>
      /^send(Message|Photo)$/.test(c.method) &&
      c.status === 200 &&
      String(c.params.chat_id) === String(chatId) &&
      String(c.params.reply_parameters ?? '').includes(`"message_id":${messageId}`),
    5000,
  );
}

/** The text of the bot message a call created or edited. */
function textOf(s: TelegramServer, call: TelegramCall, chatId = CHAT): string {
  const sent = botMessages(s, chatId);
  const match = sent.find((m) => String(m.message_id) === String(call.params.message_id)) ?? sent.at(-1);
  return shown(match);
}

/** Sends `text` from the chat at the end of `epoch` and waits for the bot's reply before training goes on. */
function ask(s: TelegramServer, epoch: number, text: string, onReply: (reply: string, call: TelegramCall) => void, chatId = CHAT) {
  return new AtEpoch(epoch, async () => {
    const update = s.pushUpdate({ chatId, text });
    const messageId = update.message?.message_id ?? 0;
    const call = await replyTo(s, messageId, chatId);
    const sent = botMessages(s, chatId).at(-1);
    onReply(shown(sent), call);
  });
}

describe('commands from the allowed chat', () => {
  test('/stop asks Yes/No; Yes stops at the end of the batch, and the end message says who stopped it', async () => {
    const s = await start();
    // With the start message sent, every reply names the run with its id too.
    const { callback, warnings } = telegram(s, { on: ['start', 'end'] });
    const learn = tinyLearner([callback, new SlowEpochs(20)]);
    let prompt = '';
    const stopper = new AtEpoch(1, async () => {
      const update = s.pushUpdate({ chatId: CHAT, text: '/stop' });
      const call = await replyTo(s, update.message?.message_id ?? 0);
      prompt = textOf(s, call);
      const question = botMessages(s).at(-1);
      expect(question?.reply_markup).toMatchObject({ inline_keyboard: [[{ text: 'Yes, stop' }, { text: 'No' }]] });
      s.pushCallbackQuery({
        chatId: CHAT,
        messageId: question?.message_id ?? 0,
        data: String(
          (question?.reply_markup as { inline_keyboard: { callback_data: string }[][] } | undefined)?.inline_keyboard[0]?.[0]
            ?.callback_data,
        ),
        from: { first_name: 'Ada', last_name: 'Lovelace', username: 'ada' },
      });
      await s.waitFor('answerCallbackQuery', 5000);
      await until(() => botMessages(s).some((m) => shown(m).startsWith('⏹ Stopping')), 5000, 'the stop');
    });
    learn.addCallbacks(stopper);
    await learn.fit(50);
    expect(learn.state.status).toBe('stopped');
    expect(learn.recorder.history.length).toBeLessThanOrEqual(3);
    expect(prompt).toMatch(/^⏹ Stop tiny \([0-9a-f]{8}\) at the end of the current batch\?$/);
    const texts = botMessages(s).map(shown);
    expect(texts).toContainEqual(
      expect.stringMatching(/^⏹ Stopping tiny \(\w+\) at the end of the current batch — asked by Ada Lovelace \(@ada\)\.$/),
    );
    expect(texts.at(-2)).toMatch(/^⏹ tiny stopped after \d\/50 epochs \(\S+\): stopped from Telegram by Ada Lovelace \(@ada\)/);
    // The Yes/No buttons are gone from the question once answered.
    expect(botMessages(s).every((m) => m.reply_markup === undefined)).toBe(true);
    expect(warnings).toEqual([]);
  });

  test('/stop then No: training goes on to the end', async () => {
    const s = await start();
    const { callback } = telegram(s, { on: ['end'] });
    const learn = tinyLearner([callback]);
    const asker = new AtEpoch(0, async () => {
      const update = s.pushUpdate({ chatId: CHAT, text: '/stop' });
      await replyTo(s, update.message?.message_id ?? 0);
      const question = botMessages(s).at(-1);
      const no = (question?.reply_markup as { inline_keyboard: { callback_data: string }[][] } | undefined)?.inline_keyboard[0]?.[1]
        ?.callback_data;
      s.pushCallbackQuery({ chatId: CHAT, messageId: question?.message_id ?? 0, data: String(no) });
      await s.waitFor((c) => c.method === 'editMessageText' && c.status === 200, 5000);
    });
    learn.addCallbacks(asker);
    await learn.fit(3);
    expect(learn.state.status).toBe('completed');
    expect(botMessages(s).map(shown)).toContainEqual(expect.stringMatching(/^▶️ Carrying on: tiny \([0-9a-f]{8}\) was not stopped\.$/));
  });

  test('/lr shows the lr; /lr 3e-4 sets it; bad values are refused with an example', async () => {
    const s = await start();
    const { callback } = telegram(s, { on: [] });
    const replies: string[] = [];
    const collect = (reply: string) => replies.push(reply);
    const bad = ['abc', '-1', '0', '11', 'Infinity', 'NaN', '1e400', '0x1', ''];
    const learn = tinyLearner([
      callback,
      ask(s, 0, '/lr', collect),
      ask(s, 0, '/lr 3e-4', collect),
      ...bad.map((v) => ask(s, 0, `/lr ${v}`.trim(), collect)),
    ]);
    let lrAfter = 0;
    learn.addCallbacks(
      new AtEpoch(1, (state) => {
        lrAfter = state.learner.lr;
      }),
    );
    await learn.fit(2, { lr: 1e-3 });
    // No message has gone out yet (on: []), so the run is named without its id.
    expect(replies[0]).toMatch(/^lr now 0\.001 for tiny \([0-9a-f]{8}\)\.$/);
    expect(replies[1]).toMatch(/^lr set to 0\.0003 for tiny \([0-9a-f]{8}\) from the next batch \(was 0\.001\)\.$/);
    for (const [i, v] of bad.slice(0, -1).entries()) expect(replies[2 + i]).toContain(`Not a learning rate: ${JSON.stringify(v)}`);
    expect(replies[2]).toMatch(/a number from 1e-8 to 10, e\.g\. \/lr 3e-4\.$/);
    expect(replies.at(-1)).toMatch(/^lr now 0\.0003 /); // a bare `/lr ` is the question, not a value
    expect(lrAfter).toBeCloseTo(3e-4, 10);
  });

  test('/lr under a one-cycle schedule explains why it does not change the lr', async () => {
    const s = await start();
    const { callback } = telegram(s, { on: [] });
    const replies: string[] = [];
    const learn = tinyLearner([callback, ask(s, 0, '/lr', (r) => replies.push(r)), ask(s, 0, '/lr 1e-3', (r) => replies.push(r))]);
    await learn.fitOneCycle(2, { lrMax: 1e-2 });
    expect(replies[0]).toMatch(
      /^lr now \S+ for tiny \([0-9a-f]{8}\)\. It follows the schedule \(one-cycle lrMax=0\.01 .*\), which sets it every batch\.$/,
    );
    expect(replies[1]).toMatch(
      /^lr not changed: tiny \([0-9a-f]{8}\) follows a schedule \(one-cycle lrMax=0\.01 .*\) that sets the lr at every batch, so 0\.001 would be overwritten/,
    );
  });

  test('/lr under plain fit with a ParamScheduler on lr is refused too: the scheduler would overwrite it at the next batch', async () => {
    const s = await start();
    const { callback } = telegram(s, { on: [] });
    const replies: string[] = [];
    let lrAfter = Number.NaN;
    const scheduler = new ParamScheduler({ lr: () => 2e-3 });
    const learn = tinyLearner([callback, scheduler, ask(s, 0, '/lr 1e-3', (r) => replies.push(r))]);
    learn.addCallbacks(
      new AtEpoch(1, (state) => {
        lrAfter = state.learner.lr;
      }),
    );
    await learn.fit(2, { lr: 5e-3 });
    expect(replies[0]).toMatch(
      /^lr not changed: tiny \([0-9a-f]{8}\) follows a schedule \(ParamScheduler on lr\) that sets the lr at every batch/,
    );
    expect(lrAfter).toBe(2e-3);
  });

  test('/status, /plot, /quiet, /verbose, /help', async () => {
    const s = await start();
    const { callback, warnings } = telegram(s, { on: ['epoch'] });
    const replies: Record<string, string> = {};
    let plotCall: TelegramCall | undefined;
    const learn = tinyLearner([
      callback,
      new SlowEpochs(20),
      ask(s, 0, '/help', (r) => {
        replies.help = r;
      }),
      ask(s, 1, '/status', (r) => {
        replies.status = r;
      }),
      ask(s, 1, '/plot', (r, call) => {
        replies.plot = r;
        plotCall = call;
      }),
      ask(s, 1, '/quiet', (r) => {
        replies.quiet = r;
      }),
      ask(s, 3, '/verbose', (r) => {
        replies.verbose = r;
      }),
      ask(s, 3, '/reboot', (r) => {
        replies.unknown = r;
      }),
    ]);
    await learn.fit(5);
    expect(warnings).toEqual([]);
    expect(replies.help).toMatch(
      /^tiny(?: \(\w{8}\))?\n\/status — the latest epoch table\n\/plot — .*\n\/stop — .*\n\/lr — .*\n\/quiet — .*\n\/verbose — .*\n\/runs — the active runs sharing this bot\n\/help — this list$/,
    );
    expect(replies.status).toMatch(
      /^📊 tiny \(\w{8}\) · epoch 2\/5 done · loss [\d.]+ · lr 0\.001 · \d+s in\n\n📈 tiny epoch 2\/5 · train_loss/,
    );
    expect(replies.status).toMatch(/epoch\s+train_loss\s+valid_loss\s+accuracy\s+time\n0 .*\n1 /);
    expect(plotCall?.method).toBe('sendPhoto');
    expect(replies.plot).toMatch(/^Loss so far · tiny \(\w{8}\) · epoch 2\/5$/);
    expect(replies.quiet).toMatch(/^🔕 Epoch updates muted for tiny/);
    expect(replies.verbose).toMatch(/^🔔 Epoch updates resumed/);
    expect(replies.unknown).toMatch(/^Unknown command \/reboot\.\n\ntiny/);
    // Quiet from the end of epoch 2 to the end of epoch 4: the live message skipped epochs 3 and 4.
    const live = botMessages(s).find((m) => shown(m).startsWith('📈'));
    expect(shown(live)).toMatch(/epoch 5\/5/);
    expect(callback.report.delivered.filter((e) => e === 'epoch')).toHaveLength(3);
    // The command menu was registered.
    expect(s.commands.map((c) => c.command)).toEqual(['status', 'plot', 'stop', 'lr', 'quiet', 'verbose', 'runs', 'help']);
  });

  test('commands: a subset turns the others off; false does not poll at all', async () => {
    const s = await start();
    const { callback } = telegram(s, { on: [], commands: ['status'] });
    let reply = '';
    await tinyLearner([
      callback,
      ask(s, 0, '/stop', (r) => {
        reply = r;
      }),
    ]).fit(2);
    expect(reply).toMatch(/^\/stop is turned off for tiny \(\w{8}\)\.$/);
    s.clearReceived();
    await tinyLearner([telegram(s, { on: [], commands: false }).callback]).fit(1);
    expect(s.received.map((c) => c.method)).toEqual(['getMe']);
  });
});

describe('commands from anyone else', () => {
  test('a stranger’s /stop gets no answer and one log line without the message text; training completes', async () => {
    const s = await start();
    const { callback, warnings } = telegram(s, { on: ['end'] });
    const learn = tinyLearner([
      callback,
      new SlowEpochs(20),
      new AtEpoch(0, () => void s.pushUpdate({ chatId: STRANGER, text: '/stop now please' })),
      // The allowed chat's /status proves the stranger's update was read (updates come in order).
      ask(s, 1, '/status', () => {}),
    ]);
    await learn.fit(3);
    expect(learn.state.status).toBe('completed');
    expect(s.received.filter((c) => String(c.params.chat_id) === String(STRANGER))).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toBe(`epochcast telegram: ignored a command from chat ${STRANGER} (private), which is not in allowedChatIds`);
    expect(warnings[0]).not.toMatch(/stop|please/);
  });

  test('allowedChatIds widens who may command; the default is the configured chat only', async () => {
    const s = await start();
    const group = -1001234;
    const { callback, warnings } = telegram(s, { on: [], allowedChatIds: [CHAT, String(group)] });
    let reply = '';
    await tinyLearner([
      callback,
      ask(
        s,
        0,
        '/lr',
        (r) => {
          reply = r;
        },
        group,
      ),
    ]).fit(2);
    expect(reply).toMatch(/^lr now /);
    expect(warnings).toEqual([]);
  });

  test('commands sent before the fit began are not obeyed', async () => {
    const s = await start();
    s.pushUpdate({ chatId: CHAT, text: '/stop' });
    // Telegram dates messages in whole seconds: make the old one clearly older.
    const old = s.pendingUpdates[0]?.message;
    if (old) old.date -= 60;
    const { callback } = telegram(s, { on: [] });
    const learn = tinyLearner([callback, new SlowEpochs(30)]);
    await learn.fit(2);
    expect(learn.state.status).toBe('completed');
    expect(s.received.filter((c) => c.method === 'sendMessage')).toEqual([]);
  });
});
