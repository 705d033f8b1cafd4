/**
 * Notifications to render in tests: a realistic run (`sampleNotification`, `failedNotification`)
 * and, for property tests, `arbitraryNotification` — any notification a hostile user could cause
 * with a run name, a metric name or an error text (markup, escapes, control characters, lone
 * surrogates, emoji, very long lines).
 */
import type { EpochStats, TrainStatus } from '@epochcast/core';
import type { Notification, NotificationError } from '@epochcast/notify';
import type * as FastCheck from 'fast-check';

/** The parts of fast-check the arbitrary is built with (its default export or its namespace). */
export type FastCheckApi = Pick<
  typeof FastCheck,
  'array' | 'constant' | 'constantFrom' | 'double' | 'integer' | 'nat' | 'oneof' | 'option' | 'record' | 'string'
>;

const ACCURACY = [0.8811, 0.9405, 0.9633, 0.9712, 0.9701];
const TRAIN_LOSS = [0.512345, 0.2171, 0.134, 0.0951, 0.0712];
const VALID_LOSS = [0.3012, 0.1843, 0.1291, 0.1003, 0.1012];

/** One row of a history: lr 0.003 and 38.4 s, as the samples use. */
export function sampleStats(
  epoch: number,
  total: number,
  metrics: Record<string, number>,
  trainLoss: number,
  validLoss: number,
): EpochStats {
  return { epoch, totalEpochs: total, trainLoss, validLoss, metrics, lr: 0.003, timeMs: 38_400 };
}

/** Five epochs of a run whose best `accuracy` (97.12%) is epoch 4 of 5 (index 3). */
export const SAMPLE_HISTORY: readonly EpochStats[] = ACCURACY.map((accuracy, i) =>
  sampleStats(i, 5, { accuracy }, TRAIN_LOSS[i] ?? 0, VALID_LOSS[i] ?? 0),
);

/** A stack as a crash inside the training loop has it. */
export const SAMPLE_STACK = [
  'TypeError: x is undefined',
  '    at Dense.call (file:///app/node_modules/@tensorflow/tfjs-layers/dist/layers/core.js:212:19)',
  '    at Learner.oneBatch (file:///app/packages/core/dist/learner.js:301:22)',
  '    at async Learner.fit (file:///app/packages/core/dist/learner.js:188:9)',
].join('\n');

/** Text that breaks every format that forgets to escape it. */
export const HOSTILE_TEXT = '<b>&*_[evil]';

/**
 * The end of a 5-epoch run, `mnist-mlp` (`a1b2c3d4`) on `gpu-01`, completed in 3m 12s; any field
 * can be overridden.
 */
export function sampleNotification(overrides: Partial<Notification> = {}): Notification {
  return {
    event: 'end',
    run: {
      name: 'mnist-mlp',
      id: 'a1b2c3d4',
      host: 'gpu-01',
      rank: 0,
      startedAt: Date.UTC(2025, 0, 2, 3, 4, 5),
      totalEpochs: 5,
      schedule: 'one-cycle lrMax=0.003 pctStart=0.3 divFactor=25',
      params: 101_770,
      backend: 'tensorflow',
    },
    stats: SAMPLE_HISTORY[4],
    history: [...SAMPLE_HISTORY],
    metricNames: ['accuracy'],
    durationMs: 192_000,
    status: 'completed',
    ...overrides,
  };
}

/** The same run failing in its third epoch with a `TypeError` and {@link SAMPLE_STACK}. */
export function failedNotification(): Notification {
  return sampleNotification({
    event: 'error',
    status: 'failed',
    history: SAMPLE_HISTORY.slice(0, 2),
    stats: SAMPLE_HISTORY[1],
    durationMs: 65_000,
    error: { name: 'TypeError', message: 'x is undefined', stack: SAMPLE_STACK },
  });
}

/**
 * The sample run named {@link HOSTILE_TEXT}, on host `h<o>st&`, with metrics named `top_5_acc` and
 * `valid_loss` (a metric that shadows a column name).
 */
export function hostileNotification(): Notification {
  const base = sampleNotification();
  return sampleNotification({
    run: { ...base.run, name: HOSTILE_TEXT, host: 'h<o>st&' },
    metricNames: ['top_5_acc', 'valid_loss'],
    history: SAMPLE_HISTORY.map((s) => ({ ...s, metrics: { valid_loss: s.validLoss, top_5_acc: s.metrics.accuracy ?? 0 } })),
  });
}

/**
 * A fast-check arbitrary of notifications with hostile text everywhere a user can put text, any
 * event with any status, up to 150 epochs, NaN and infinite numbers. Pass your `fast-check`:
 *
 * ```ts
 * import fc from 'fast-check';
 * fc.assert(fc.property(arbitraryNotification(fc), (n) => { … }));
 * ```
 */
export function arbitraryNotification(fc: FastCheckApi): FastCheck.Arbitrary<Notification> {
  // Characters that break formats: markup, escapes, controls, separators, lone surrogates, emoji.
  const nasty = fc.constantFrom(
    ...'<>&*_[]()~`>#+-=|{}.!\\\'";/:'.split(''),
    '\n',
    '\r',
    '\t',
    '\u0000',
    '\u001b',
    '\u007f',
    '\u0085',
    '\u2028',
    '\u200b',
    '\u202e',
    '\uD800',
    '\uDC00',
    '😀',
    '👩‍👩‍👧',
    '&amp;',
    '&#x3c;',
    '```',
    '<script>',
    '</pre>',
    '<b>',
    'a',
    ' ',
  );
  const userText = fc.oneof(
    { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
    { weight: 3, arbitrary: fc.string({ unit: nasty, maxLength: 60 }) },
    { weight: 1, arbitrary: fc.string({ unit: nasty, minLength: 500, maxLength: 6000 }) },
  );
  const multiLine = fc.oneof(
    userText,
    fc.array(fc.oneof(userText, fc.constant('    at f (file:///a.js:1:2)')), { maxLength: 700 }).map((lines) => lines.join('\n')),
  );
  const number = fc.oneof(fc.double(), fc.double({ min: 0, max: 1, noNaN: true }));
  return fc
    .record({
      event: fc.constantFrom('start', 'epoch', 'end', 'error', 'interrupt', 'alert' as const),
      alert: fc.record({ text: multiLine, level: fc.constantFrom('info', 'warning', 'critical' as const) }),
      status: fc.constantFrom<TrainStatus>('running', 'completed', 'stopped', 'failed', 'interrupted'),
      name: userText,
      id: userText,
      host: userText,
      schedule: userText,
      backend: fc.option(userText, { nil: undefined }),
      params: fc.option(fc.oneof(fc.nat(), fc.double()), { nil: undefined }),
      startedAt: fc.oneof(fc.integer({ min: 0, max: 4_000_000_000_000 }), fc.double()),
      totalEpochs: fc.nat({ max: 10_000 }),
      metricNames: fc.array(userText, { maxLength: 5 }),
      rows: fc.array(
        fc.record({ train: number, valid: number, metrics: fc.array(number, { minLength: 5, maxLength: 5 }), time: fc.nat() }),
        {
          maxLength: 150,
        },
      ),
      durationMs: fc.oneof(fc.nat(), fc.double()),
      stopReason: fc.option(userText, { nil: undefined }),
      error: fc.option(fc.record({ name: userText, message: multiLine, stack: fc.option(multiLine, { nil: undefined }) }), {
        nil: undefined,
      }),
    })
    .map((r) => {
      const history: EpochStats[] = r.rows.map((row, epoch) => ({
        epoch,
        totalEpochs: r.totalEpochs,
        trainLoss: row.train,
        validLoss: row.valid,
        metrics: Object.fromEntries(r.metricNames.map((m, i) => [m, row.metrics[i] ?? 0])),
        lr: 0.001,
        timeMs: row.time,
      }));
      const error: NotificationError | undefined = r.error && {
        name: r.error.name,
        message: r.error.message,
        ...(r.error.stack === undefined ? {} : { stack: r.error.stack }),
      };
      return {
        event: r.event,
        status: r.status,
        run: {
          name: r.name,
          id: r.id,
          host: r.host,
          rank: 0,
          startedAt: r.startedAt,
          totalEpochs: r.totalEpochs,
          schedule: r.schedule,
          ...(r.backend === undefined ? {} : { backend: r.backend }),
          ...(r.params === undefined ? {} : { params: r.params }),
        },
        stats: history[history.length - 1],
        history,
        metricNames: r.metricNames,
        durationMs: r.durationMs,
        ...(r.stopReason === undefined ? {} : { stopReason: r.stopReason }),
        ...(error === undefined ? {} : { error }),
      } satisfies Notification;
    });
}

/** Matches a lone UTF-16 surrogate: what no renderer may let through. */
export const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
