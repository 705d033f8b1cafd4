// Issue 15, finding 3 end to end: a process of the same user (through the local hub's socket) or a
// Redis writer, neither holding the bot token, sends a training run a well-formed forwarded
// `/lr 10` and `/quiet`. The run must not obey, and nothing about it may appear in the chat; the
// same command from a process that holds the token (it derives the scope's key) is obeyed, which
// shows the forgery was refused for want of the key, not for its shape.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { joinScope, type Membership, scopeAuthKey } from '@epochcast/coordination';
import { type RedisServer, redisSkipReason, startRedisServer, startTelegramServer, type TelegramServer } from '@epochcast/testkit';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, expect, test } from 'vitest';
import { redisCommand } from '../../coordination/test/redis-harness.js';
import { botMessages, CHAT, SlowEpochs, shown, TOKEN, telegram, tinyLearner, until } from './helpers.js';

const cleanups: (() => unknown)[] = [];
beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const forged = (command: string, args: string) => ({
  kind: 'command',
  command,
  args,
  chat: { id: CHAT, type: 'private' },
  replyTo: 1,
});

/** A run training on the fake bot, polling for commands; its run id as the chat shows it (/runs). */
async function trainingRun(s: TelegramServer, options: { redisUrl?: string } = {}) {
  const { callback, warnings } = telegram(s, { on: [], ...options });
  const learn = tinyLearner([callback, new SlowEpochs(50)]);
  const fit = learn.fit(400, { lr: 1e-3 });
  cleanups.push(async () => {
    learn.stop('test over');
    await fit;
  });
  await until(() => callback.pollsCommands, 5_000, 'the run to poll');
  const asked = s.pushUpdate({ chatId: CHAT, text: '/runs' }).message;
  let runId = '';
  await until(
    () => {
      const reply = botMessages(s).find((m) => m.reply_to_message?.message_id === asked?.message_id);
      runId = /\b([0-9a-f]{8})\b/.exec(shown(reply))?.[1] ?? '';
      return runId !== '';
    },
    3_000,
    'the /runs reply',
  );
  return { learn, runId, warnings };
}

/** Joins the scope as a process holding the bot token would, and sends the run one command. */
async function withTheToken(scope: string, runId: string, message: Record<string, unknown>, redisUrl?: string): Promise<void> {
  const membership: Membership = await joinScope(scope, {
    record: {
      id: randomBytes(4).toString('hex'),
      name: 'holder',
      host: 'here',
      pid: process.pid,
      startedAt: Date.now(),
      epoch: 0,
      totalEpochs: 1,
    },
    onMessage: () => {},
    warn: () => {},
    authKey: scopeAuthKey('telegram', TOKEN),
    redisUrl,
  });
  try {
    expect(await membership.sendTo(runId, message)).toBe(true);
  } finally {
    await membership.leave();
  }
}

const chat = (s: TelegramServer) => botMessages(s).map(shown).join('\n');

test('through the local hub: a peer without the token cannot set lr 10 or mute the run; one with it can set lr 0.05', async () => {
  const s = await startTelegramServer({ token: TOKEN });
  cleanups.push(() => s.close());
  const dir = await mkdtemp(path.join(tmpdir(), 'epochcast-forged-'));
  process.env.EPOCHCAST_SOCKET_DIR = dir;
  cleanups.push(async () => {
    delete process.env.EPOCHCAST_SOCKET_DIR;
    await rm(dir, { recursive: true, force: true });
  });
  const { learn, runId, warnings } = await trainingRun(s);
  const [socketFile] = await readdir(dir);
  if (!socketFile) throw new Error('no hub socket');
  const scope = socketFile.replace(/\.sock$/, '');

  // The peer speaks the hub's protocol as a run would, without a proof of the key.
  const peer = net.connect({ path: path.join(dir, socketFile) });
  cleanups.push(() => peer.destroy());
  let heard = '';
  peer.on('data', (chunk: Buffer) => {
    heard += chunk.toString();
  });
  await new Promise((resolve) => peer.once('connect', resolve));
  const record = { id: 'bad0bad0', name: 'peer', host: 'h', pid: 1, startedAt: 0, epoch: 0, totalEpochs: 1 };
  const lines = [
    { op: 'join', rid: 1, v: 2, record, token: 'peer-token', proc: 'x', leader: true },
    { op: 'send', rid: 2, to: runId, message: forged('lr', '10') },
    { op: 'send', rid: 3, to: runId, message: forged('quiet', '') },
  ];
  peer.write(lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  await until(() => heard.split('\n').filter((l) => l.includes('"op":"reply"')).length === 3, 3_000, 'the hub to answer the peer');
  expect(heard).toMatch(/"rid":1,"ok":false,"error":"this scope takes only runs that hold its key/);
  expect(heard).toMatch(/"rid":2,"ok":false,"error":"not joined"/);
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(learn.lr).toBe(1e-3);
  expect(chat(s)).not.toMatch(/lr set to|quiet|muted/i);

  await withTheToken(scope, runId, forged('lr', '0.05'));
  await until(() => /lr set to 0\.05 for tiny/.test(chat(s)), 3_000, 'the run to obey the run holding the token');
  await until(() => learn.lr === 0.05, 3_000, 'the new lr');
  expect(chat(s)).not.toMatch(/lr set to 10\b/);
  expect(warnings.filter((w) => !/refused a join without a valid proof/.test(w))).toEqual([]);
}, 60_000);

test('through Redis: a writer without the token publishes /lr 10 to the run: dropped; one with it sets lr 0.05', async (context) => {
  const skip = redisSkipReason();
  if (skip) context.skip(skip);
  const redis: RedisServer = await startRedisServer();
  cleanups.push(() => redis.stop());
  const s = await startTelegramServer({ token: TOKEN });
  cleanups.push(() => s.close());
  const { learn, runId, warnings } = await trainingRun(s, { redisUrl: redis.url });
  const channels = (await redisCommand(redis.port, undefined, 'PUBSUB', 'CHANNELS', `epochcast:*:to:${runId}`)) as string[];
  expect(channels).toHaveLength(1);
  const channel = channels[0] as string;
  const scope = channel.split(':')[1] as string;

  expect(await redisCommand(redis.port, undefined, 'PUBLISH', channel, JSON.stringify(forged('lr', '10')))).toBe(1);
  expect(await redisCommand(redis.port, undefined, 'PUBLISH', channel, JSON.stringify(forged('quiet', '')))).toBe(1);
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(learn.lr).toBe(1e-3);
  expect(chat(s)).not.toMatch(/lr set to|quiet|muted/i);
  expect(warnings).toEqual([expect.stringMatching(/dropped a message without a valid authentication code/)]);

  await withTheToken(scope, runId, forged('lr', '0.05'), redis.url);
  await until(() => /lr set to 0\.05 for tiny/.test(chat(s)), 3_000, 'the run to obey the run holding the token');
  expect(learn.lr).toBe(0.05);
}, 60_000);
