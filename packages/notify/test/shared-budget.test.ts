// Notifiers of runs on one account (the same scope) pace their sends together, and the wait for a
// turn on that shared budget does not count against the flush bound.
import { randomBytes } from 'node:crypto';
import { Learner } from '@epochcast/core';
import { toyLoaders, toyModel } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, test } from 'vitest';
import type { ScopeRequest } from '../src/index.js';
import { ScriptedNotifier } from './scripted-notifier.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

class SharedAccount extends ScriptedNotifier {
  constructor(
    private readonly accountScope: string,
    options: ConstructorParameters<typeof ScriptedNotifier>[1],
  ) {
    super([{}], options);
  }
  protected override coordination(): ScopeRequest {
    return { scope: this.accountScope };
  }
}

test('three runs on one scope send one at a time, and their end messages wait their turn past flushTimeoutMs', async () => {
  const scope = `test-${randomBytes(6).toString('hex')}`;
  const notifiers = [0, 1, 2].map(
    () =>
      new SharedAccount(scope, {
        on: ['start', 'end'],
        plot: false,
        handleSignals: false,
        limits: { minSendIntervalMs: 400 },
        flushTimeoutMs: 300,
      }),
  );
  const learners = notifiers.map(
    (n) => new Learner({ model: toyModel(), data: toyLoaders(64, 32), loss: 'categoricalCrossentropy', callbacks: [n] }),
  );
  await Promise.all(learners.map((learn) => learn.fit(1)));

  const times = notifiers.flatMap((n) => n.sent.map((s) => s.at)).sort((a, b) => a - b);
  expect(times).toHaveLength(6);
  // One budget for the three: 400 ms between any two sends, whichever run made them.
  for (let i = 1; i < times.length; i++) expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBeGreaterThanOrEqual(380);
  // The last end message waited well over the 300 ms flush bound for its turn, and still went out.
  for (const n of notifiers) {
    expect(n.events()).toEqual(['start', 'end']);
    expect(n.report.failed).toEqual([]);
  }
});
