import { PassThrough } from 'node:stream';
import { accuracy, Callback, CancelFitError, EarlyStopping, type Learner, ProgressCallback, type TrainingState } from '@epochcast/core';
import { toyLearner } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { TensorsAtEpoch1 } from '../helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A stream that keeps everything written to it; `columns` makes it look like a terminal of that width. */
function collector(columns?: number): { stream: PassThrough & { columns?: number; isTTY?: boolean }; text: () => string } {
  const stream = new PassThrough() as PassThrough & { columns?: number; isTTY?: boolean };
  if (columns) stream.columns = columns;
  const chunks: string[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c.toString()));
  return { stream, text: () => chunks.join('') };
}

/** What a terminal would finally show: each `\r` + erase-line overwrites the current line. */
function screen(output: string): string[] {
  const lines: string[] = [];
  for (const raw of output.split('\n')) {
    const segments = raw.split('\r\x1b[2K');
    lines.push(segments[segments.length - 1] ?? '');
  }
  return lines.filter((l) => l.length > 0);
}

function learner(callbacks: Callback[]): Learner {
  return toyLearner(callbacks, { samples: 256, batchSize: 32, metrics: [accuracy] });
}

/** Column start offsets of a table line (cells are separated by at least two spaces). */
function columnStarts(line: string): number[] {
  return [...line.matchAll(/(?:^|\s{2,})(\S)/g)].map((m) => (m.index ?? 0) + m[0].length - 1);
}

describe('ProgressCallback', () => {
  test('not a TTY: only the header and one plain row per epoch, columns lined up', async () => {
    const out = collector();
    await learner([new ProgressCallback({ stream: out.stream, tty: false })]).fit(3, { lr: 1e-2 });
    const text = out.text();
    expect(text).not.toContain('\r');
    expect(text).not.toContain('\x1b');
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^epoch\s+train_loss\s+valid_loss\s+accuracy\s+time$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['0', '1', '2']);
    for (const row of lines.slice(1)) {
      expect(row).toMatch(/^\d\s+\d+\.\d{6}\s+\d+\.\d{6}\s+\d\.\d{6}\s+\d\d:\d\d$/);
      expect(columnStarts(row)).toEqual(columnStarts(lines[0] ?? ''));
    }
  });

  test('TTY: a bar redrawn in place with batches, times and the smoothed loss, then the table', async () => {
    const out = collector(100);
    const seen: number[] = [];
    class LossSpy extends Callback {
      override order = 70;
      override onBatchEnd(s: TrainingState) {
        if (s.training) seen.push(s.smoothLoss);
      }
    }
    await learner([new ProgressCallback({ stream: out.stream, tty: true, refreshMs: 0 }), new LossSpy()]).fit(2, { lr: 1e-2 });
    const text = out.text();
    expect(text).toContain('\r\x1b[2K');
    // 192 training samples in batches of 32 → 6 batches; 64 validation samples → 2 batches.
    expect(text).toMatch(/epoch 1\/2 \[#+-*\] 3\/6 \d\d:\d\d<\d\d:\d\d loss \d\.\d{4}/);
    expect(text).toContain('epoch 2/2 [');
    expect(text).toMatch(/epoch 2\/2 valid \[#+-*\] 1\/2/);
    expect(text).toContain(`loss ${(seen[seen.length - 1] as number).toFixed(4)}`);
    // No drawn line is wider than the terminal.
    for (const segment of text.replaceAll('\r\x1b[2K', '\n').split('\n')) expect(segment.length).toBeLessThan(100);
    const shown = screen(text);
    expect(shown).toHaveLength(3);
    expect(shown[0]).toMatch(/^epoch\s+train_loss\s+valid_loss\s+accuracy\s+time$/);
    expect(columnStarts(shown[2] ?? '')).toEqual(columnStarts(shown[0] ?? ''));
    // The bar is erased at the end: the output ends with the erase sequence, not a half-drawn bar.
    expect(text.endsWith('\r\x1b[2K') || text.endsWith('\n')).toBe(true);
  });

  test('TTY redraws are throttled to refreshMs, not one per batch', async () => {
    const out = collector(120);
    await learner([new ProgressCallback({ stream: out.stream, tty: true, refreshMs: 60_000 })]).fit(3, { lr: 1e-2 });
    const draws = out.text().split('\r\x1b[2K').length - 1;
    // Forced draws only: the start of each epoch and of each validation pass (2 per epoch), plus
    // the erase before each table row and at the end. 6 train + 2 valid batches per epoch would
    // otherwise redraw 24 more times.
    expect(draws).toBeLessThanOrEqual(3 * 2 + 3 + 1);
  });

  test('prints why the run stopped, failed or was interrupted', async () => {
    const stopped = collector();
    await learner([new ProgressCallback({ stream: stopped.stream, tty: false }), new EarlyStopping({ minDelta: 100 })]).fit(5, {
      lr: 1e-2,
    });
    expect(stopped.text()).toMatch(/training stopped after 2\/5 epochs: early stopping: validLoss .* has not improved for 1 epoch/);

    const failed = collector(80);
    class Boom extends Callback {
      override onEpochEnd(s: TrainingState) {
        if (s.epoch === 1) throw new Error('disk full');
      }
    }
    await expect(learner([new ProgressCallback({ stream: failed.stream, tty: true }), new Boom()]).fit(3)).rejects.toThrow(/disk full/);
    expect(screen(failed.text()).at(-1)).toMatch(/^training failed after 2\/3 epochs: callback Boom\.onEpochEnd threw: disk full$/);

    const interrupted = collector();
    class CtrlC extends Callback {
      override onBatchEnd(s: TrainingState) {
        if (s.epoch === 1 && s.batch === 2) throw new CancelFitError('SIGINT', 'interrupted');
      }
    }
    await learner([new ProgressCallback({ stream: interrupted.stream, tty: false }), new CtrlC()]).fit(3);
    expect(interrupted.text().trimEnd().split('\n').at(-1)).toBe('training interrupted after 1/3 epochs: SIGINT');
  });

  test('sits out lrFind, and defaults to the stream being a TTY or not', async () => {
    const out = collector();
    const learn = learner([new ProgressCallback({ stream: out.stream })]);
    await learn.lrFind({ numIt: 10 });
    expect(out.text()).toBe('');
    expect(new ProgressCallback({ stream: out.stream }).tty).toBe(false);
    out.stream.isTTY = true;
    expect(new ProgressCallback({ stream: out.stream }).tty).toBe(true);
  });

  test('does not leak tensors', async () => {
    const out = collector(100);
    const probe = new TensorsAtEpoch1();
    await learner([new ProgressCallback({ stream: out.stream, tty: true, refreshMs: 0 }), probe]).fit(4, { lr: 1e-2 });
    expect(tf.memory().numTensors).toBe(probe.count);
  });

  test('rejects bad options with a message naming the option', () => {
    expect(() => new ProgressCallback({ stream: 'stdout' as unknown as NodeJS.WritableStream })).toThrow(
      /ProgressCallback: stream must be a writable stream .* received "stdout"/,
    );
    expect(() => new ProgressCallback({ tty: 'yes' as unknown as boolean })).toThrow(
      /ProgressCallback: tty must be true or false; received "yes"/,
    );
    expect(() => new ProgressCallback({ refreshMs: -1 })).toThrow(/ProgressCallback: refreshMs must be a finite number >= 0; received -1/);
  });
});
