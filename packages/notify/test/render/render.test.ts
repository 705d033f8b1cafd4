import {
  failedNotification,
  HOSTILE_TEXT,
  hostileNotification,
  SAMPLE_HISTORY,
  SAMPLE_STACK,
  sampleNotification,
  sampleStats,
} from '@epochcast/testkit';
import { describe, expect, it } from 'vitest';
import {
  type AlertLevel,
  bestEpoch,
  epochTable,
  formatDuration,
  formatLoss,
  formatMetric,
  headline,
  metricGoal,
  type Notification,
  notificationDetails,
  notificationOutcome,
  OUTCOME_EMOJI,
  renderText,
  selectEpochRows,
  trimStack,
} from '../../src/index.js';

const note = sampleNotification;
const failed = failedNotification;
const HISTORY = SAMPLE_HISTORY;
const EVIL = HOSTILE_TEXT;
const evil = hostileNotification();
const STACK = SAMPLE_STACK;
const stats = sampleStats;

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [850, '850ms'],
    [999.6, '1s'],
    [45_000, '45s'],
    [59_600, '1m 00s'],
    [192_000, '3m 12s'],
    [65_000, '1m 05s'],
    [3_723_000, '1h 02m 03s'],
    [86_399_600, '1d 00h 00m'],
    [(2 * 86_400 + 3 * 3600 + 4 * 60) * 1000, '2d 03h 04m'],
    [-5, '0ms'],
    [Number.NaN, '—'],
  ])('%d ms → %s', (ms, want) => {
    expect(formatDuration(ms)).toBe(want);
  });
});

describe('numbers', () => {
  it.each([
    [0.21712345, '0.2171'],
    [1.23456, '1.235'],
    [12.3456, '12.35'],
    [12345.67, '12346'],
    [123456.7, '123457'],
    [999999.7, '1.000e+6'],
    [0.0000123456, '1.235e-5'],
    [0, '0'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [-0.5, '-0.5000'],
  ])('formatLoss(%d) = %s', (x, want) => {
    expect(formatLoss(x)).toBe(want);
  });

  it('shows rates as percentages, everything else like a loss', () => {
    expect(formatMetric('accuracy', 0.97123)).toBe('97.12%');
    expect(formatMetric('top_5_acc', 0.5)).toBe('50.00%');
    expect(formatMetric('errorRate', 0.0288)).toBe('2.88%');
    expect(formatMetric('error_rate', 0.0288)).toBe('2.88%');
    expect(formatMetric('f1_score', 1)).toBe('100.00%');
    expect(formatMetric('valid_loss', 0.18432)).toBe('0.1843');
    expect(formatMetric('mae', 2.34567)).toBe('2.346');
    expect(formatMetric('accuracy', Number.NaN)).toBe('NaN');
    // A "percent" metric already on a 0–100 scale is not multiplied again.
    expect(formatMetric('accuracy', 97.1)).toBe('97.10');
  });

  it('knows which way metrics improve', () => {
    expect(metricGoal('accuracy')).toBe('max');
    expect(metricGoal('top_5_acc')).toBe('max');
    expect(metricGoal('error_rate')).toBe('min');
    expect(metricGoal('errorRate')).toBe('min');
    expect(metricGoal('valid_loss')).toBe('min');
    expect(metricGoal('mse')).toBe('min');
    expect(metricGoal('something')).toBe('min');
  });
});

describe('bestEpoch', () => {
  it('takes the first metric, max for accuracy-like', () => {
    expect(bestEpoch(HISTORY, ['accuracy'])).toEqual({ epoch: 3, index: 3, name: 'accuracy', value: 0.9712, goal: 'max' });
  });
  it('takes min for error-like metrics', () => {
    const h = HISTORY.map((s, i) => ({ ...s, metrics: { error_rate: [0.1, 0.05, 0.07, 0.05, 0.2][i] ?? 1 } }));
    expect(bestEpoch(h, ['error_rate'])).toMatchObject({ index: 1, goal: 'min' });
  });
  it('falls back to the lowest valid loss, and skips NaN', () => {
    expect(bestEpoch(HISTORY, [])).toMatchObject({ index: 3, name: 'valid_loss', value: 0.1003 });
    const h = HISTORY.map((s, i) => ({ ...s, metrics: { accuracy: Number.NaN }, validLoss: i === 0 ? Number.NaN : s.validLoss }));
    expect(bestEpoch(h, ['accuracy'])).toMatchObject({ index: 3, name: 'valid_loss' });
    expect(bestEpoch([], ['accuracy'])).toBeUndefined();
  });
});

describe('headline', () => {
  it('a resumed run starts with how far it had got, counted as the epoch messages count, and lists it among the details', () => {
    const resumed = note({ event: 'start', status: 'running', history: HISTORY.slice(0, 3), stats: undefined, durationMs: 0 });
    resumed.run = { ...resumed.run, resumedFromEpoch: 3 };
    expect(headline(resumed)).toBe(
      '⏳ mnist-mlp (a1b2c3d4) resumed after epoch 3/5 on gpu-01 · 5 epochs · one-cycle lrMax=0.003 pctStart=0.3 divFactor=25',
    );
    expect(notificationDetails(resumed)).toContainEqual(['resumed', 'after epoch 3/5']);
    expect(renderText(resumed)).toContain('resumed after epoch 3/5');
    const fresh = note({ event: 'start', status: 'running', history: [], stats: undefined, durationMs: 0 });
    expect(notificationDetails(fresh).map(([k]) => k)).not.toContain('resumed');
  });
  it('says what each event means, one line', () => {
    expect(headline(note({ event: 'start', status: 'running', history: [], stats: undefined, durationMs: 0 }))).toBe(
      '⏳ mnist-mlp (a1b2c3d4) started on gpu-01 · 5 epochs · one-cycle lrMax=0.003 pctStart=0.3 divFactor=25',
    );
    expect(headline(note({ event: 'epoch', status: 'running', history: HISTORY.slice(0, 3), stats: HISTORY[2] }))).toBe(
      // Two epochs to go at 38.4 s each.
      '📈 mnist-mlp epoch 3/5 · train_loss 0.1340 · valid_loss 0.1291 · accuracy 96.33% · ETA 1m 17s',
    );
    expect(headline(note())).toBe('✅ mnist-mlp completed 5 epochs in 3m 12s · best accuracy 97.12% (epoch 4/5)');
    expect(headline(failed())).toBe('❌ mnist-mlp failed after 2/5 epochs (1m 05s): TypeError: x is undefined');
    expect(
      headline(note({ event: 'interrupt', status: 'interrupted', stopReason: 'SIGINT', history: HISTORY.slice(0, 2), durationMs: 65_000 })),
    ).toBe('⚠️ mnist-mlp interrupted (SIGINT) after 2/5 epochs (1m 05s)');
    expect(
      headline(
        note({ status: 'stopped', stopReason: 'EarlyStopping: valid_loss did not improve for 1 epoch', history: HISTORY.slice(0, 4) }),
      ),
    ).toBe(
      '⏹ mnist-mlp stopped after 4/5 epochs (3m 12s): EarlyStopping: valid_loss did not improve for 1 epoch · best accuracy 97.12% (epoch 4/5)',
    );
  });

  it('counts epochs without a total while the planned number is unknown (a reported training), and then shows no ETA', () => {
    const unknown = HISTORY.slice(0, 3).map((h) => ({ ...h, totalEpochs: 0 }));
    const run = { ...note().run, totalEpochs: 0, schedule: '$ python train.py' };
    expect(headline(note({ event: 'epoch', status: 'running', run, history: unknown, stats: unknown[2] }))).toBe(
      '📈 mnist-mlp epoch 3 · train_loss 0.1340 · valid_loss 0.1291 · accuracy 96.33%',
    );
    expect(headline(note({ run, history: unknown }))).toBe('✅ mnist-mlp completed 3 epochs in 3m 12s · best accuracy 96.33% (epoch 3)');
    expect(
      headline(
        note({ event: 'error', status: 'failed', run, history: unknown.slice(0, 1), error: { name: 'exit code 1', message: 'boom' } }),
      ),
    ).toBe('❌ mnist-mlp failed after 1 epoch (3m 12s): exit code 1: boom');
  });

  it('estimates the time left from the latest epochs only', () => {
    // A slow first epoch (compilation) stops counting once five faster ones followed.
    const history = [0, 1, 2, 3, 4, 5].map((i) => ({ ...stats(i, 10, { accuracy: 0.9 }, 0.2, 0.2), timeMs: i === 0 ? 600_000 : 60_000 }));
    const h = headline(note({ event: 'epoch', status: 'running', run: { ...note().run, totalEpochs: 10 }, history, stats: history[5] }));
    expect(h).toMatch(/ · ETA 4m 00s$/);
    const last = history.slice(0, 5).map((e) => ({ ...e, totalEpochs: 5 }));
    expect(headline(note({ event: 'epoch', status: 'running', history: last, stats: last[4] }))).not.toMatch(/ETA/);
  });

  it('treats an end with status failed as a failure', () => {
    expect(headline(note({ status: 'failed' }))).toMatch(/^❌ mnist-mlp failed after 5\/5 epochs/);
  });

  it('keeps user text on one line and short', () => {
    const h = headline(note({ run: { ...note().run, name: `a\nb\r\nc\u0000d${'x'.repeat(500)}` }, error: undefined }));
    expect([...h].some((c) => c === '\n' || c === '\r' || c === '\u0000')).toBe(false);
    expect(h.startsWith('✅ a b c d')).toBe(true);
    expect(h.length).toBeLessThanOrEqual(400);
  });
});

describe('epochTable', () => {
  const long = Array.from({ length: 200 }, (_, i) =>
    stats(i, 200, { accuracy: i === 57 ? 0.999 : 0.5 + i / 1000 }, 1 / (i + 1), 1 / (i + 2)),
  );

  it('aligns the full table and marks the best row', () => {
    const t = epochTable(HISTORY, ['accuracy']);
    expect(t.split('\n')).toEqual([
      'epoch  train_loss  valid_loss  accuracy  time',
      '0      0.512345    0.301200    0.881100  00:38',
      '1      0.217100    0.184300    0.940500  00:38',
      '2      0.134000    0.129100    0.963300  00:38',
      '3      0.095100    0.100300    0.971200  00:38  ← best',
      '4      0.071200    0.101200    0.970100  00:38',
    ]);
  });

  it('trims 200 epochs to header, first, best and the last ones', () => {
    const lines = epochTable(long, ['accuracy'], { maxRows: 10 }).split('\n');
    expect(lines[0]).toMatch(/^epoch\s+train_loss\s+valid_loss\s+accuracy\s+time$/);
    expect(lines[1]).toMatch(/^0\s/);
    expect(lines[2]).toBe('… 56 epochs skipped');
    expect(lines[3]).toMatch(/^57\s.*← best$/);
    expect(lines[4]).toBe('… 134 epochs skipped');
    expect(lines.slice(5).map((l) => l.split(/\s+/)[0])).toEqual(['192', '193', '194', '195', '196', '197', '198', '199']);
  });

  it('fits maxChars by dropping rows, keeping first, best and last', () => {
    const t = epochTable(long, ['accuracy'], { maxChars: 500 });
    expect(t.length).toBeLessThanOrEqual(500);
    expect(t).toMatch(/^0 /m);
    expect(t).toMatch(/^57 .*← best$/m);
    expect(t).toMatch(/^199 /m);
  });

  it('cuts lines when even one row is too wide', () => {
    const names = Array.from({ length: 40 }, (_, i) => `metric_number_${i}`);
    const t = epochTable(long, names, { maxChars: 120 });
    expect(t.length).toBeLessThanOrEqual(120);
  });

  it('selects rows by priority', () => {
    expect(selectEpochRows(3, 10)).toEqual([{ index: 0 }, { index: 1 }, { index: 2 }]);
    expect(selectEpochRows(10, 4, 5)).toEqual([{ index: 0 }, { skipped: 4 }, { index: 5 }, { skipped: 2 }, { index: 8 }, { index: 9 }]);
    expect(selectEpochRows(10, 1, 5)).toEqual([{ skipped: 9 }, { index: 9 }]);
  });
});

describe('trimStack', () => {
  const stack = ['Error: boom', ...Array.from({ length: 499 }, (_, i) => `    at frame${i} (file:///app/f${i}.js:${i}:1)`)].join('\n');

  it('keeps the head and the tail of a 500-line stack', () => {
    const t = trimStack(stack, 2000);
    expect(t.length).toBeLessThanOrEqual(2000);
    const lines = t.split('\n');
    expect(lines[0]).toBe('Error: boom');
    expect(lines[1]).toContain('frame0 ');
    expect(lines.at(-1)).toContain('frame498 ');
    const marker = lines.find((l) => l.startsWith('…'));
    const omitted = Number(marker?.match(/… (\d+) lines omitted …/)?.[1]);
    expect(omitted + lines.length - 1).toBe(500);
  });

  it('leaves a short stack alone, honours maxLines and cuts long lines', () => {
    expect(trimStack('a\nb\r\nc\n\n', 100)).toBe('a\nb\nc');
    expect(trimStack(stack, 100_000, { maxLines: 4 }).split('\n')).toHaveLength(5);
    expect(trimStack('x'.repeat(10_000), 300).length).toBeLessThanOrEqual(300);
    expect(trimStack(`Error\n${'y'.repeat(10_000)}`, 100_000).length).toBeLessThanOrEqual(506);
  });
});

describe('plain text', () => {
  it('plain text keeps everything as is', () => {
    const t = renderText(note());
    expect(t).toContain('✅ mnist-mlp completed 5 epochs in 3m 12s');
    expect(t).toContain('epoch  train_loss  valid_loss  accuracy  time');
    expect(t).toMatch(/^params: +101,770$/m);
    expect(renderText(evil)).toContain(EVIL);
    expect(renderText(failed())).toContain(STACK);
  });
  it('plain text fits maxLength', () => {
    expect(renderText(failed(), { maxLength: 200 }).length).toBeLessThanOrEqual(200);
  });
});

describe('alerts', () => {
  const alert = (text: string, level: AlertLevel, overrides: Partial<Notification> = {}) =>
    note({
      event: 'alert',
      status: 'running',
      history: HISTORY.slice(0, 3),
      stats: HISTORY[2],
      durationMs: 115_000,
      alert: { text, level },
      ...overrides,
    });

  it('the headline names the run and quotes the text, the level picks the emoji', () => {
    expect(headline(alert('valid_loss is NaN', 'critical'))).toBe('🚨 mnist-mlp · valid_loss is NaN');
    expect(headline(alert('valid_loss rose 4× in one epoch', 'warning'))).toBe('🔔 mnist-mlp · valid_loss rose 4× in one epoch');
    expect(headline(alert('checkpoint saved', 'info'))).toBe('ℹ️ mnist-mlp · checkpoint saved');
    expect(headline(alert('checkpoint saved', 'info'), { emoji: false })).toBe('mnist-mlp · checkpoint saved');
    // Whatever the fit's status: an alert is an alert.
    expect(notificationOutcome(alert('x', 'info', { status: 'failed' }))).toBe('alert');
    expect(OUTCOME_EMOJI.alert).toBe('🔔');
  });

  it('the headline is one line, the text in it cut like other user text', () => {
    const h = headline(alert(`first line\r\nsecond\u0000line ${'x'.repeat(500)}`, 'critical'));
    expect([...h].some((c) => c === '\n' || c === '\r' || c === '\u0000')).toBe(false);
    expect(h.startsWith('🚨 mnist-mlp · first line second line xxx')).toBe(true);
    expect(h.endsWith('…')).toBe(true);
    expect(h.length).toBeLessThanOrEqual('🚨 mnist-mlp · '.length + 200);
  });

  it('the body: the whole text when the headline shows less, then the run details with the epochs so far; no table', () => {
    const long = `valid_loss diverged:\n  epoch 2: 0.1843\n  epoch 3: 0.7372 (4.0×)\n${'Check the learning rate. '.repeat(12)}`;
    const text = renderText(alert(long, 'warning'));
    const [head, body, details] = text.split('\n\n');
    expect(head?.startsWith('🔔 mnist-mlp · valid_loss diverged: epoch 2: 0.1843 epoch 3: 0.7372 (4.0×) Check')).toBe(true);
    expect(body).toBe(long.trim());
    expect(details?.split('\n').map((l) => l.split(':')[0])).toEqual(['run', 'host', 'started', 'duration', 'epochs']);
    expect(text).toMatch(/^epochs: +3\/5$/m);
    expect(text).toMatch(/^duration: +1m 55s$/m);
    expect(text).not.toContain('train_loss');
    expect(notificationDetails(alert('x', 'info')).map(([k]) => k)).toEqual(['run', 'host', 'started', 'duration', 'epochs']);
  });

  it('a short text is said once; an alert outside a fit has no epochs to count', () => {
    const short = renderText(alert('checkpoint saved', 'info'));
    expect(short.split('checkpoint saved')).toHaveLength(2);
    const job = alert('disk 97% full', 'critical', {
      history: [],
      stats: undefined,
      run: { ...note().run, totalEpochs: 0, schedule: 'job' },
    });
    expect(headline(job)).toBe('🚨 mnist-mlp · disk 97% full');
    expect(notificationDetails(job).map(([k]) => k)).toEqual(['run', 'host', 'started', 'duration']);
  });

  it('the text is cleaned of control characters and kept within the room of a message', () => {
    const text = renderText(alert(`a\u0000b\u202e\n${'long line '.repeat(100)}`, 'critical'), { maxLength: 300 });
    expect(text.length).toBeLessThanOrEqual(300);
    expect(text).not.toContain('\u0000');
    expect(text.startsWith('🚨 mnist-mlp · a b')).toBe(true);
  });
});
