// Issue 15, finding 2: a process of the same user connects to the local hub of a notifier's
// account and books the shared send budget an hour ahead (before: the victim's end message was lost
// and fit() returned 95 s late). The victim's fit must end within a few seconds, its end message out.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { joinScope, type Membership } from '@epochcast/coordination';
import { Learner } from '@epochcast/core';
import { toyLoaders, toyModel } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, expect, test } from 'vitest';
import type { ScopeRequest } from '../src/index.js';
import { ScriptedNotifier } from './scripted-notifier.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

class OnAccount extends ScriptedNotifier {
  readonly warnings: string[];
  constructor(private readonly accountScope: string) {
    const warnings: string[] = [];
    super([{}], {
      on: ['start', 'end'],
      plot: false,
      handleSignals: false,
      limits: { minSendIntervalMs: 200 },
      flushTimeoutMs: 2_000,
      logger: { warn: (line) => warnings.push(line) },
    });
    this.warnings = warnings;
  }
  protected override coordination(): ScopeRequest {
    return { scope: this.accountScope };
  }
}

/** A scope whose hub this process hosts (an honest run joined first), and the path of its socket. */
async function hostedScope(): Promise<{ scope: string; socket: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'epochcast-budget-'));
  const saved = process.env.EPOCHCAST_SOCKET_DIR;
  process.env.EPOCHCAST_SOCKET_DIR = dir;
  cleanups.push(async () => {
    if (saved === undefined) delete process.env.EPOCHCAST_SOCKET_DIR;
    else process.env.EPOCHCAST_SOCKET_DIR = saved;
    await rm(dir, { recursive: true, force: true });
  });
  const scope = `test-${randomBytes(6).toString('hex')}`;
  const host: Membership = await joinScope(scope, {
    record: {
      id: randomBytes(4).toString('hex'),
      name: 'honest',
      host: 'here',
      pid: process.pid,
      startedAt: Date.now(),
      epoch: 0,
      totalEpochs: 1,
    },
    onMessage: () => {},
    warn: () => {},
  });
  cleanups.push(() => host.leave());
  return { scope, socket: path.join(dir, `${scope}.sock`) };
}

/** The attacker: joins the hub as a run would, books `count` slots of an hour each, and waits for the answers. */
async function bookAnHour(socket: string, count: number): Promise<void> {
  const peer = net.connect({ path: socket });
  cleanups.push(() => peer.destroy());
  await new Promise((resolve) => peer.once('connect', resolve));
  let replies = 0;
  const answered = new Promise<void>((resolve) => {
    peer.on('data', (chunk: Buffer) => {
      replies += chunk
        .toString()
        .split('\n')
        .filter((line) => line.includes('"op":"reply"')).length;
      if (replies >= count + 1) resolve();
    });
  });
  const record = { id: 'bad0bad0', name: 'hog', host: 'h', pid: 1, startedAt: Date.now(), epoch: 0, totalEpochs: 1 };
  const lines = [{ op: 'join', rid: 0, v: 2, record, token: 'hog-token', proc: 'x', leader: false }];
  for (let i = 1; i <= count; i++) lines.push({ op: 'reserve', rid: i, intervalMs: 3_600_000 } as never);
  peer.write(lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
  await answered;
}

function victim(scope: string): { notifier: OnAccount; train: () => Promise<number> } {
  const notifier = new OnAccount(scope);
  const learn = new Learner({ model: toyModel(), data: toyLoaders(64, 32), loss: 'categoricalCrossentropy', callbacks: [notifier] });
  return {
    notifier,
    train: async () => {
      const startedAt = performance.now();
      await learn.fit(1);
      return performance.now() - startedAt;
    },
  };
}

test('one booking of an hour by a peer: the victim waits 5 s at most, its fit ends within seconds and its end message goes out', async () => {
  const { scope, socket } = await hostedScope();
  await bookAnHour(socket, 1);
  const { notifier, train } = victim(scope);
  const took = await train();
  expect(notifier.events()).toEqual(['start', 'end']);
  expect(notifier.report.failed).toEqual([]);
  // The hour counts as 5 s (a booking's most); training and the end add well under a second.
  expect(took).toBeLessThan(8_000);
  expect(notifier.warnings).toEqual([]);
}, 30_000);

test('300 bookings of an hour: the budget is booked beyond what any run waits, so the victim paces itself, says so once, and is not delayed', async () => {
  const { scope, socket } = await hostedScope();
  await bookAnHour(socket, 300);
  const { notifier, train } = victim(scope);
  const took = await train();
  expect(notifier.events()).toEqual(['start', 'end']);
  expect(notifier.report.failed).toEqual([]);
  expect(took).toBeLessThan(3_000);
  expect(notifier.warnings).toEqual([
    expect.stringMatching(/the send budget shared with the other runs on this account is booked \d+ s ahead.*paces its own sends/),
  ]);
  // Its own pace still holds: 200 ms between its two messages.
  const [start, end] = notifier.sent.map((s) => s.at) as [number, number];
  expect(end - start).toBeGreaterThanOrEqual(190);
}, 30_000);
