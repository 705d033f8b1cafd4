// Two runs in one process on one bot: the leader's duties pass on the moment its fit ends, and the
// finished run still answers (without acting) while its last messages go out.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TelegramServer, TgMessage } from '@epochcast/testkit';
import { Api } from 'node-telegram-bot-api';
import { expect, test } from 'vitest';
import { CHAT, SlowEpochs, shown, TOKEN, telegram, tinyLearner, until, useTelegramServer } from './helpers.js';

const start = useTelegramServer();

async function ask(s: TelegramServer, text: string): Promise<string> {
  const asked = s.pushUpdate({ chatId: CHAT, text }).message as TgMessage;
  let reply: TgMessage | undefined;
  await until(
    () => {
      reply = s.messages(CHAT).find((m) => m.reply_to_message?.message_id === asked.message_id);
      return reply !== undefined;
    },
    3000,
    `the reply to ${text}`,
  );
  return shown(reply);
}

test('when the polling run’s fit ends, the other run polls at once; the finished one answers /status but not /stop', async () => {
  const s = await start();
  const short = telegram(s, { runName: 'short', on: ['end'], timeoutMs: 4000 });
  const long = telegram(s, { runName: 'long', on: ['end'] });
  const shortRun = tinyLearner([short.callback, new SlowEpochs(400)]);
  const longRun = tinyLearner([long.callback, new SlowEpochs(100)]);
  // The end photo of `short` hangs until its 4 s attempt bound: its fit is over, its last message is not.
  s.faults.hang(1, { methods: ['sendPhoto'] });
  const shortFit = shortRun.fit(3);
  // A precondition, not the property: on a loaded machine the first election can take a few seconds.
  await until(() => short.callback.pollsCommands, 15_000, 'the first run to poll');
  const longFit = longRun.fit(60);
  await until(() => shortRun.state.status === 'completed', 5000, 'the short fit to end');
  await until(() => long.callback.pollsCommands, 1000, 'the long run to take over polling');
  expect(short.callback.pollsCommands).toBe(false);

  const runs = await ask(s, '/runs');
  expect(runs).toMatch(/^🏃 2 active runs\n/);
  expect(runs).toMatch(/• short [0-9a-f]{8} · .* · epoch 3\/3 · accuracy [\d.]+ · completed, sending its last messages/);
  expect(runs).toMatch(/• long [0-9a-f]{8} · .* · epoch \d+\/60 .*· started just now/);
  expect(await ask(s, '/stop short')).toMatch(/^short \([0-9a-f]{8}\) has finished training \(completed\): \/stop no longer applies\.$/);
  expect(await ask(s, '/status sh')).toMatch(/^📊 short \([0-9a-f]{8}\) · completed/);
  // Without a selector, the only run still training is meant: no picker.
  expect(await ask(s, '/lr')).toMatch(/^lr now 0\.001 for long \([0-9a-f]{8}\)\.$/);

  await shortFit;
  expect(short.callback.report.failed).toEqual([]);
  longRun.stop('enough');
  await longFit;
  expect(long.callback.pollsCommands).toBe(false);
  expect([...short.warnings, ...long.warnings]).toEqual([]);
}, 60_000);

test('a poller outside the coordination (409 Conflict): backed off, never a tight loop, one warning line', async () => {
  const s = await start({ conflictThrottleMs: 0 });
  // Another program on the same bot, polling in a tight loop of its own.
  const foreign = new Api(TOKEN, { apiRoot: s.url, maxRetries: 0 });
  let running = true;
  const foreignLoop = (async () => {
    while (running) await foreign.getUpdates({ timeout: 1 }).catch(() => {});
  })();
  const { callback, warnings } = telegram(s, { on: [], pollTimeoutSec: 1 });
  const learn = tinyLearner([callback, new SlowEpochs(200)]);
  await learn.fit(40);
  running = false;
  await foreignLoop;

  expect(learn.state.status).toBe('completed');
  // Ours are the polls that ask for messages and button presses only.
  const ours = s.received.filter((c) => c.method === 'getUpdates' && String(c.params.allowed_updates ?? '').includes('callback_query'));
  const conflicts = ours.filter((c) => c.status === 409);
  expect(conflicts.length).toBeGreaterThanOrEqual(2);
  // ~8 s of training: waits of 2, 5, … s between tries, so a handful of polls, not hundreds.
  expect(ours.length).toBeLessThanOrEqual(6);
  for (let i = 1; i < ours.length; i++) {
    const previous = ours[i - 1];
    if (previous?.status === 409) expect((ours[i]?.at ?? 0) - previous.at).toBeGreaterThanOrEqual(1900);
  }
  expect(warnings.filter((w) => /another process keeps polling this bot \(409 Conflict\)/.test(w))).toHaveLength(1);
  expect(warnings).toHaveLength(1);
}, 60_000);

test('no way to coordinate at all (the socket directory is a file): one warning, and the run polls and answers on its own', async () => {
  const s = await start();
  const dir = await mkdtemp(path.join(tmpdir(), 'epochcast-solo-'));
  const notADirectory = path.join(dir, 'file');
  await writeFile(notADirectory, '');
  process.env.EPOCHCAST_SOCKET_DIR = notADirectory;
  try {
    const { callback, warnings } = telegram(s, { on: [] });
    const learn = tinyLearner([callback, new SlowEpochs(100)]);
    const fit = learn.fit(30);
    await until(() => callback.pollsCommands, 3000, 'the lone run to poll');
    expect(await ask(s, '/runs')).toMatch(/^🏃 1 active run\n• tiny [0-9a-f]{8} · /);
    expect(await ask(s, '/status')).toMatch(/^📊 tiny \([0-9a-f]{8}\) · /);
    learn.stop('enough');
    await fit;
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^epochcast: could not coordinate with other runs \(.*\); this run acts alone \(telegram\)$/);
  } finally {
    delete process.env.EPOCHCAST_SOCKET_DIR;
    await rm(dir, { recursive: true, force: true });
  }
}, 60_000);
