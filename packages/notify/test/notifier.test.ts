import { Callback, CallbackError, Learner, type TrainingState } from '@epochcast/core';
import { EpochClock, toyLoaders, toyModel } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { PermanentError, RateLimitError, TransientError } from '../src/index.js';
import { ScriptedNotifier } from './scripted-notifier.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

afterEach(() => {
  delete process.env.RANK;
  delete process.env.LOCAL_RANK;
  delete process.env.EPOCHCAST_DISABLE;
});

function learnerWith(...callbacks: Callback[]) {
  return new Learner({ model: toyModel(), data: toyLoaders(64, 32), loss: 'categoricalCrossentropy', callbacks });
}

const warnings = () => {
  const lines: string[] = [];
  return { lines, logger: { warn: (line: string) => lines.push(line) } };
};

describe('delivery never blocks training', () => {
  test('a send that takes 1 s does not slow the epochs; the end message still arrives', async () => {
    const slow = new ScriptedNotifier([{ delayMs: 1000 }]);
    const clock = new EpochClock();
    const started = performance.now();
    await learnerWith(slow, clock).fit(3);
    // Every epoch of this toy run takes a few ms (up to 700 ms seen on a loaded machine); one
    // blocked on the network would take at least 1 s.
    expect(Math.max(...clock.times)).toBeLessThan(900);
    expect(slow.events().at(-1)).toBe('end');
    // The fit returned after flushing: start, maybe one epoch, end — not one blocking send per epoch.
    expect(performance.now() - started).toBeLessThan(1000 * 4);
    expect(slow.report.coalesced).toBeGreaterThan(0);
  });

  test('epoch messages behind a slow service are coalesced, the newest wins; end is never dropped', async () => {
    const slow = new ScriptedNotifier([{ delayMs: 150 }]);
    await learnerWith(slow).fit(30);
    const epochs = slow.sent.filter((s) => s.notification.event === 'epoch');
    expect(epochs.length).toBeLessThan(30);
    expect(epochs.length + slow.report.coalesced).toBe(30);
    // Each epoch message carries the history so far, in order, with no repeats.
    const shown = epochs.map((s) => s.notification.stats?.epoch ?? -1);
    expect([...shown].sort((a, b) => a - b)).toEqual(shown);
    expect(new Set(shown).size).toBe(shown.length);
    const end = slow.sent.at(-1)?.notification;
    expect(end?.event).toBe('end');
    expect(end?.history).toHaveLength(30);
    expect(end?.status).toBe('completed');
  });

  test('every N epochs; minIntervalMs holds back the newest epoch and sends it when the interval is over', async () => {
    const everyThird = new ScriptedNotifier([{}], { every: 3 });
    await learnerWith(everyThird).fit(9);
    expect(everyThird.sent.filter((s) => s.notification.event === 'epoch').map((s) => s.notification.stats?.epoch)).toEqual([2, 5, 8]);

    const spaced = new ScriptedNotifier([{}], { minIntervalMs: 150 });
    class Slow extends Callback {
      override async onEpochEnd() {
        await new Promise((r) => setTimeout(r, 40));
      }
    }
    const started = performance.now();
    await learnerWith(spaced, new Slow()).fit(10);
    const trainingMs = performance.now() - started;
    const epochs = spaced.sent.filter((s) => s.notification.event === 'epoch');
    // ~400 ms of training (longer on a loaded machine) at one epoch message per 150 ms: the first,
    // then the newest of each window — never more than one per interval of the time it took.
    expect(epochs.length).toBeGreaterThanOrEqual(2);
    expect(epochs.length).toBeLessThanOrEqual(1 + Math.floor(trainingMs / 150));
    for (let i = 1; i < epochs.length; i++) expect((epochs[i]?.at ?? 0) - (epochs[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(140);
    expect(spaced.sent.at(-1)?.notification.event).toBe('end');
  });
});

describe('retries', () => {
  test('RateLimitError: the next try waits exactly retryAfterMs and does not use up a retry', async () => {
    // One retry allowed, two rate limits in a row: delivered only if waiting out a 429 costs no retry.
    const limited = new ScriptedNotifier([{ error: () => new RateLimitError(400) }, { error: () => new RateLimitError(400) }, {}], {
      on: ['end'],
      retries: 1,
    });
    await learnerWith(limited).fit(1);
    expect(limited.events()).toEqual(['end']);
    const [a, b, c] = limited.attempts.map((x) => x.at);
    expect((b ?? 0) - (a ?? 0)).toBeGreaterThanOrEqual(395);
    expect((b ?? 0) - (a ?? 0)).toBeLessThan(600);
    expect((c ?? 0) - (b ?? 0)).toBeGreaterThanOrEqual(395);
  });

  test('network errors and 5xx are retried with backoff, then one warning naming service, event and reason', async () => {
    const { lines, logger } = warnings();
    const down = new ScriptedNotifier([{ error: () => new TransientError('503 Service Unavailable', 503) }], {
      on: ['end'],
      retries: 2,
      logger,
    });
    await learnerWith(down).fit(1);
    expect(down.attempts).toHaveLength(3);
    const gaps = [1, 2].map((i) => (down.attempts[i]?.at ?? 0) - (down.attempts[i - 1]?.at ?? 0));
    // 500 ms, then 1000 ms, each × [1, 2) jitter: the ranges meet at 1000 ms, so two waits at their
    // edges (plus a loaded machine's timer lateness) compare either way; each is held to its own floor.
    expect(gaps[0]).toBeGreaterThanOrEqual(450);
    expect(gaps[1]).toBeGreaterThanOrEqual(950);
    expect(lines).toEqual(['epochcast scripted: could not deliver the end message: 503 Service Unavailable']);
    expect(down.report.failed).toEqual([{ event: 'end', reason: '503 Service Unavailable' }]);
  });

  test('PermanentError (401, 400, 404) is not retried', async () => {
    const { lines, logger } = warnings();
    const refused = new ScriptedNotifier([{ error: () => new PermanentError('401 Unauthorized', 401) }], { on: ['end'], logger });
    await learnerWith(refused).fit(1);
    expect(refused.attempts).toHaveLength(1);
    expect(lines).toEqual(['epochcast scripted: could not deliver the end message: refused: 401 Unauthorized (not retried)']);
  });

  test('a failing epoch message warns once per outage, not once per epoch, and never reaches training', async () => {
    const { lines, logger } = warnings();
    const refused = new ScriptedNotifier([{ error: () => new PermanentError('400 Bad Request: chat not found') }], {
      on: ['epoch'],
      logger,
    });
    await learnerWith(refused).fit(5);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/could not deliver an epoch message: refused: 400 Bad Request: chat not found/);
  });
});

describe('the end of a run', () => {
  test('the flush is bounded: a service that never answers delays the end by flushTimeoutMs, then one warning', async () => {
    const { lines, logger } = warnings();
    const hung = new ScriptedNotifier([{ hang: true }], { on: ['end'], flushTimeoutMs: 300, timeoutMs: 60_000, logger });
    const started = performance.now();
    await learnerWith(hung).fit(1);
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(1500);
    expect(lines).toEqual(['epochcast scripted: could not deliver the end message: flush bound of 300 ms reached']);
  });

  test('timeoutMs bounds each attempt; a timed-out attempt is retried', async () => {
    const slowThenOk = new ScriptedNotifier([{ hang: true }, {}], { on: ['end'], timeoutMs: 100, retries: 1 });
    await learnerWith(slowThenOk).fit(1);
    expect(slowThenOk.attempts).toHaveLength(2);
    expect(slowThenOk.events()).toEqual(['end']);
  });

  test('a crash sends an error notification with the stack before the error reaches the caller', async () => {
    const notifier = new ScriptedNotifier();
    const order: string[] = [];
    class Crash extends Callback {
      override onEpochBegin(s: TrainingState) {
        if (s.epoch === 2) throw new RangeError('index 7 out of range');
      }
    }
    const fit = learnerWith(notifier, new Crash())
      .fit(5)
      .catch((e: unknown) => {
        order.push(`rejected with ${(e as Error).message}`);
        order.push(`sent by then: ${notifier.events().join(',')}`);
      });
    await fit;
    expect(order[0]).toBe('rejected with callback Crash.onEpochBegin threw: index 7 out of range');
    expect(order[1]).toMatch(/,error$/);
    const error = notifier.sent.at(-1)?.notification;
    expect(error?.status).toBe('failed');
    expect(error?.error?.name).toBe('CallbackError');
    expect(error?.error?.stack).toMatch(/index 7 out of range[\s\S]*at /);
    expect(error?.history).toHaveLength(2);
  });

  test('learn.stop() ends with an end message that says stopped and why', async () => {
    const notifier = new ScriptedNotifier();
    class Stop extends Callback {
      override onEpochEnd(s: TrainingState) {
        if (s.epoch === 1) s.learner.stop('stopped from chat by @ada');
      }
    }
    await learnerWith(notifier, new Stop()).fit(5);
    expect(notifier.sent.at(-1)?.notification).toMatchObject({ event: 'end', status: 'stopped', stopReason: 'stopped from chat by @ada' });
  });
});

describe('who sends what', () => {
  test('on narrows the events; the start message describes the run', async () => {
    const notifier = new ScriptedNotifier([{}], { on: ['start', 'end'], runName: 'mnist-mlp' });
    await learnerWith(notifier).fitOneCycle(2, { lrMax: 1e-2 });
    expect(notifier.events()).toEqual(['start', 'end']);
    const run = notifier.sent[0]?.notification.run;
    expect(run?.name).toBe('mnist-mlp');
    expect(run?.id).toMatch(/^[0-9a-f]{8}$/);
    expect(run?.totalEpochs).toBe(2);
    expect(run?.schedule).toMatch(/^one-cycle lrMax=0.01/);
    expect(run?.params).toBe(3 * 16 + 16 + 16 * 3 + 3);
    expect(run?.backend).toBe('cpu');
    expect(notifier.sent[1]?.notification.run.id).toBe(run?.id);
    // The end message carries the loss plot (the service shows images; plot defaults to on).
    expect(notifier.sent[1]?.notification.plot?.svg).toMatch(/^<svg/);
  });

  test('the history in a message is a snapshot of its epoch, copied once for all notifiers', async () => {
    const a = new ScriptedNotifier([{}], { on: ['epoch'] });
    const b = new ScriptedNotifier([{}], { on: ['epoch'] });
    class Pause extends Callback {
      override async onEpochEnd() {
        await new Promise((r) => setTimeout(r, 30));
      }
    }
    const learn = learnerWith(a, b, new Pause());
    await learn.fit(3);
    const first = a.sent.find((s) => s.notification.stats?.epoch === 0)?.notification.history;
    expect(first).toHaveLength(1);
    expect(first).not.toBe(learn.recorder.history);
    const sameEpoch = b.sent.find((s) => s.notification.stats?.epoch === 0)?.notification.history;
    expect(sameEpoch).toBe(first);
  });

  test('every notifier of one fit names it with the same run id', async () => {
    const a = new ScriptedNotifier([{}], { on: ['end'] });
    const b = new ScriptedNotifier([{}], { on: ['start', 'end'] });
    await learnerWith(a, b).fit(1);
    const ids = new Set([...a.sent, ...b.sent].map((s) => s.notification.run.id));
    expect(ids.size).toBe(1);
  });

  test('each fit is a new run id', async () => {
    const notifier = new ScriptedNotifier([{}], { on: ['end'] });
    const learn = learnerWith(notifier);
    await learn.fit(1);
    await learn.fit(1);
    const [a, b] = notifier.sent.map((s) => s.notification.run.id);
    expect(a).not.toBe(b);
  });

  test('rank > 0 sends only errors, and says its rank', async () => {
    process.env.RANK = '2';
    const notifier = new ScriptedNotifier();
    await learnerWith(notifier).fit(2);
    expect(notifier.sent).toHaveLength(0);
    class Crash extends Callback {
      override onEpochEnd() {
        throw new Error('rank 2 ran out of memory');
      }
    }
    await expect(learnerWith(notifier, new Crash()).fit(2)).rejects.toThrow(CallbackError);
    expect(notifier.events()).toEqual(['error']);
    expect(notifier.sent[0]?.notification.run.host).toMatch(/ rank 2$/);
    expect(notifier.sent[0]?.notification.run.rank).toBe(2);
  });

  test('EPOCHCAST_DISABLE=1 and enabled: false are silent: no verify, no send', async () => {
    process.env.EPOCHCAST_DISABLE = '1';
    const disabledByEnv = new ScriptedNotifier([{}], { failVerify: 'would fail' });
    await learnerWith(disabledByEnv).fit(2);
    delete process.env.EPOCHCAST_DISABLE;
    const disabled = new ScriptedNotifier([{}], { enabled: false, failVerify: 'would fail' });
    await learnerWith(disabled).fit(2);
    for (const n of [disabledByEnv, disabled]) {
      expect(n.attempts).toHaveLength(0);
      expect(n.verified).toBe(0);
    }
  });

  test('bad options are clear errors at construction', () => {
    expect(() => new ScriptedNotifier([], { on: ['end', 'finish' as never] })).toThrow(
      'ScriptedNotifier: on must be a list of events from start, epoch, end, error, interrupt, alert; received an array of length 2 containing "finish".',
    );
    expect(() => new ScriptedNotifier([], { every: 0 })).toThrow('ScriptedNotifier: every must be an integer >= 1; received 0.');
    expect(() => new ScriptedNotifier([], { timeoutMs: -5 })).toThrow(/timeoutMs must be a finite number > 0; received -5/);
    expect(() => new ScriptedNotifier([], { runName: '  ' })).toThrow(/runName must be a non-empty string/);
  });
});

describe('notify() outside a fit', () => {
  test('a flush that timed out does not poison the next message', async () => {
    const { lines, logger } = warnings();
    const notifier = new ScriptedNotifier([{ hang: true }, {}], { logger, timeoutMs: 60_000 });
    const learn = learnerWith();
    await learn.fit(1);
    const n = {
      event: 'end' as const,
      run: { name: 'job', id: 'abcd1234', host: 'h', rank: 0, startedAt: Date.now(), totalEpochs: 0, schedule: 'job' },
      history: [],
      metricNames: [],
      durationMs: 1,
      status: 'completed' as const,
    };
    const first = await notifier.notify(n, 100);
    expect(first.failed).toHaveLength(1);
    const second = await notifier.notify(n, 1000);
    expect(second.delivered).toEqual(['end']);
    expect(lines).toHaveLength(1);
  });
});

describe('secrets', () => {
  const token = '123456789:AAE-secret-token-value';

  test('a failed verify fails the run before the first epoch, without the token', async () => {
    const notifier = new ScriptedNotifier([{}], {
      secret: token,
      failVerify: `401 Unauthorized for https://api.example/bot${token}/getMe`,
    });
    const epochs: number[] = [];
    class Count extends Callback {
      override onEpochBegin(s: TrainingState) {
        epochs.push(s.epoch);
      }
    }
    const error = (await learnerWith(notifier, new Count())
      .fit(2)
      .catch((e: unknown) => e)) as Error;
    expect(error.message).toBe(
      'callback ScriptedNotifier.onTrainBegin threw: scripted: 401 Unauthorized for https://api.example/bot***/getMe',
    );
    expect(epochs).toEqual([]);
    expect(notifier.attempts).toHaveLength(0);
  });

  test('a token inside an HTTP error never reaches a warning, and a training error quoting it is redacted in the message', async () => {
    const { lines, logger } = warnings();
    const leaky = new ScriptedNotifier(
      [{ error: () => new Error(`connect ECONNREFUSED https://api.example/bot${token}/sendMessage`) }, {}],
      {
        secret: token,
        retries: 0,
        on: ['start', 'error'],
        logger,
      },
    );
    class Crash extends Callback {
      override onEpochEnd() {
        throw new Error(`request to https://api.example/bot${token}/x failed`);
      }
    }
    await expect(learnerWith(leaky, new Crash()).fit(2)).rejects.toThrow();
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toContain(token);
    expect(lines.join('\n')).toContain('bot***/sendMessage');
    const error = leaky.sent.find((s) => s.notification.event === 'error')?.notification;
    expect(JSON.stringify(error)).not.toContain(token);
    expect(error?.error?.message).toContain('bot***/x');
    expect(JSON.stringify(leaky.report)).not.toContain(token);
  });
});
