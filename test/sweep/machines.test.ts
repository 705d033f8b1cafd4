// Issue 9 across machines: three runs whose processes share nothing but a real redis-server (each
// has its own socket directory and temp dir, so the one-machine engine cannot bring them together).
// They elect one Telegram poller through Redis, route commands by run, replace a SIGKILLed poller
// after its lease, forget a killed run after its heartbeat stops, and share one Slack budget.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  type RedisServer,
  redisSkipReason,
  startRedisServer,
  startSlackServer,
  startTelegramServer,
  type TelegramServer,
} from '@epochcast/testkit';
import { afterEach, expect, test } from 'vitest';
import {
  ask,
  CHANNEL,
  describeRuns,
  expectOnePostPerSlot,
  finishSignal,
  pollers,
  runIds,
  type SweepChild,
  slackEnv,
  startRun,
  telegramEnv,
  text,
  until,
} from './helpers.js';

const NAMES = ['node-1', 'node-2', 'node-3'] as const;
const LEASE_MS = 1500;
let children: SweepChild[] = [];
let cleanup: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of children) if (c.process.exitCode === null && c.process.signalCode === null) c.process.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
  for (const step of cleanup.reverse()) await step();
  children = [];
  cleanup = [];
});

test('three "machines" sharing only Redis: one poller, routing, failover after the lease, heartbeat expiry, one Slack budget', async (context) => {
  const skipReason = redisSkipReason();
  if (skipReason) context.skip(skipReason);
  const redis: RedisServer = await startRedisServer({ password: 'sweep-secret-pw' });
  const tg: TelegramServer = await startTelegramServer();
  const slack = await startSlackServer();
  cleanup.push(
    () => redis.stop(),
    () => tg.close(),
    () => slack.close(),
  );
  const finish = await finishSignal();
  cleanup.push(finish.remove);
  const env = {
    ...telegramEnv(tg),
    ...slackEnv(slack),
    EPOCHCAST_REDIS_URL: redis.url,
    EPOCHCAST_REDIS_LEASE_MS: String(LEASE_MS),
    // As on one machine: the chat's pace shortened (routing is under test; the channel keeps Slack's
    // 1050 ms), and 1000 epochs of 100 ms outlast the test.
    TELEGRAM_MIN_SEND_INTERVAL_MS: '300',
    EPOCHS: '1000',
    EPOCH_MS: '100',
    FINISH_FILE: finish.path,
  };
  for (const name of NAMES) {
    // Each "machine" has its own socket directory and temp dir: only Redis is shared.
    const machine = await mkdtemp(path.join(tmpdir(), `epochcast-${name}-`));
    cleanup.push(() => rm(machine, { recursive: true, force: true }));
    children.push(startRun(name, { ...env, EPOCHCAST_SOCKET_DIR: machine, TMPDIR: machine }));
  }

  const ids = await until(() => {
    const found = runIds(tg, NAMES);
    return found.size === NAMES.length && found;
  }, 'three start messages');
  const id = (name: string): string => ids.get(name) ?? '';
  await until(
    () => children.every((c) => c.latest()) && pollers(children).length === 1,
    'exactly one poller',
    15_000,
    () => describeRuns(children),
  );

  const [runs] = await ask(tg, '/runs', 'the /runs reply');
  expect(text(runs)).toMatch(/^🏃 3 active runs\n/);
  for (const name of NAMES) expect(text(runs)).toContain(`• ${name} ${id(name)} · `);

  // Routing by id and by name prefix, through Redis pub/sub.
  const [status] = await ask(tg, `/status ${id('node-2')}`, 'the status of node-2');
  expect(text(status)).toMatch(new RegExp(`^📊 node-2 \\(${id('node-2')}\\) · epoch \\d+/1000`));
  const [lr] = await ask(tg, '/lr node-3 0.003', 'the /lr reply of node-3');
  expect(text(lr)).toBe(`lr set to 0.003 for node-3 (${id('node-3')}) from the next batch (was 0.01).`);
  await until(() => children[2]?.latest()?.lr === 0.003, 'node-3 training at the new lr');
  expect(children[0]?.latest()?.lr).toBe(0.01);
  expect(children[1]?.latest()?.lr).toBe(0.01);

  // SIGKILL the poller: its lease runs out, another run is elected and answers; the killed run's
  // heartbeat stops, so it leaves /runs within about one lease.
  const leader = await until(() => pollers(children)[0], 'the poller');
  leader.process.kill('SIGKILL');
  await leader.exited;
  const killedAt = performance.now();
  const [first] = await ask(tg, '/runs', '/runs answered by the new poller', 1, 3 * LEASE_MS + 5000);
  expect(performance.now() - killedAt).toBeLessThan(3 * LEASE_MS + 5000);
  let after = first;
  for (let i = 0; i < 20 && !/^🏃 2 active runs\n/.test(text(after)); i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    [after] = await ask(tg, '/runs', '/runs after the heartbeat expired');
  }
  expect(performance.now() - killedAt).toBeLessThan(3 * LEASE_MS + 5000);
  expect(text(after)).toMatch(/^🏃 2 active runs\n/);
  expect(text(after)).not.toContain(leader.name);
  const survivors = children.filter((c) => c !== leader);
  for (const c of survivors) {
    expect(text(after)).toContain(`• ${c.name} ${id(c.name)}`);
    expect(
      c.lines.some((l) => l.event === 'done'),
      `${c.name} still training`,
    ).toBe(false);
  }
  await until(() => pollers(children).length === 1, 'one poller among the survivors');

  await finish.finish();
  await Promise.all(survivors.map((c) => c.exited));
  for (const c of survivors) {
    expect(c.lines.at(-1)?.event, `${c.name}: ${c.stderr()}`).toBe('done');
    expect(
      tg.messages(4242).some((m) => text(m).startsWith('✅') && text(m).includes(`${c.name} (${id(c.name)})`)),
      `the end message of ${c.name}`,
    ).toBe(true);
    // Coordination went through Redis: no run fell back to its own machine, and the password never showed.
    expect(c.stderr()).not.toMatch(/could not coordinate|409|another process/);
    expect(c.stderr()).not.toContain('sweep-secret-pw');
  }
  expect(tg.received.filter((c) => c.method === 'getUpdates' && c.status === 409).length).toBeLessThanOrEqual(1);

  // One Slack budget for the channel, kept in Redis across the three machines.
  const posts = slack.received.filter((c) => c.method === 'chat.postMessage' && c.status === 200).map((c) => c.at);
  expect(posts.length).toBeGreaterThan(6);
  // ~1 post/s for the channel as a whole, each post in a slot of its own on the shared budget.
  expectOnePostPerSlot(posts);
  expect(slack.messages(CHANNEL).filter((m) => !m.thread_ts || m.thread_ts === m.ts)).toHaveLength(NAMES.length);
}, 120_000);
