/**
 * The one-machine coordinator (src/local/), mostly across real processes: each child runs
 * fixtures/member.mjs against the BUILT package (`pnpm exec tsc -b packages/coordination` first)
 * and reports its events as JSON lines. Every test uses its own random scope, so test files
 * running in parallel never meet, and afterEach SIGKILLs whatever child is left.
 *
 * Bounds are generous for a loaded 2-core machine, yet each is far from what a broken
 * implementation would show (no leader at all, two leaders, sends in bursts, a hung process).
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { hubAddress } from '../src/local/address.js';
import { localCoordinator } from '../src/local/index.js';
import type { JoinOptions, Membership, RunRecord, ScopeMessage } from '../src/types.js';
import {
  killMembers,
  listenerPid,
  type MemberChild,
  type MemberEvent,
  randomRunId,
  randomScope,
  sleep,
  spawnJoined,
  spawnMember,
} from './local-child.js';

/** A new leader must be in office this soon after the old one's process is SIGKILLed. */
const TAKEOVER_BOUND_MS = 2_000;

afterEach(async () => {
  await killMembers();
});

const ids = (runs: unknown) => (runs as RunRecord[]).map((r) => r.id);

async function runsOf(member: MemberChild): Promise<string[]> {
  return ids((await member.ask({ do: 'runs' }, 'runs')).runs);
}

/** Polls `member`'s runs() until it equals `expected` (as a set), for lists that settle after a hub move. */
async function runsSettle(member: MemberChild, expected: string[], timeoutMs = 5_000): Promise<string[]> {
  const deadline = performance.now() + timeoutMs;
  let seen: string[] = [];
  while (performance.now() < deadline) {
    const e = await member.ask({ do: 'runs' }, 'runs').catch(() => undefined);
    if (e) {
      seen = ids(e.runs);
      if ([...seen].sort().join() === [...expected].sort().join()) return seen;
    }
    await sleep(100);
  }
  throw new Error(`runs never settled to ${expected.join()}; last seen ${seen.join()}`);
}

/** Who holds leadership according to the members' own elected/deposed events. */
function leaders(members: MemberChild[]): MemberChild[] {
  return members.filter((m) => m.count('elected') > m.count('deposed'));
}

async function waitForLeader(members: MemberChild[], timeoutMs = 5_000): Promise<MemberChild> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const current = leaders(members);
    if (current.length > 0) return current[0] as MemberChild;
    await sleep(20);
  }
  throw new Error('no leader was elected');
}

function pids(members: MemberChild[]): number[] {
  return members.map((m) => m.process.pid ?? -1);
}

function warnings(members: MemberChild[]): MemberEvent[] {
  return members.flatMap((m) => m.events.filter((e) => e.ev === 'warn'));
}

describe('across processes', () => {
  test('four processes started at once: exactly one leader, and all four see the same runs, oldest first', async () => {
    const scope = randomScope('one-leader');
    // Started together, so they also race for the hub's address.
    const members = Array.from({ length: 4 }, () => spawnMember({ scope, wantsLeader: true }));
    await Promise.all(members.map((m) => m.next((e) => e.ev === 'joined', 15_000)));
    await waitForLeader(members);
    // Long enough for a second, wrong election to show up.
    await sleep(750);
    expect(leaders(members)).toHaveLength(1);
    expect(members.reduce((n, m) => n + m.count('elected'), 0)).toBe(1);
    expect(members.reduce((n, m) => n + m.count('deposed'), 0)).toBe(0);

    const lists = await Promise.all(members.map(runsOf));
    expect(new Set(lists[0])).toEqual(new Set(members.map((m) => m.runId)));
    for (const list of lists) expect(list).toEqual(lists[0]);
    const started = (await members[0]?.ask({ do: 'runs' }, 'runs'))?.runs as RunRecord[];
    expect(started.map((r) => r.startedAt)).toEqual([...started.map((r) => r.startedAt)].sort((a, b) => a - b));
    expect(warnings(members)).toEqual([]);
  });

  test.each([
    { case: 'the leader also hosts the hub', firstWantsLeader: true },
    { case: 'the leader is a client of a hub in another process', firstWantsLeader: false },
  ])(
    'SIGKILL of the leader when $case: another process leads within 2 s, and the killed run leaves runs()',
    async ({ firstWantsLeader }) => {
      const scope = randomScope('takeover');
      // Joined one by one: the first hosts the hub and, when it wants to, leads (the hub prefers its own process).
      const members = await spawnJoined([
        { scope, wantsLeader: firstWantsLeader },
        { scope, wantsLeader: true },
        { scope, wantsLeader: true },
        { scope, wantsLeader: true },
      ]);
      const leader = await waitForLeader(members);
      expect(leader).toBe(firstWantsLeader ? members[0] : members[1]);
      const survivors = members.filter((m) => m !== leader);
      // A record updated before the takeover must reach the next hub as it is now, not as it was at join.
      survivors[0]?.command({ do: 'update', patch: { epoch: 7 } });
      await survivors[0]?.next((e) => e.ev === 'updated');

      const killedAt = performance.now();
      leader.process.kill('SIGKILL');
      const elected = await Promise.any(survivors.map((m) => m.next((e) => e.ev === 'elected', 10_000)));
      const takeoverMs = performance.now() - killedAt;
      console.info(`takeover after SIGKILL (${firstWantsLeader ? 'hub + leader' : 'leader only'}): ${takeoverMs.toFixed(0)} ms`);
      expect(takeoverMs).toBeLessThan(TAKEOVER_BOUND_MS);
      expect(elected.ev).toBe('elected');

      await sleep(500);
      expect(leaders(survivors)).toHaveLength(1);
      const newLeader = leaders(survivors)[0] as MemberChild;
      const list = await runsSettle(
        newLeader,
        survivors.map((m) => m.runId),
      );
      expect(list).not.toContain(leader.runId);
      const records = (await newLeader.ask({ do: 'runs' }, 'runs')).runs as RunRecord[];
      expect(records.find((r) => r.id === survivors[0]?.runId)?.epoch).toBe(7);
      // The new hub works: messages and reservations go through.
      const target = survivors.find((m) => m !== newLeader) as MemberChild;
      expect((await newLeader.ask({ do: 'send', to: target.runId, message: { after: 'takeover' } }, 'sent')).ok).toBe(true);
      await target.next((e) => e.ev === 'message');
      expect((await newLeader.ask({ do: 'reserve', intervalMs: 10, count: 1 }, 'reservedAll')).ev).toBe('reservedAll');
    },
  );

  test('SIGKILL of the hub while the leader is elsewhere: the leader steps down before re-joining, and one leader results', async () => {
    const scope = randomScope('hub-dies');
    const members = await spawnJoined([
      { scope },
      { scope, wantsLeader: true },
      { scope, wantsLeader: true },
      { scope, wantsLeader: true },
    ]);
    const [hub, leader] = members as [MemberChild, MemberChild];
    expect(await waitForLeader(members)).toBe(leader);
    const killedAt = performance.now();
    hub.process.kill('SIGKILL');
    // Its hub gone, the leader cannot know whether it still leads: it says so at once.
    await leader.next((e) => e.ev === 'deposed', 5_000);
    const survivors = members.slice(1);
    await waitForLeader(survivors);
    expect(performance.now() - killedAt).toBeLessThan(TAKEOVER_BOUND_MS);
    await runsSettle(
      leader,
      survivors.map((m) => m.runId),
    );
    await sleep(500);
    expect(leaders(survivors)).toHaveLength(1);
    expect(warnings(members)).toEqual([]);
  });

  test('sendTo reaches the named run in its own process only, and is false for an unknown id', async () => {
    const scope = randomScope('send');
    const [a, b, c] = (await spawnJoined([{ scope }, { scope }, { scope }])) as [MemberChild, MemberChild, MemberChild];
    const message = { kind: 'stop', reason: 'from a', nested: { n: [1, 2, 3] } };
    expect((await c.ask({ do: 'send', to: b.runId, message }, 'sent')).ok).toBe(true);
    const got = await b.next((e) => e.ev === 'message');
    expect(got.message).toEqual(message);
    expect((await a.ask({ do: 'send', to: 'deadbeef', message: { lost: true } }, 'sent')).ok).toBe(false);
    // From the hub's own process to a client and back.
    expect((await a.ask({ do: 'send', to: c.runId, message: { to: 'c' } }, 'sent')).ok).toBe(true);
    await c.next((e) => e.ev === 'message');
    await sleep(300);
    expect(a.count('message')).toBe(0);
    expect(b.count('message')).toBe(1);
    expect(c.count('message')).toBe(1);
  });

  test('4 processes × 5 reservations: one shared budget, sends spaced ≥ intervalMs apart in absolute time', async () => {
    const scope = randomScope('reserve');
    const intervalMs = 200;
    const members = await spawnJoined(Array.from({ length: 4 }, () => ({ scope })));
    await Promise.all(members.map((m) => m.ask({ do: 'reserve', intervalMs, count: 5 }, 'reservedAll', 30_000)));
    // Each child prints `reserved` (with the slot: its clock + the wait) and then `sendAt` when its wait is over.
    const pairs = members
      .flatMap((m) => {
        const slots = m.events.filter((e) => e.ev === 'reserved').map((e) => e.slot as number);
        const sends = m.events.filter((e) => e.ev === 'sendAt').map((e) => e.at);
        return slots.map((slot, i) => ({ slot, send: sends[i] as number }));
      })
      .sort((x, y) => x.slot - y.slot);
    expect(pairs).toHaveLength(20);
    expect(pairs.every((p) => Number.isFinite(p.send))).toBe(true);
    const sends = pairs.map((p) => p.send).sort((x, y) => x - y);
    const gaps = (times: number[]) => times.slice(1).map((t, i) => t - (times[i] as number));
    const slotGaps = gaps(pairs.map((p) => p.slot));
    const sendGaps = gaps(sends);
    const lateness = pairs.map((p) => p.send - p.slot);
    console.info(
      `reservations: min slot gap ${Math.min(...slotGaps).toFixed(1)} ms, min send gap ${Math.min(...sendGaps).toFixed(1)} ms, ` +
        `max lateness ${Math.max(...lateness).toFixed(1)} ms`,
    );
    // The hub hands out slots exactly intervalMs apart, in every process's wall clock. A child sees its
    // slot a little late when the reply reaches it after the slot began (wait 0): that, and a sender's
    // own timer or event loop running late, are the only slack, and SLACK_MS bounds it on a loaded machine.
    const SLACK_MS = 40;
    expect(Math.min(...slotGaps)).toBeGreaterThanOrEqual(intervalMs - SLACK_MS);
    // After every slot, the next send waits out the interval, in whichever process it is.
    for (const [i, pair] of pairs.slice(1).entries()) {
      const previous = pairs[i] as { slot: number; send: number };
      expect(pair.send - previous.slot).toBeGreaterThanOrEqual(intervalMs - SLACK_MS);
    }
    // On time as a rule: uncoordinated, 4 processes would send in bursts of 4 (median gap ≈ 0).
    const median = [...sendGaps].sort((x, y) => x - y)[Math.floor(sendGaps.length / 2)] as number;
    expect(median).toBeGreaterThanOrEqual(intervalMs - 30);
  });

  test('requests in flight when the hub dies are answered by the next hub; the run keeps its id and record', async () => {
    const scope = randomScope('in-flight');
    const [hub, a, b] = (await spawnJoined([{ scope }, { scope }, { scope }])) as [MemberChild, MemberChild, MemberChild];
    a.command({ do: 'update', patch: { epoch: 3, metric: { name: 'loss', value: 0.25 } } });
    await a.next((e) => e.ev === 'updated');
    // A stopped hub holds its address but answers nothing: these requests are on the wire, unanswered.
    hub.process.kill('SIGSTOP');
    a.command({ do: 'reserve', intervalMs: 100, count: 3 });
    b.command({ do: 'runs' });
    await sleep(300);
    expect(a.count('reserved') + b.count('runs')).toBe(0);
    hub.process.kill('SIGKILL');
    await a.next((e) => e.ev === 'reservedAll', 5_000);
    const runs = (await b.next((e) => e.ev === 'runs', 5_000)).runs as RunRecord[];
    expect(a.count('failed') + b.count('failed')).toBe(0);
    // The list was answered by the new hub, so the dead hub's run is gone and `a` came back as it was.
    const list = await runsSettle(b, [a.runId, b.runId]);
    expect(list).toHaveLength(2);
    expect(runs.map((r) => r.id)).not.toContain(hub.runId);
    const records = (await b.ask({ do: 'runs' }, 'runs')).runs as RunRecord[];
    expect(records.find((r) => r.id === a.runId)).toMatchObject({ epoch: 3, metric: { name: 'loss', value: 0.25 } });
    expect(warnings([a, b])).toEqual([]);
  });

  test('a leader that leaves steps down before the next one is elected', async () => {
    const scope = randomScope('leave-leader');
    // The hub's own process does not compete, so the leader is a client and the hub stays put.
    const [hub, first, second] = (await spawnJoined([{ scope }, { scope, wantsLeader: true }, { scope, wantsLeader: true }])) as [
      MemberChild,
      MemberChild,
      MemberChild,
    ];
    expect(await waitForLeader([hub, first, second])).toBe(first);
    first.command({ do: 'leave', idle: true });
    const deposed = await first.next((e) => e.ev === 'deposed');
    const elected = await second.next((e) => e.ev === 'elected');
    expect(deposed.at).toBeLessThanOrEqual(elected.at);
    expect(elected.at - deposed.at).toBeLessThan(1_000);
    expect((await first.exited).code).toBe(0);
    expect(await runsOf(hub)).toEqual([hub.runId, second.runId]);
    expect(warnings([hub, first, second])).toEqual([]);
  });

  test('the hub process leaving while others remain: the hub moves, leadership with it, and nothing is lost', async () => {
    const scope = randomScope('hub-moves');
    const members = await spawnJoined([
      { scope, wantsLeader: true },
      { scope, wantsLeader: true },
      { scope, wantsLeader: true },
      { scope, wantsLeader: false },
    ]);
    const [hub, ...rest] = members as [MemberChild, ...MemberChild[]];
    const address = hubAddress(scope).path;
    expect(await listenerPid(address, pids(members))).toBe(hub.process.pid);
    expect(await waitForLeader(members)).toBe(hub);
    const leftAt = performance.now();
    hub.command({ do: 'leave', idle: true });
    await hub.next((e) => e.ev === 'deposed');
    const elected = await Promise.any(rest.map((m) => m.next((e) => e.ev === 'elected', 10_000)));
    expect(performance.now() - leftAt).toBeLessThan(TAKEOVER_BOUND_MS);
    expect(hub.events.find((e) => e.ev === 'deposed')?.at).toBeLessThanOrEqual(elected.at);
    // The old hub's process had nothing else to do: it exits, its server closed.
    expect((await hub.exited).code).toBe(0);

    const [a, b, c] = rest as [MemberChild, MemberChild, MemberChild];
    await runsSettle(a, [a.runId, b.runId, c.runId]);
    expect(pids(rest)).toContain(await listenerPid(address, pids(rest)));
    expect((await c.ask({ do: 'send', to: a.runId, message: { n: 1 } }, 'sent')).ok).toBe(true);
    await a.next((e) => e.ev === 'message');
    expect((await b.ask({ do: 'reserve', intervalMs: 10, count: 2 }, 'reservedAll')).ev).toBe('reservedAll');
    await sleep(300);
    expect(leaders(rest)).toHaveLength(1);
    // A hub moving is ordinary: nobody warns.
    expect(warnings(members)).toEqual([]);
  });

  test('a child exits by itself after leave(), hub or not, with no timer left behind; an idle member does not hold it either', async () => {
    const scope = randomScope('exit');
    const [hub, client, idle] = (await spawnJoined([{ scope, wantsLeader: true }, { scope, wantsLeader: true }, { scope }])) as [
      MemberChild,
      MemberChild,
      MemberChild,
    ];
    await client.ask({ do: 'reserve', intervalMs: 50, count: 3 }, 'reservedAll');
    const left = await client.ask({ do: 'leave', idle: true }, 'left');
    expect(left.resources).not.toContain('Timeout');
    const clientExit = await Promise.race([client.exited, sleep(5_000).then(() => 'still running')]);
    expect(clientExit).toMatchObject({ code: 0, signal: null });

    // Still a member, but with stdin closed nothing else holds the process: the membership must not either.
    idle.command({ do: 'idle' });
    const idleExit = await Promise.race([idle.exited, sleep(5_000).then(() => 'still running')]);
    expect(idleExit).toMatchObject({ code: 0, signal: null });
    await runsSettle(hub, [hub.runId]);

    hub.command({ do: 'leave', idle: true });
    const hubExit = await Promise.race([hub.exited, sleep(5_000).then(() => 'still running')]);
    expect(hubExit).toMatchObject({ code: 0, signal: null });
  });
});

describe('EPOCHCAST_SOCKET_DIR: socket files', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  test('hub in a socket file of a 0700 directory; a SIGKILLed hub leaves a stale file that the next run takes over', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'epochcast-sockdir-'));
    const socketDir = path.join(dir, 'sockets');
    const env = { EPOCHCAST_SOCKET_DIR: socketDir };
    const scope = randomScope('file');
    const socketPath = path.join(socketDir, `${scope}.sock`);
    expect(hubAddress(scope, env).path).toBe(socketPath);

    const [lone] = (await spawnJoined([{ scope, env, wantsLeader: true }])) as [MemberChild];
    expect((await stat(socketDir)).mode & 0o777).toBe(0o700);
    expect((await stat(socketPath)).isSocket()).toBe(true);

    // SIGKILL: nobody unlinks the file, and it refuses connections.
    lone.process.kill('SIGKILL');
    await lone.exited;
    expect((await stat(socketPath)).isSocket()).toBe(true);
    const refused = await new Promise<string | undefined>((resolve) => {
      const socket = net.connect(socketPath);
      socket.on('connect', () => resolve(undefined));
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code));
    });
    expect(refused).toBe('ECONNREFUSED');

    // Three runs arrive at once at the stale file: one takes it over, the others join it.
    const members = Array.from({ length: 3 }, () => spawnMember({ scope, env, wantsLeader: true }));
    await Promise.all(members.map((m) => m.next((e) => e.ev === 'joined', 15_000)));
    await waitForLeader(members);
    await sleep(500);
    expect(leaders(members)).toHaveLength(1);
    for (const m of members) expect(new Set(await runsOf(m))).toEqual(new Set(members.map((x) => x.runId)));

    // Its hub SIGKILLed in turn, with runs still connected: they move to a new hub on the same path.
    const hubPid = await listenerPid(socketPath, pids(members));
    const hubMember = members.find((m) => m.process.pid === hubPid) as MemberChild;
    expect(hubMember).toBeDefined();
    const killedAt = performance.now();
    hubMember.process.kill('SIGKILL');
    const survivors = members.filter((m) => m !== hubMember);
    await runsSettle(
      survivors[0] as MemberChild,
      survivors.map((m) => m.runId),
    );
    await waitForLeader(survivors);
    expect(performance.now() - killedAt).toBeLessThan(5_000);

    for (const m of survivors) m.command({ do: 'leave', idle: true });
    await Promise.all(survivors.map((m) => m.exited));
    // Left gracefully: the last hub unlinks its file, and no takeover lock stays behind.
    await expect(stat(socketPath)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(`${socketPath}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('EPOCHCAST_SOCKET_DIR: a socket file removed under a live hub', () => {
  let dir: string | undefined;
  afterEach(async () => {
    vi.useRealTimers();
    delete process.env.EPOCHCAST_SOCKET_DIR;
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  test.each([
    { case: 'and replaced by a second hub', replaced: true },
    { case: 'and not replaced', replaced: false },
  ])('$case: the hub notices on its next check, and the runs end up at one hub again', async ({ replaced }) => {
    dir = await mkdtemp(path.join(tmpdir(), 'epochcast-vanish-'));
    process.env.EPOCHCAST_SOCKET_DIR = dir;
    const env = { EPOCHCAST_SOCKET_DIR: dir };
    const scope = randomScope('vanish');
    const socketPath = hubAddress(scope).path;
    // Only this process's file check is driven by hand; sockets and every other timer run for real.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const warned: string[] = [];
    const here = await localCoordinator().join(scope, {
      record: { id: randomRunId(), name: 'here', host: 'test-host', pid: process.pid, startedAt: Date.now(), epoch: 0, totalEpochs: 1 },
      onMessage: () => {},
      warn: (line) => warned.push(line),
    });
    try {
      const [b] = (await spawnJoined([{ scope, env }])) as [MemberChild];
      await rm(socketPath);
      const expected = [here.runId, b.runId];
      if (replaced) {
        // A run arriving now finds no file and starts a hub of its own: two hubs, for a while.
        const [c] = (await spawnJoined([{ scope, env }])) as [MemberChild];
        expected.push(c.runId);
        const successor = (await stat(socketPath)).ino;
        expect(await runsOf(c)).toEqual([c.runId]);
        vi.advanceTimersByTime(30_000);
        await runsSettle(c, expected);
        // The old hub closed without unlinking its successor's file.
        expect((await stat(socketPath)).ino).toBe(successor);
      } else {
        vi.advanceTimersByTime(30_000);
        await runsSettle(b, expected);
        expect((await stat(socketPath)).isSocket()).toBe(true);
      }
      expect((await here.runs()).map((r) => r.id).sort()).toEqual([...expected].sort());
      expect(warned.filter((w) => w.includes('removed or replaced'))).toHaveLength(1);
    } finally {
      await here.leave();
    }
  });
});

describe('in one process', () => {
  interface Probe {
    options: JoinOptions;
    messages: ScopeMessage[];
    elected: number;
    deposed: number;
  }
  const warned: string[] = [];
  afterEach(() => {
    warned.length = 0;
  });

  function probe(id: string, wantsLeader: boolean, onMessage?: (m: ScopeMessage) => void): Probe {
    const p: Probe = {
      messages: [],
      elected: 0,
      deposed: 0,
      options: {
        record: { id, name: `in-process-${id}`, host: 'test-host', pid: process.pid, startedAt: Date.now(), epoch: 0, totalEpochs: 3 },
        onMessage: (m) => {
          p.messages.push(m);
          onMessage?.(m);
        },
        warn: (line) => warned.push(line),
      },
    };
    if (wantsLeader) p.options.leadership = { onElected: () => p.elected++, onDeposed: () => p.deposed++ };
    return p;
  }

  async function until(check: () => boolean, timeoutMs = 3_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!check()) {
      if (performance.now() > deadline) throw new Error('condition not met in time');
      await sleep(10);
    }
  }

  test('resign(): the leader steps down at once and the next candidate is elected; the resigned run stays a member', async () => {
    const scope = randomScope('resign');
    const coordinator = localCoordinator();
    const [pa, pb] = [probe(randomRunId(), true), probe(randomRunId(), true)];
    const a = await coordinator.join(scope, pa.options);
    await sleep(2);
    const b = await coordinator.join(scope, pb.options);
    await until(() => pa.elected === 1);
    a.resign();
    expect([a.isLeader, pa.deposed]).toEqual([false, 1]);
    await until(() => pb.elected === 1, 1_000);
    expect(b.isLeader).toBe(true);
    expect(await b.sendTo(a.runId, { still: 'here' })).toBe(true);
    await until(() => pa.messages.length === 1);
    expect((await a.runs()).map((r) => r.id)).toEqual([a.runId, b.runId]);
    // b leaving does not bring a back: it resigned for good.
    await b.leave();
    await sleep(100);
    expect([a.isLeader, pa.elected]).toEqual([false, 1]);
    await a.leave();
  });

  test('several members in one process: one hub, one leader, routing, one budget, hand-over on leave', async () => {
    const scope = randomScope('in-process');
    const coordinator = localCoordinator();
    expect(localCoordinator()).toBe(coordinator);
    expect(coordinator.engine).toBe('local');
    const [pa, pb, pc] = [probe(randomRunId(), true), probe(randomRunId(), false), probe(randomRunId(), true)];
    const a = await coordinator.join(scope, pa.options);
    await sleep(2);
    const b = await coordinator.join(scope, pb.options);
    await sleep(2);
    const c = await coordinator.join(scope, pc.options);
    await until(() => pa.elected === 1);
    expect(a.isLeader).toBe(true);
    expect([b.isLeader, c.isLeader, pc.elected]).toEqual([false, false, 0]);
    expect((await b.runs()).map((r) => r.id)).toEqual([a.runId, b.runId, c.runId]);

    expect(await c.sendTo(b.runId, { hello: 'b' })).toBe(true);
    expect(await c.sendTo('00000000', { hello: 'nobody' })).toBe(false);
    await until(() => pb.messages.length === 1);
    expect(pb.messages).toEqual([{ hello: 'b' }]);
    expect(pa.messages).toEqual([]);

    b.update({ epoch: 2, metric: { name: 'val_loss', value: 0.5 }, thread: '-1001234567890/7' });
    const waits = await Promise.all([a.reserve(100), b.reserve(100), c.reserve(100)]);
    expect([...waits].sort((x, y) => x - y).map((w) => Math.round(Math.max(0, w) / 100))).toEqual([0, 1, 2]);
    expect((await a.runs()).find((r) => r.id === b.runId)).toMatchObject({
      epoch: 2,
      metric: { name: 'val_loss', value: 0.5 },
      thread: '-1001234567890/7',
    });

    // The hub was created by a's join, but lives on while b and c remain in this process.
    await a.leave();
    expect(pa.deposed).toBe(1);
    expect(a.isLeader).toBe(false);
    await until(() => pc.elected === 1);
    expect(c.isLeader).toBe(true);
    expect((await b.runs()).map((r) => r.id)).toEqual([b.runId, c.runId]);
    await expect(a.runs()).rejects.toThrow(/left/);
    expect(await a.sendTo(b.runId, {})).toBe(false);

    await Promise.all([b.leave(), c.leave()]);
    expect(pc.deposed).toBe(1);
    // The last member gone, the hub is too.
    const code = await new Promise<string | undefined>((resolve) => {
      const socket = net.connect(hubAddress(scope).path);
      socket.on('connect', () => {
        socket.destroy();
        resolve(undefined);
      });
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code));
    });
    // Nobody listens: the socket file is gone with the hub's listener (ENOENT), or left unanswered.
    expect(['ENOENT', 'ECONNREFUSED']).toContain(code);
    expect(warned).toEqual([]);
  });

  test('members in this process and in a child share one scope', async () => {
    const scope = randomScope('mixed');
    const local = probe(randomRunId(), true);
    const a = await localCoordinator().join(scope, local.options);
    const [child] = (await spawnJoined([{ scope, wantsLeader: true }])) as [MemberChild];
    await until(() => local.elected === 1);
    expect(await a.sendTo(child.runId, { to: 'child' })).toBe(true);
    expect((await child.next((e) => e.ev === 'message')).message).toEqual({ to: 'child' });
    expect((await child.ask({ do: 'send', to: a.runId, message: { to: 'parent' } }, 'sent')).ok).toBe(true);
    await until(() => local.messages.length === 1);
    // What a run registers reaches the other process: a Telegram topic finds its run through it.
    a.update({ thread: '-1001234567890/7' });
    let thread: string | undefined;
    for (let tries = 0; tries < 100 && thread === undefined; tries++) {
      const runs = (await child.ask({ do: 'runs' }, 'runs')).runs as { id: string; thread?: string }[];
      thread = runs.find((r) => r.id === a.runId)?.thread;
      if (thread === undefined) await sleep(20);
    }
    expect(thread).toBe('-1001234567890/7');
    // This process hosts the hub; when its member leaves, the child takes over hub and leadership.
    await a.leave();
    await child.next((e) => e.ev === 'elected', 5_000);
    expect(await runsOf(child)).toEqual([child.runId]);
  });

  test("handlers' exceptions and malformed lines are warned about, never fatal", async () => {
    const scope = randomScope('robust');
    const thrower = probe(randomRunId(), true, () => {
      throw new Error('onMessage exploded');
    });
    thrower.options.leadership = {
      onElected: () => {
        throw new Error('onElected exploded');
      },
      onDeposed: () => {
        throw new Error('onDeposed exploded');
      },
    };
    const sender = probe(randomRunId(), false);
    const t = await localCoordinator().join(scope, thrower.options);
    const s = await localCoordinator().join(scope, sender.options);
    await until(() => warned.some((w) => w.includes('onElected exploded')));
    expect(await s.sendTo(t.runId, { n: 1 })).toBe(true);
    expect(await s.sendTo(t.runId, { n: 2 })).toBe(true);
    await until(() => thrower.messages.length === 2);
    expect(warned.filter((w) => w.includes('onMessage exploded'))).toHaveLength(2);

    // A client that speaks garbage: one warning from the hub, and the hub keeps serving.
    const raw = net.connect(hubAddress(scope).path);
    await new Promise((resolve) => raw.once('connect', resolve));
    raw.write('this is not json\n{"also": "not a request"\n[1,2]\n');
    await until(() => warned.some((w) => w.includes('malformed')));
    expect(warned.filter((w) => w.includes('malformed'))).toHaveLength(1);
    raw.destroy();
    expect((await s.runs()).map((r) => r.id)).toEqual([t.runId, s.runId]);

    // What JSON cannot carry fails that call alone: sendTo is false, update warns; neither throws.
    expect(await s.sendTo(t.runId, { big: 1n })).toBe(false);
    expect(() => s.update({ epoch: 1n as unknown as number })).not.toThrow();
    expect(warned.filter((w) => w.includes('JSON cannot represent'))).toHaveLength(1);
    s.update({ epoch: 4 });
    expect((await t.runs()).find((r) => r.id === s.runId)?.epoch).toBe(4);

    await t.leave();
    expect(warned.some((w) => w.includes('onDeposed exploded'))).toBe(true);
    await s.leave();
  });

  test('a hub that stops answering: reserve() rejects and sendTo() is false within the bound; runs() rejects', async () => {
    const scope = randomScope('mute');
    // A fake hub on the scope's address: it confirms joins (and sends one malformed line), then ignores everything.
    const fake = net.createServer((socket) => {
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        for (const line of chunk.split('\n').filter(Boolean)) {
          const message = JSON.parse(line) as { op: string; rid: number };
          if (message.op === 'join') socket.write(`${JSON.stringify({ op: 'reply', rid: message.rid, ok: true, value: {} })}\n}{garbage\n`);
        }
      });
    });
    await new Promise<void>((resolve) => fake.listen(hubAddress(scope).path, resolve));
    try {
      const p = probe(randomRunId(), false);
      const m: Membership = await localCoordinator().join(scope, p.options);
      const startedAt = performance.now();
      const [reserve, send, runs] = await Promise.allSettled([m.reserve(1_000), m.sendTo('whoever', {}), m.runs()]);
      const elapsed = performance.now() - startedAt;
      expect(reserve.status).toBe('rejected');
      expect(send).toEqual({ status: 'fulfilled', value: false });
      expect(runs.status).toBe('rejected');
      expect(elapsed).toBeGreaterThan(2_000);
      expect(elapsed).toBeLessThan(6_000);
      expect(warned.filter((w) => w.includes('malformed'))).toHaveLength(1);
      const leaving = performance.now();
      await m.leave();
      expect(performance.now() - leaving).toBeLessThan(2_000);
    } finally {
      await new Promise((resolve) => fake.close(resolve));
    }
  });
});
