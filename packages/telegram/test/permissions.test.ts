// Issue 15, tried as an attacker would against the testkit's Bot API server: who may command a run
// (findings 6 and 15), what /lr accepts (13), and an /lr argument built to stall the event loop (2).
import type { TelegramServer, TgMessage, TgUser } from '@epochcast/testkit';
import { describe, expect, test } from 'vitest';
import { TelegramCallback } from '../src/index.js';
import { stopQuestion } from '../src/run-commands.js';
import { AtEpoch, botMessages, CHAT, SlowEpochs, shown, TOKEN, telegram, tinyLearner, until, useTelegramServer } from './helpers.js';

const start = useTelegramServer(['TELEGRAM_ALLOWED_USER_IDS']);

const GROUP = -1001234;
const OTHER_GROUP = -1005678;
const ADA: Partial<TgUser> = { id: 1001, first_name: 'Ada', last_name: 'Lovelace', username: 'ada' };
const MALLORY: Partial<TgUser> = { id: 6666, first_name: 'Mallory', username: 'mallory' };

/** Sends `text` as `from` in `chatId` and returns the bot's reply to it. */
async function ask(s: TelegramServer, chatId: number, text: string, from: Partial<TgUser> = ADA): Promise<string> {
  const asked = s.pushUpdate({ chatId, text, from }).message as TgMessage;
  let reply: TgMessage | undefined;
  await until(
    () => {
      reply = repliesTo(s, chatId, asked.message_id)[0];
      return reply !== undefined;
    },
    5000,
    `the reply to ${text.slice(0, 40)}`,
  );
  return shown(reply);
}

/** Sends `text` as `from` without waiting; returns the message id. */
function say(s: TelegramServer, chatId: number, text: string, from: Partial<TgUser>): number {
  return (s.pushUpdate({ chatId, text, from }).message as TgMessage).message_id;
}

function repliesTo(s: TelegramServer, chatId: number, messageId: number): TgMessage[] {
  return s.messages(chatId).filter((m) => m.reply_to_message?.message_id === messageId);
}

/** Presses a button carrying `data` on message `messageId` of `chatId`, as `from`; returns the answer the presser sees. */
async function press(s: TelegramServer, chatId: number, messageId: number, data: string, from: Partial<TgUser>): Promise<string> {
  const id = s.pushCallbackQuery({ chatId, messageId, data, from }).callback_query?.id;
  const answer = await s.waitFor((c) => c.method === 'answerCallbackQuery' && String(c.params.callback_query_id) === id, 5000);
  return String(answer.params.text ?? '');
}

/** The callback_data of the Yes and No buttons of a /stop question. */
function stopButtons(question: TgMessage | undefined): { yes: string; no: string } {
  const rows = (question?.reply_markup as { inline_keyboard: { callback_data: string }[][] } | undefined)?.inline_keyboard;
  return { yes: String(rows?.[0]?.[0]?.callback_data), no: String(rows?.[0]?.[1]?.callback_data) };
}

describe('finding 6: permission is per person, not only per chat', () => {
  test('allowedUserIds: a group member not listed sends /lr 10, /quiet and /lr 5 — no effect, one polite refusal, the listed user is obeyed', async () => {
    const s = await start();
    const { callback, warnings } = telegram(s, { on: ['epoch'], chatId: GROUP, allowedUserIds: [1001] });
    const learn = tinyLearner([callback]);
    let lrAfterAttack = 0;
    let refusal = '';
    let malloryIds: number[] = [];
    learn.addCallbacks(
      new AtEpoch(0, async (state) => {
        refusal = await ask(s, GROUP, '/lr 10', MALLORY);
        malloryIds = [say(s, GROUP, '/quiet', MALLORY), say(s, GROUP, '/lr 5', MALLORY), say(s, GROUP, '/stop', MALLORY)];
        // Ada's command is read after Mallory's (updates come in order): once she is answered, they were handled.
        expect(await ask(s, GROUP, '/lr', ADA)).toMatch(/^lr now 0\.001 /);
        lrAfterAttack = state.learner.lr;
        expect(await ask(s, GROUP, '/lr 0.02', ADA)).toMatch(/^lr set to 0\.02 /);
      }),
    );
    await learn.fit(3, { lr: 1e-3 });
    expect(lrAfterAttack).toBe(1e-3);
    expect(learn.lr).toBe(0.02);
    expect(refusal).toBe('Sorry, only the users in allowedUserIds may command the runs on this bot.');
    for (const id of malloryIds) expect(repliesTo(s, GROUP, id)).toEqual([]);
    // Not muted: every epoch was reported — sent, or replaced by a newer one while the service was
    // slow (coalesced, as on a loaded CI run); a muted epoch is never queued at all.
    const epochsSent = callback.report.delivered.filter((e) => e === 'epoch').length;
    expect(epochsSent + callback.report.coalesced).toBe(3);
    expect(warnings).toEqual([`epochcast telegram: ignored a command from user 6666 in chat ${GROUP}, who is not in allowedUserIds`]);
  });

  test('allowedUserIds also comes from TELEGRAM_ALLOWED_USER_IDS; a malformed or empty list is a ConfigError saying how to find an id', () => {
    process.env.TELEGRAM_ALLOWED_USER_IDS = '1001, 1002';
    const base = { token: TOKEN, chatId: GROUP };
    expect(() => new TelegramCallback(base)).not.toThrow();
    process.env.TELEGRAM_ALLOWED_USER_IDS = '1001,@ada';
    expect(() => new TelegramCallback(base)).toThrow(
      /TELEGRAM_ALLOWED_USER_IDS must hold user ids, positive integers such as 123456789; received "@ada"\. .*epochcast telegram chats/,
    );
    delete process.env.TELEGRAM_ALLOWED_USER_IDS;
    expect(() => new TelegramCallback({ ...base, allowedUserIds: [] })).toThrow(
      /allowedUserIds must be a non-empty list of Telegram user ids/,
    );
    expect(() => new TelegramCallback({ ...base, allowedUserIds: [-5] })).toThrow(/allowedUserIds must hold user ids/);
  });

  test('a run with allowedUserIds refuses what a leader without them forwards: the check is made by the run that acts', async () => {
    const s = await start();
    const open = telegram(s, { runName: 'open', on: [], chatId: GROUP });
    const guarded = telegram(s, { runName: 'guarded', on: [], chatId: GROUP, allowedUserIds: [1001] });
    const openRun = tinyLearner([open.callback, new SlowEpochs(100)]);
    const guardedRun = tinyLearner([guarded.callback, new SlowEpochs(100)]);
    const openFit = openRun.fit(60);
    await until(() => open.callback.pollsCommands, 5000, 'the open run to poll');
    const guardedFit = guardedRun.fit(60, { lr: 1e-3 });
    // The guarded run joins the runs on the bot in the background: ask until the leader lists it.
    const deadline = performance.now() + 15_000;
    while (!/• guarded /.test(await ask(s, GROUP, '/runs', ADA)) && performance.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(guarded.callback.pollsCommands).toBe(false);

    expect(await ask(s, GROUP, '/lr guarded 10', MALLORY)).toMatch(
      /^Sorry, only the users in allowedUserIds may command guarded \(\w{8}\)\.$/,
    );
    const again = say(s, GROUP, '/lr guarded 10', MALLORY);
    expect(await ask(s, GROUP, '/lr guarded', ADA)).toMatch(/^lr now 0\.001 for guarded/);
    expect(repliesTo(s, GROUP, again)).toEqual([]);
    expect(guardedRun.lr).toBe(1e-3);
    // The open run obeys Mallory: its own settings, its own permission.
    expect(await ask(s, GROUP, '/lr open 0.02', MALLORY)).toMatch(/^lr set to 0\.02 for open/);

    openRun.stop('enough');
    guardedRun.stop('enough');
    await Promise.all([openFit, guardedFit]);
    expect(guarded.warnings).toEqual([
      `epochcast telegram: ignored a command from user 6666 in chat ${GROUP}, who is not in allowedUserIds`,
    ]);
  }, 60_000);

  test('/stop Yes pressed by another user, on another message, from another allowed chat: not stopped, each told why; the asker’s Yes stops', async () => {
    const s = await start();
    const { callback, warnings } = telegram(s, { on: ['end'], chatId: GROUP, allowedChatIds: [GROUP, OTHER_GROUP] });
    const learn = tinyLearner([callback, new SlowEpochs(20)]);
    let question: TgMessage | undefined;
    const answers: Record<string, string> = {};
    learn.addCallbacks(
      new AtEpoch(1, async () => {
        const otherMessage = await ask(s, GROUP, '/status', ADA).then(() => botMessages(s, GROUP).at(-1));
        const otherChatMessage = await ask(s, OTHER_GROUP, '/status', ADA).then(() => botMessages(s, OTHER_GROUP).at(-1));
        expect(await ask(s, GROUP, '/stop', ADA)).toMatch(/^⏹ Stop tiny/);
        question = botMessages(s, GROUP).at(-1);
        const { yes } = stopButtons(question);
        answers.otherUser = await press(s, GROUP, question?.message_id ?? 0, yes, MALLORY);
        answers.otherMessage = await press(s, GROUP, otherMessage?.message_id ?? 0, yes, ADA);
        answers.otherChat = await press(s, OTHER_GROUP, otherChatMessage?.message_id ?? 0, yes, ADA);
      }),
      // Two more epochs ran after the presses: none of them stopped the run.
      new AtEpoch(3, async () => {
        answers.asker = await press(s, GROUP, question?.message_id ?? 0, stopButtons(question).yes, ADA);
      }),
    );
    await learn.fit(50);
    expect(answers).toEqual({
      otherUser: 'Only the person who sent /stop can answer this question.',
      otherMessage: 'These buttons do not belong to a question of this run.',
      otherChat: 'These buttons do not belong to a question of this run.',
      asker: 'Stopping at the end of the current batch.',
    });
    expect(learn.state.status).toBe('stopped');
    expect(learn.recorder.history.length).toBeGreaterThanOrEqual(4);
    expect(learn.recorder.history.length).toBeLessThanOrEqual(5);
    expect(botMessages(s, GROUP).map(shown).at(-2)).toMatch(/stopped from Telegram by Ada Lovelace \(@ada\)/);
    // The nonce in the buttons is at least 64 random bits, not a guessable 32.
    const nonce = stopButtons(question).yes.split(':')[3] ?? '';
    expect(Buffer.from(nonce, 'base64url').length).toBeGreaterThanOrEqual(8);
    expect(warnings).toEqual([]);
  });

  test('/stop Yes pressed after the question expired: not stopped, told to ask again, the buttons removed', async () => {
    const s = await start();
    const { callback } = telegram(s, { on: [], chatId: GROUP });
    const learn = tinyLearner([callback]);
    let answer = '';
    const ttl = stopQuestion.ttlMs;
    stopQuestion.ttlMs = 200;
    try {
      learn.addCallbacks(
        new AtEpoch(0, async () => {
          await ask(s, GROUP, '/stop', ADA);
          const question = botMessages(s, GROUP).at(-1);
          await new Promise((resolve) => setTimeout(resolve, 600));
          answer = await press(s, GROUP, question?.message_id ?? 0, stopButtons(question).yes, ADA);
          await s.waitFor((c) => c.method === 'editMessageText' && c.status === 200, 5000);
        }),
      );
      await learn.fit(3);
    } finally {
      stopQuestion.ttlMs = ttl;
    }
    expect(answer).toBe('This question has expired: send /stop again.');
    expect(learn.state.status).toBe('completed');
    const question = botMessages(s, GROUP).at(-1);
    expect(shown(question)).toMatch(/^⌛ Not stopped: tiny \(\w{8}\) — the question expired; \/stop asks again\.$/);
    expect(question?.reply_markup).toBeUndefined();
  });

  test('an anonymous admin (posting as the group) is no person: refused under allowedUserIds, and cannot ask /stop, whose answer binds to a person', async () => {
    const s = await start();
    const guarded = telegram(s, { on: [], chatId: GROUP, allowedUserIds: [1001] });
    const open = telegram(s, { on: [], chatId: OTHER_GROUP });
    const replies: string[] = [];
    const anonymous = async (chatId: number, text: string) => {
      const asked = s.pushUpdate({ chatId, text, anonymousAdmin: true }).message as TgMessage;
      await until(() => repliesTo(s, chatId, asked.message_id).length > 0, 5000, 'the reply');
      replies.push(shown(repliesTo(s, chatId, asked.message_id)[0]));
    };
    await tinyLearner([guarded.callback, new AtEpoch(0, () => anonymous(GROUP, '/lr 10'))]).fit(1);
    await tinyLearner([open.callback, new AtEpoch(0, () => anonymous(OTHER_GROUP, '/stop'))]).fit(1);
    expect(replies[0]).toBe('Sorry, only the users in allowedUserIds may command the runs on this bot.');
    expect(replies[1]).toMatch(/^\/stop needs to know who asks: send it from your own account to stop tiny \(\w{8}\)\.$/);
    expect(botMessages(s, OTHER_GROUP).every((m) => m.reply_markup === undefined)).toBe(true);
  });

  test('@name in allowedChatIds is resolved to an id at the start: once the name passes to another group, that group commands nothing', async () => {
    const s = await start();
    const TEAM = -100777;
    const SQUATTER = -100888;
    s.setChat(TEAM, { title: 'ML team', username: 'ml_team' });
    const { callback, warnings } = telegram(s, { on: [], allowedChatIds: [CHAT, '@ml_team'] });
    const learn = tinyLearner([callback]);
    let squatterAsked = 0;
    let teamReply = '';
    learn.addCallbacks(
      new AtEpoch(0, async () => {
        // The team renames its group; someone else registers the freed name.
        s.setChat(TEAM, { username: null });
        s.setChat(SQUATTER, { title: 'Not the ML team', username: 'ml_team' });
        squatterAsked = say(s, SQUATTER, '/lr 10', MALLORY);
        teamReply = await ask(s, TEAM, '/lr 0.02', ADA);
      }),
    );
    await learn.fit(2, { lr: 1e-3 });
    expect(s.received.filter((c) => c.method === 'getChat').map((c) => c.params.chat_id)).toEqual(['@ml_team']);
    expect(teamReply).toMatch(/^lr set to 0\.02 /);
    expect(learn.lr).toBe(0.02);
    expect(repliesTo(s, SQUATTER, squatterAsked)).toEqual([]);
    expect(s.received.filter((c) => String(c.params.chat_id) === String(SQUATTER))).toEqual([]);
    expect(warnings).toEqual([`epochcast telegram: ignored a command from chat ${SQUATTER} (supergroup), which is not in allowedChatIds`]);
  });

  test('an @name that cannot be looked up: one warning naming it and the fix; it matches no chat, the others still command', async () => {
    const s = await start();
    const { callback, warnings } = telegram(s, { on: [], allowedChatIds: [CHAT, '@some_person'] });
    let reply = '';
    await tinyLearner([
      callback,
      new AtEpoch(0, async () => {
        reply = await ask(s, CHAT, '/lr');
      }),
    ]).fit(2);
    expect(reply).toMatch(/^lr now /);
    expect(warnings).toEqual([
      'epochcast telegram: could not look up @some_person of allowedChatIds (400 Bad Request: chat not found), so commands from it are not obeyed. ' +
        'Put the chat’s numeric id in allowedChatIds instead: `epochcast telegram chats` lists the chats that wrote to the bot ' +
        '(a bot can look up a public group or channel by its @name, never a person).',
    ]);
  });
});

describe('finding 15: addressed commands while the bot’s own name is unknown', () => {
  test('getMe failed at the start: /lr@otherbot 10 in a group is not obeyed (nor /lr@ours, while the name stays unknown); one warning says why', async () => {
    const s = await start();
    s.faults.serverError(100, 500, { methods: ['getMe'] });
    const { callback, warnings } = telegram(s, { on: [], chatId: GROUP, retries: 0, timeoutMs: 2000 });
    const learn = tinyLearner([callback]);
    const asked: number[] = [];
    let lrAfter = 0;
    learn.addCallbacks(
      new AtEpoch(0, async (state) => {
        asked.push(say(s, GROUP, '/lr@otherbot 10', ADA), say(s, GROUP, '/lr@epochcast_test_bot 5', ADA));
        expect(await ask(s, GROUP, '/lr', ADA)).toMatch(/^lr now 0\.001 /);
        lrAfter = state.learner.lr;
      }),
    );
    await learn.fit(2, { lr: 1e-3 });
    expect(lrAfter).toBe(1e-3);
    for (const id of asked) expect(repliesTo(s, GROUP, id)).toEqual([]);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/^epochcast telegram: could not check the bot token \(getMe: 500 .*\); training goes on$/);
    expect(warnings[1]).toBe(
      "epochcast telegram: ignored a command addressed to @otherbot: this bot's own @username is unknown (getMe did not answer), " +
        "so it cannot tell its commands from another bot's. Commands without @name are still obeyed.",
    );
  });

  test('getMe failed once at the start: the poller asks again, then obeys /lr@ours and still ignores /lr@otherbot', async () => {
    const s = await start();
    s.faults.serverError(1, 500, { methods: ['getMe'] });
    const { callback, warnings } = telegram(s, { on: [], chatId: GROUP, retries: 0 });
    const learn = tinyLearner([callback]);
    let foreign = 0;
    let ours = '';
    learn.addCallbacks(
      new AtEpoch(0, async () => {
        foreign = say(s, GROUP, '/lr@otherbot 10', ADA);
        ours = await ask(s, GROUP, '/lr@Epochcast_Test_Bot 0.02', ADA);
      }),
    );
    await learn.fit(2, { lr: 1e-3 });
    expect(ours).toMatch(/^lr set to 0\.02 /);
    expect(repliesTo(s, GROUP, foreign)).toEqual([]);
    expect(learn.lr).toBe(0.02);
    expect(warnings).toHaveLength(1); // the failed check only
  });
});

describe('finding 13: /lr within a stated range', () => {
  test('/lr 1e-323, 1e-10 and 9e-9 are refused naming the range 1e-8 to 10; 1e-8 and 10 are accepted', async () => {
    const s = await start();
    const { callback } = telegram(s, { on: [] });
    const replies: Record<string, string> = {};
    const set: Record<string, number> = {};
    const learn = tinyLearner([
      callback,
      new AtEpoch(0, async (state) => {
        for (const value of ['1e-323', '1e-10', '9e-9', '10.5', '1e-8', '10']) {
          replies[value] = await ask(s, CHAT, `/lr ${value}`);
          set[value] = state.learner.lr;
        }
      }),
    ]);
    await learn.fit(1, { lr: 1e-3 });
    for (const value of ['1e-323', '1e-10', '9e-9', '10.5']) {
      expect(replies[value]).toBe(`Not a learning rate: "${value}". Send /lr followed by a number from 1e-8 to 10, e.g. /lr 3e-4.`);
    }
    expect(set['9e-9']).toBe(1e-3);
    expect(replies['1e-8']).toMatch(/^lr set to 1e-8 /);
    expect(set['1e-8']).toBe(1e-8);
    expect(replies['10']).toMatch(/^lr set to 10 /);
    expect(set['10']).toBe(10);
  });
});

describe('finding 2: an /lr argument built to make the number pattern backtrack', () => {
  test('/lr with 60,000 digits and an x is refused at once: it costs the process less than 50 ms of CPU (the event loop is never blocked 50 ms)', async () => {
    const s = await start();
    const { callback } = telegram(s, { on: [] });
    const hostile = `${'1'.repeat(60_000)}x`;
    const replies: string[] = [];
    const worstMs: number[] = [];
    const learn = tinyLearner([
      callback,
      new AtEpoch(0, async () => {
        // While this callback waits, training waits too: the loop's only work is the command. What
        // is measured is the CPU time the process spent on it (a backtracking pattern spends seconds
        // of it), not wall time, which on a shared machine also counts the time others ran (timers
        // woken ~100 ms late were seen under load). Sent three times: every send pays what the input
        // costs; the quietest bounds it.
        for (let i = 0; i < 3; i++) {
          const before = process.cpuUsage();
          replies.push(await ask(s, CHAT, `/lr ${hostile}`));
          const spent = process.cpuUsage(before);
          worstMs.push((spent.user + spent.system) / 1000);
        }
      }),
    ]);
    await learn.fit(1, { lr: 1e-3 });
    for (const reply of replies)
      expect(reply).toBe(
        `Not a learning rate: "${'1'.repeat(40)}"… (60001 characters). Send /lr followed by a number from 1e-8 to 10, e.g. /lr 3e-4.`,
      );
    expect(learn.lr).toBe(1e-3);
    expect(Math.min(...worstMs), `the CPU time of each send: ${worstMs.join(', ')} ms`).toBeLessThan(50);
  });
});
