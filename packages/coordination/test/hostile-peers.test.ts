/**
 * Issue 15, findings 2, 3 and 11 on one machine: any process of the user can connect to a scope's
 * hub and write whatever it likes. Each test plays such a peer over the real socket (RawPeer) next
 * to real memberships in this process, which hosts the hub, and checks what the hub and the runs
 * make of it: refused, dropped or bounded, while the honest runs carry on.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { inspect } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, test } from 'vitest';
import { scopeAuthKey } from '../src/auth.js';
import { joinScope } from '../src/join.js';
import { hubAddress } from '../src/local/address.js';
import { hostedHub } from '../src/local/host.js';
import { MAX_UNREAD_BYTES } from '../src/local/hub.js';
import { localCoordinator } from '../src/local/index.js';
import type { JoinOptions, Membership, RunRecord, ScopeMessage } from '../src/types.js';
import { randomRunId, randomScope, sleep } from './local-child.js';
import { RawPeer, rawJoin, rawRecord } from './raw-peer.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Run {
  membership: Membership;
  messages: ScopeMessage[];
  warned: string[];
  elected: () => number;
}

async function join(scope: string, extra: Partial<JoinOptions> & { leader?: boolean } = {}): Promise<Run> {
  const messages: ScopeMessage[] = [];
  const warned: string[] = [];
  let elected = 0;
  const { leader, ...rest } = extra;
  const membership = await localCoordinator().join(scope, {
    record: { id: randomRunId(), name: 'honest', host: 'here', pid: process.pid, startedAt: Date.now(), epoch: 0, totalEpochs: 3 },
    onMessage: (m) => messages.push(m),
    warn: (line) => warned.push(line),
    ...(leader ? { leadership: { onElected: () => elected++, onDeposed: () => {} } } : {}),
    ...rest,
  });
  cleanups.push(() => membership.leave());
  return { membership, messages, warned, elected: () => elected };
}

async function peer(scope: string): Promise<RawPeer> {
  const raw = await RawPeer.connect(hubAddress(scope).path);
  cleanups.push(() => raw.destroy());
  return raw;
}

async function until(check: () => boolean, timeoutMs = 3_000, what = 'condition'): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Every field of every record has the type RunRecord declares: what /runs and /status render. */
function wellTyped(records: RunRecord[]): boolean {
  return records.every(
    (r) =>
      typeof r.id === 'string' &&
      typeof r.name === 'string' &&
      typeof r.host === 'string' &&
      Number.isInteger(r.pid) &&
      [r.startedAt, r.epoch, r.totalEpochs].every(Number.isFinite) &&
      (r.status === undefined || typeof r.status === 'string') &&
      (r.metric === undefined || (typeof r.metric.name === 'string' && Number.isFinite(r.metric.value))) &&
      (r.thread === undefined || (typeof r.thread === 'string' && r.thread.length <= 64)),
  );
}

describe('finding 11: peer records are validated at the boundary', () => {
  test('a join with name: 12345 is refused, an update to it too, and runs() lists only well-typed records', async () => {
    const scope = randomScope('records');
    const honest = await join(scope);
    const raw = await peer(scope);
    const bad = await raw.request(rawJoin(rawRecord(randomRunId(), { name: 12345 })));
    expect(bad).toMatchObject({ ok: false, error: expect.stringMatching(/valid record/) });
    for (const fields of [{ startedAt: 'yesterday' }, { pid: 1.5 }, { epoch: null }, { id: 'a b' }, { host: 'h'.repeat(201) }]) {
      expect((await raw.request(rawJoin(rawRecord(randomRunId(), fields)))).ok).toBe(false);
    }

    // A record that passes, then an update that would not: the hub keeps the last good one.
    const id = randomRunId();
    expect(
      (await raw.request(rawJoin(rawRecord(id, { metric: { name: 'loss', value: 'NaN' }, status: 7, thread: 't'.repeat(65) })))).ok,
    ).toBe(true);
    raw.send({ op: 'update', record: rawRecord(id, { name: 12345 }) });
    const runs = await honest.membership.runs();
    expect(runs.map((r) => r.id).sort()).toEqual([honest.membership.runId, id].sort());
    expect(wellTyped(runs)).toBe(true);
    // Malformed optional fields are left out rather than losing the run.
    expect(runs.find((r) => r.id === id)).toEqual(rawRecord(id, { startedAt: expect.any(Number) }));
  });

  test('a hub that lists records of the wrong types: runs() keeps only the well-typed ones', async () => {
    const scope = randomScope('fake-list');
    const good = rawRecord(randomRunId());
    const listed = [good, rawRecord(randomRunId(), { name: 12345 }), { id: 'x' }, 'not a record', rawRecord('../etc')];
    const fake = net.createServer((socket) => {
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        for (const line of chunk.split('\n').filter(Boolean)) {
          const message = JSON.parse(line) as { op: string; rid: number };
          const value = message.op === 'list' ? listed : {};
          socket.write(`${JSON.stringify({ op: 'reply', rid: message.rid, ok: true, value })}\n`);
        }
      });
    });
    await new Promise<void>((resolve) => fake.listen(hubAddress(scope).path, resolve));
    cleanups.push(() => new Promise((resolve) => fake.close(resolve)));
    const run = await join(scope);
    expect(await run.membership.runs()).toEqual([good]);
  });

  test('a crafted record cannot win the election of a scope with a key: it cannot even join', async () => {
    const scope = randomScope('election');
    const authKey = scopeAuthKey('test', 'the-bot-token');
    const hub = await join(scope, { authKey });
    const raw = await peer(scope);
    // The oldest record there could be, competing: on a hub without keys it would be elected first.
    const crafted = rawRecord(randomRunId(), { startedAt: 0 });
    const refused = await raw.request(rawJoin(crafted, { leader: true, nonce: 'n', proof: 'x'.repeat(43) }));
    expect(refused).toMatchObject({ ok: false, error: expect.stringMatching(/hold its key/) });
    const next = await join(scope, { authKey, leader: true });
    await until(() => next.elected() === 1, 3_000, 'the next honest candidate to be elected');
    expect((await hub.membership.runs()).map((r) => r.id)).not.toContain(crafted.id);
    expect(hub.warned.filter((w) => /refused a join without a valid proof/.test(w))).toHaveLength(1);
  });
});

describe('finding 3: forwarded commands need the key', () => {
  test('a peer without the key can neither join nor send a forged /lr 10; runs with it still talk', async () => {
    const scope = randomScope('forged');
    const authKey = scopeAuthKey('test', 'the-bot-token');
    const victim = await join(scope, { authKey });
    const other = await join(scope, { authKey });
    const forged = { kind: 'command', command: 'lr', args: '10', chat: { id: 42, type: 'private' }, replyTo: 1 };

    const raw = await peer(scope);
    expect(await raw.request({ op: 'send', to: victim.membership.runId, message: forged })).toMatchObject({
      ok: false,
      error: 'not joined',
    });
    expect((await raw.request(rawJoin(rawRecord(randomRunId())))).ok).toBe(false);
    // A proof made with another key (another bot's token) does not pass either.
    const wrong = await raw.request(rawJoin(rawRecord(randomRunId()), { nonce: 'abc', proof: 'A'.repeat(43) }));
    expect(wrong.ok).toBe(false);
    expect(await raw.request({ op: 'send', to: victim.membership.runId, message: forged })).toMatchObject({ ok: false });

    // The same message from a run that holds the key arrives, once.
    expect(await other.membership.sendTo(victim.membership.runId, { ...forged, args: '0.05' })).toBe(true);
    await until(() => victim.messages.length === 1, 3_000, 'the honest message');
    await sleep(100);
    expect(victim.messages).toEqual([{ ...forged, args: '0.05' }]);
  });

  test('the key is never shown: printing a membership of a scope with a key shows no byte of it', async () => {
    const authKey = scopeAuthKey('test', 'the-bot-token');
    const run = await join(randomScope('printed'), { authKey });
    const printed = inspect(run.membership, { depth: Number.POSITIVE_INFINITY, showHidden: true });
    expect(printed).not.toContain(Buffer.from(authKey).toString('hex'));
    expect(printed).not.toContain([...authKey.slice(0, 4)].join(', '));
    expect(printed).toContain('[ScopeAuth]');
  });

  test('a process without the key that binds the address first: a run refuses its hub at once and never takes its messages', async () => {
    const scope = randomScope('squatter');
    const forged = { kind: 'command', command: 'quiet', args: '', chat: { id: 42, type: 'private' }, replyTo: 1 };
    // It accepts every join, elects every run and forwards a forged /quiet.
    const fake = net.createServer((socket) => {
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        for (const line of chunk.split('\n').filter(Boolean)) {
          const message = JSON.parse(line) as { op: string; rid: number };
          socket.write(`${JSON.stringify({ op: 'reply', rid: message.rid, ok: true, value: { proof: 'B'.repeat(43) } })}\n`);
          socket.write(`${JSON.stringify({ op: 'elected' })}\n${JSON.stringify({ op: 'message', message: forged })}\n`);
        }
      });
    });
    await new Promise<void>((resolve) => fake.listen(hubAddress(scope).path, resolve));
    cleanups.push(() => new Promise((resolve) => fake.close(resolve)));
    const messages: ScopeMessage[] = [];
    const warned: string[] = [];
    const startedAt = performance.now();
    const membership = await joinScope(scope, {
      record: { id: randomRunId(), name: 'victim', host: 'here', pid: process.pid, startedAt: Date.now(), epoch: 0, totalEpochs: 3 },
      onMessage: (m) => messages.push(m),
      warn: (line) => warned.push(line),
      authKey: scopeAuthKey('test', 'the-bot-token'),
    });
    cleanups.push(() => membership.leave());
    // At once, not after 5 s of retries: no retry makes the squatter hold the key.
    expect(performance.now() - startedAt).toBeLessThan(1_500);
    expect(warned).toEqual([expect.stringMatching(/does not hold the scope's key.*this run acts alone/)]);
    await sleep(100);
    expect(messages).toEqual([]);
  });
});

describe('finding 2: a peer cannot stall or exhaust the others', () => {
  test('a peer books the budget 1 hour ahead, 300 times: the others wait at most 5 s for one booking, and never more than 60 s', async () => {
    const scope = randomScope('booking');
    const honest = await join(scope);
    const raw = await peer(scope);
    expect((await raw.request(rawJoin(rawRecord(randomRunId())))).ok).toBe(true);
    expect((await raw.request({ op: 'reserve', intervalMs: 3_600_000 })).ok).toBe(true);
    const afterOne = await honest.membership.reserve(100);
    expect(afterOne).toBeLessThanOrEqual(5_000);
    for (let i = 0; i < 300; i++) raw.send({ op: 'reserve', intervalMs: 3_600_000 });
    await raw.request({ op: 'list' });
    expect(await honest.membership.reserve(100)).toBeLessThanOrEqual(60_000);
  });

  test('a 2 MB join line is never read whole: the peer is dropped, and the hub serves on', async () => {
    const scope = randomScope('big-line');
    const honest = await join(scope);
    const raw = await peer(scope);
    raw.write(`${JSON.stringify(rawJoin(rawRecord(randomRunId(), { name: 'x'.repeat(2_000_000) })))}\n`);
    await until(() => raw.isClosed, 3_000, 'the hub to drop the peer');
    expect(honest.warned).toEqual([expect.stringMatching(/dropped a client that sent a line over 65536 bytes/)]);
    expect((await honest.membership.runs()).map((r) => r.id)).toEqual([honest.membership.runId]);
  });

  test('60 peers with the largest records, one of them asking 300 lists and never reading: dropped past 2 MiB unread; the hub grows a few MB at most', async () => {
    const scope = randomScope('unread');
    const honest = await join(scope);
    const hub = hostedHub(hubAddress(scope).path);
    if (!hub) throw new Error('this process should host the hub');
    // Control characters: JSON writes each as 6 bytes, the most a record can weigh.
    const heavy = (id: string) => rawRecord(id, { name: '\u0001'.repeat(200), host: '\u0001'.repeat(200) });
    const peers = await Promise.all(Array.from({ length: 60 }, () => peer(scope)));
    for (const p of peers) expect((await p.request(rawJoin(heavy(randomRunId())))).ok).toBe(true);
    const reader = peers[0] as RawPeer;
    const oneList = JSON.stringify((await reader.request({ op: 'list' })).value).length;
    expect(oneList).toBeGreaterThan(100_000);

    const gc = exposeGc();
    gc();
    const before = process.memoryUsage();
    const stalled = peers[1] as RawPeer;
    stalled.socket.pause();
    for (let i = 0; i < 300; i++) stalled.send({ op: 'list' });
    // (A paused socket does not see its end, so the hub's word for it.)
    await until(() => honest.warned.some((w) => /unread/.test(w)), 5_000, 'the stalled peer to be dropped');
    await until(() => hub.unreadBytes() < MAX_UNREAD_BYTES, 2_000, 'the hub to let go of its output');
    gc();
    const after = process.memoryUsage();
    const grownMb = (after.heapUsed + after.external - before.heapUsed - before.external) / 1e6;
    // 300 lists of ~${oneList} bytes would be ~45 MB held for a peer that never reads.
    expect(grownMb).toBeLessThan(5);
    expect(honest.warned).toEqual([expect.stringMatching(/dropped a client that left over 2097152 bytes unread/)]);

    // The others keep working.
    expect((await honest.membership.runs()).length).toBe(60);
    expect(await reader.request({ op: 'list' })).toMatchObject({ ok: true });
    expect(await honest.membership.reserve(10)).toBeLessThan(1_000);
  });

  test('a flood of hostile lines (4 MB and 64 KB of nested arrays, 64 KB of escapes, a line that never ends) never blocks the event loop for 50 ms', async () => {
    const scope = randomScope('flood');
    const honest = await join(scope);
    // The attacker is its own process, as it would be: its writing must not count against this one's loop.
    const attacker = spawn(process.execPath, ['-e', FLOOD], { env: { HUB: hubAddress(scope).path }, stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => attacker.kill('SIGKILL'));
    await new Promise((resolve) => attacker.stdout?.once('data', resolve));
    exposeGc()();
    const blocked = loopBlockProbe();
    const [code] = (await once(attacker, 'exit')) as [number | null];
    await sleep(200);
    expect(code).toBe(0);
    expect(blocked.stop()).toBeLessThan(50);
    expect((await honest.membership.runs()).map((r) => r.id)).toEqual([honest.membership.runId]);
    expect(honest.warned.some((w) => /over 65536 bytes/.test(w))).toBe(true);
  });
});

/**
 * Four connections to the hub at $HUB: a 4 MB line of a million nested arrays (JSON.parse takes
 * seconds over it: the old 4 MiB line bound let it through), 50 lines of 32,000 nested arrays and
 * 50 of 64 KB of \\u0000 escapes (just under the bound), and a line that never ends; prints once
 * connected, exits once all is written.
 */
const FLOOD = `
const net = require('node:net');
const open = () => new Promise((resolve) => { const s = net.connect(process.env.HUB, () => resolve(s)); s.on('error', () => {}); });
Promise.all([open(), open(), open(), open()]).then(async ([huge, nested, escapes, endless]) => {
  process.stdout.write('connected\\n');
  huge.write('{"op":"list","x":' + '['.repeat(1e6) + ']'.repeat(1e6) + '}\\n');
  const deep = '['.repeat(32000) + ']'.repeat(32000) + '\\n';
  const noise = '{"op":"list","x":"' + '\\\\u0000'.repeat(10800) + '"}\\n';
  for (let i = 0; i < 50; i++) { nested.write(deep); escapes.write(noise); }
  for (let i = 0; i < 100; i++) endless.write('{"op":"join","record":'.padEnd(64 * 1024, ' '));
  await Promise.all([huge, nested, escapes, endless].map((s) => new Promise((resolve) => s.end(resolve))));
  process.exit(0);
});`;

/**
 * The longest the event loop was held by work, in ms: between two ticks of a 1 ms timer, the wall
 * time, but no more than the CPU time the main thread used meanwhile. On a loaded machine a
 * process waits for a core now and then (while its GC threads may run), which is not the event
 * loop being blocked by what it does. (Linux counts a thread's CPU time in 10 ms ticks.)
 */
function loopBlockProbe(): { stop(): number } {
  let last = performance.now();
  let lastCpu = mainThreadCpuMs();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const cpu = mainThreadCpuMs();
    worst = Math.max(worst, Math.min(now - last, cpu - lastCpu));
    last = now;
    lastCpu = cpu;
  }, 1);
  return {
    stop() {
      clearInterval(timer);
      return worst;
    },
  };
}

/** CPU time of this process's main thread (Linux), else of the whole process. */
function mainThreadCpuMs(): number {
  try {
    // Fields 14 and 15 (utime, stime), in clock ticks of 10 ms; the command name in parentheses may hold spaces.
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  }
}

/** `gc()`, exposed at run time: memory is compared after collection, not with garbage in it. */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
