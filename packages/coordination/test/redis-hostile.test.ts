/**
 * Issue 15, findings 2, 3 and 11 through Redis: anyone who can write to the Redis can publish to a
 * run's channel, plant records, set the leader key and book the budget. Each test writes to a real
 * redis-server by hand (redisCommand) as such a writer would, next to real memberships in this
 * process, and checks that a run holding the scope's key believes none of it, and that bounds hold
 * for a run without one. Needs redis-server, as redis.test.ts does.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ScopeAuth, scopeAuthKey, sealMessage } from '../src/auth.js';
import { redisCoordinator } from '../src/redis/index.js';
import { channelOf, runKey, scopeKeys } from '../src/redis/schema.js';
import type { JoinOptions, Membership, ScopeMessage } from '../src/types.js';
import { LEASE_MS, PERIOD_MS, redisCommand, sleep, uniqueScope, useRedisServer } from './redis-harness.js';

const PASSWORD = 'hostile-r3dis-PASS';
const AUTH_KEY = scopeAuthKey('test', 'the-bot-token');
const FORGED = { kind: 'command', command: 'lr', args: '10', chat: { id: 42, type: 'private' }, replyTo: 1 };

const redis = useRedisServer(PASSWORD);
const left: Membership[] = [];
let previousLease: string | undefined;

beforeEach(() => {
  previousLease = process.env.EPOCHCAST_REDIS_LEASE_MS;
  process.env.EPOCHCAST_REDIS_LEASE_MS = String(LEASE_MS);
});

afterEach(async () => {
  await Promise.all(left.splice(0).map((m) => m.leave()));
  if (previousLease === undefined) delete process.env.EPOCHCAST_REDIS_LEASE_MS;
  else process.env.EPOCHCAST_REDIS_LEASE_MS = previousLease;
});

interface Run {
  membership: Membership;
  messages: ScopeMessage[];
  warned: string[];
  events: string[];
}

async function join(scope: string, id: string, extra: Partial<JoinOptions> & { leader?: boolean } = {}): Promise<Run> {
  const messages: ScopeMessage[] = [];
  const warned: string[] = [];
  const events: string[] = [];
  const { leader, ...rest } = extra;
  const membership = await redisCoordinator(redis.server.url).join(scope, {
    record: { id, name: `run-${id}`, host: 'here', pid: process.pid, startedAt: Date.now(), epoch: 0, totalEpochs: 3 },
    onMessage: (m) => messages.push(m),
    warn: (line) => warned.push(line),
    ...(leader ? { leadership: { onElected: () => events.push('elected'), onDeposed: () => events.push('deposed') } } : {}),
    ...rest,
  });
  left.push(membership);
  return { membership, messages, warned, events };
}

const write = (...args: string[]) => redisCommand(redis.server.port, PASSWORD, ...args);

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('finding 3: forwarded commands through Redis need the key', () => {
  test('a writer without the key publishes a forged /lr 10 to a run: dropped with one warning; a run with the key is heard once; a replayed or altered copy is dropped', async () => {
    const scope = uniqueScope();
    const victim = await join(scope, 'a1a1a1a1', { authKey: AUTH_KEY });
    const other = await join(scope, 'b2b2b2b2', { authKey: AUTH_KEY });
    const channel = channelOf(scope, 'a1a1a1a1');

    expect(await write('PUBLISH', channel, JSON.stringify(FORGED))).toBe(1);
    expect(await write('PUBLISH', channel, JSON.stringify({ ...FORGED, command: 'quiet' }))).toBe(1);
    expect(await other.membership.sendTo('a1a1a1a1', { ...FORGED, args: '0.05' })).toBe(true);
    await until(() => victim.messages.length === 1, 3_000, 'the message from the run with the key');

    // A sealed message as a reader of the Redis may capture it: once it passed, its copy does not.
    const sealed = sealMessage(new ScopeAuth(AUTH_KEY, scope), 'b2b2b2b2', 'a1a1a1a1', { ...FORGED, args: '0.07' });
    expect(await write('PUBLISH', channel, JSON.stringify(sealed))).toBe(1);
    expect(await write('PUBLISH', channel, JSON.stringify(sealed))).toBe(1);
    const altered = JSON.parse(JSON.stringify(sealed).replace('0.07', '10')) as ScopeMessage;
    expect(await write('PUBLISH', channel, JSON.stringify(altered))).toBe(1);
    // Sealed for another run: not for this one.
    const elsewhere = sealMessage(new ScopeAuth(AUTH_KEY, scope), 'b2b2b2b2', 'c3c3c3c3', FORGED);
    expect(await write('PUBLISH', channel, JSON.stringify(elsewhere))).toBe(1);
    await sleep(300);

    expect(victim.messages).toEqual([
      { ...FORGED, args: '0.05' },
      { ...FORGED, args: '0.07' },
    ]);
    expect(victim.warned).toEqual([
      expect.stringMatching(/^epochcast: run a1a1a1a1 dropped a message without a valid authentication code/),
    ]);
  });
});

describe('finding 11: records a writer plants', () => {
  test('name: 12345, unsealed, sealed for another id, 10 MB, not a string: a run with the key lists none; one without lists only the well-typed', async () => {
    const scope = uniqueScope();
    const keyed = await join(scope, 'a1a1a1a1', { authKey: AUTH_KEY });
    const base = { host: 'h', pid: 1, startedAt: 1, epoch: 0, totalEpochs: 1 };
    const plant = async (id: string, value: string) => {
      await write('SET', runKey(scope, id), value, 'PX', '60000');
      await write('ZADD', scopeKeys(scope, id).index, '1', id);
    };
    await plant('bad00001', JSON.stringify({ ...base, id: 'bad00001', name: 12345 }));
    await plant('plain001', JSON.stringify({ ...base, id: 'plain001', name: 'unsealed' }));
    await plant('moved001', JSON.stringify({ ...base, id: 'other001', name: 'another id' }));
    await plant('huge0001', JSON.stringify({ ...base, id: 'huge0001', name: 'x'.repeat(10_000_000) }));
    await write('HSET', runKey(scope, 'hash0001'), 'f', 'v');
    await write('ZADD', scopeKeys(scope, 'hash0001').index, '1', 'hash0001');

    const startedAt = performance.now();
    expect((await keyed.membership.runs()).map((r) => r.id)).toEqual(['a1a1a1a1']);
    expect(performance.now() - startedAt).toBeLessThan(1_000);

    const plainScope = uniqueScope();
    const plain = await join(plainScope, 'b2b2b2b2');
    const plantPlain = async (id: string, value: string) => {
      await write('SET', runKey(plainScope, id), value, 'PX', '60000');
      await write('ZADD', scopeKeys(plainScope, id).index, '1', id);
    };
    await plantPlain('bad00001', JSON.stringify({ ...base, id: 'bad00001', name: 12345 }));
    await plantPlain('plain001', JSON.stringify({ ...base, id: 'plain001', name: 'unsealed' }));
    const runs = await plain.membership.runs();
    expect(runs.map((r) => r.id)).toEqual(['plain001', 'b2b2b2b2']);
    expect(runs.every((r) => typeof r.name === 'string')).toBe(true);
  });

  test('the leader key set to a fake run for 10 minutes: a candidate with the key discards it and leads at once', async () => {
    const scope = uniqueScope();
    await write('SET', scopeKeys(scope, 'x').leader, 'fake0001', 'PX', '600000');
    const candidate = await join(scope, 'a1a1a1a1', { authKey: AUTH_KEY, leader: true });
    await until(() => candidate.membership.isLeader, PERIOD_MS + 1_000, 'the candidate to lead');
    expect(await write('GET', scopeKeys(scope, 'x').leader)).toBe('a1a1a1a1');
  });

  test('a dead leader’s sealed record replayed with its claim for 10 minutes: discarded once it has not heartbeaten for a lease and a period', async () => {
    const scope = uniqueScope();
    const keys = scopeKeys(scope, 'a1a1a1a1');
    const first = await join(scope, 'a1a1a1a1', { authKey: AUTH_KEY, leader: true });
    await until(() => first.membership.isLeader, 2_000, 'the first run to lead');
    const next = await join(scope, 'b2b2b2b2', { authKey: AUTH_KEY, leader: true });
    const captured = (await write('GET', keys.run)) as string;
    await first.membership.leave();
    // The writer puts the dead leader back, record and claim, for 10 minutes.
    const replayedAt = performance.now();
    await write('SET', keys.run, captured, 'PX', '600000');
    await write('ZADD', keys.index, '1', 'a1a1a1a1');
    await write('SET', keys.leader, 'a1a1a1a1', 'PX', '600000');
    await sleep(50);
    await until(
      () => next.membership.isLeader && next.events.at(-1) === 'elected',
      LEASE_MS + 3 * PERIOD_MS + 1_500,
      'the live run to lead',
    );
    expect(performance.now() - replayedAt).toBeLessThan(LEASE_MS + 3 * PERIOD_MS + 1_500);
    expect(await write('GET', keys.leader)).toBe('b2b2b2b2');
  });
});

describe('finding 2: the budget key', () => {
  test('booked 1 hour ahead by a writer, and by a run asking for 1 hour: the next run waits at most 60 s, then 5 s', async () => {
    const scope = uniqueScope();
    const run = await join(scope, 'a1a1a1a1');
    const budget = scopeKeys(scope, 'a1a1a1a1').budget;
    const time = (await write('TIME')) as string[];
    const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
    await write('SET', budget, String(now + 3_600_000), 'PX', '3700000');
    expect(await run.membership.reserve(100)).toBeLessThanOrEqual(60_000);

    const scope2 = uniqueScope();
    const [hog, victim] = await Promise.all([join(scope2, 'b2b2b2b2'), join(scope2, 'c3c3c3c3')]);
    await hog.membership.reserve(3_600_000);
    expect(await victim.membership.reserve(100)).toBeLessThanOrEqual(5_000);
  });
});
