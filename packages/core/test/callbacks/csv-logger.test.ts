import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { accuracy, Callback, CancelEpochError, CSVLogger, type Learner, mae, type TrainingState } from '@epochcast/core';
import { toyLearner } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { TensorsAtEpoch1 } from '../helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'epochcast-csv-'));
const rows = (file: string) => fs.readFileSync(file, 'utf8').trimEnd().split('\n');

function learner(callbacks: Callback[]): Learner {
  return toyLearner(callbacks, { samples: 256, batchSize: 32, metrics: [accuracy, mae] });
}

describe('CSVLogger', () => {
  test('writes a header and one row per epoch matching the recorder, in a directory it creates', async () => {
    const file = path.join(tmp(), 'nested', 'dir', 'history.csv');
    const learn = learner([new CSVLogger(file)]);
    await learn.fit(3, { lr: 1e-2 });
    const lines = rows(file);
    expect(lines[0]).toBe('epoch,train_loss,valid_loss,accuracy,mae,time');
    expect(lines).toHaveLength(4);
    learn.recorder.history.forEach((s, i) => {
      const [epoch, trainLoss, validLoss, acc, maeValue, time] = (lines[i + 1] ?? '').split(',').map(Number);
      expect(epoch).toBe(i);
      expect(trainLoss).toBe(s.trainLoss);
      expect(validLoss).toBe(s.validLoss);
      expect(acc).toBe(s.metrics.accuracy);
      expect(maeValue).toBe(s.metrics.mae);
      expect(time).toBeCloseTo(s.timeMs / 1000, 3);
    });
  });

  test('a crash at epoch 3 leaves epochs 0–2 on disk, written before the crash', async () => {
    const file = path.join(tmp(), 'history.csv');
    let onDiskAtCrash: string[] = [];
    class Crash extends Callback {
      override onEpochBegin(s: TrainingState) {
        if (s.epoch !== 3) return;
        // Read while the logger still holds the file open: the rows must already be on disk.
        onDiskAtCrash = rows(file);
        throw new Error('out of memory');
      }
    }
    const learn = learner([new CSVLogger(file), new Crash()]);
    await expect(learn.fit(6, { lr: 1e-2 })).rejects.toThrow(/out of memory/);
    expect(onDiskAtCrash).toHaveLength(4);
    expect(onDiskAtCrash.slice(1).map((l) => l.split(',')[0])).toEqual(['0', '1', '2']);
    expect(rows(file)).toEqual(onDiskAtCrash);
  });

  test('a new fit replaces the file; append adds rows under the existing header', async () => {
    const file = path.join(tmp(), 'history.csv');
    const learn = learner([new CSVLogger(file)]);
    await learn.fit(2);
    await learn.fit(1);
    expect(rows(file)).toHaveLength(2);

    const appending = learner([new CSVLogger(file, { append: true })]);
    await appending.fit(2);
    const lines = rows(file);
    expect(lines).toHaveLength(4);
    expect(lines.filter((l) => l.startsWith('epoch,'))).toHaveLength(1);
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(['0', '0', '1']);
  });

  test('a missing validation loss is written as NaN, and names with commas are quoted', async () => {
    const file = path.join(tmp(), 'history.csv');
    const weird = (yTrue: tf.Tensor, yPred: tf.Tensor) => accuracy(yTrue, yPred);
    Object.defineProperty(weird, 'name', { value: 'top,1 "acc"' });
    // Cancelling the epoch mid-way skips its validation: valid_loss and the metric are missing.
    class CancelEpoch extends Callback {
      override onBatchEnd(s: TrainingState) {
        if (s.training && s.batch === 1) throw new CancelEpochError('skip');
      }
    }
    const learn = toyLearner([], { samples: 256, batchSize: 32, metrics: [weird] });
    await learn.fit(1, { callbacks: [new CSVLogger(file), new CancelEpoch()] });
    const lines = rows(file);
    expect(lines[0]).toBe('epoch,train_loss,valid_loss,"top,1 ""acc""",time');
    const cells = lines[1]?.match(/^0,([^,]+),NaN,NaN,[\d.]+$/);
    expect(Number(cells?.[1])).toBeGreaterThan(0);
  });

  test('a metric named like a formula (=HYPERLINK, -cmd) is written as text behind a quote; its negative values stay numbers', async () => {
    const file = path.join(tmp(), 'history.csv');
    const link = (yTrue: tf.Tensor, yPred: tf.Tensor) => accuracy(yTrue, yPred);
    Object.defineProperty(link, 'name', { value: '=HYPERLINK("http://x")' });
    const negative = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.sub(accuracy(yTrue, yPred), 2);
    Object.defineProperty(negative, 'name', { value: '-cmd' });
    const learn = toyLearner([], { samples: 64, batchSize: 32, metrics: [link, negative] });
    await learn.fit(1, { callbacks: [new CSVLogger(file)] });
    const lines = rows(file);
    expect(lines[0]).toBe(`epoch,train_loss,valid_loss,"'=HYPERLINK(""http://x"")",'-cmd,time`);
    const value = Number(lines[1]?.split(',')[4]);
    expect(value).toBe(learn.recorder.history[0]?.metrics['-cmd']);
    expect(value).toBeLessThan(0);
  });

  test('does not leak tensors and closes its file', async () => {
    const file = path.join(tmp(), 'history.csv');
    const probe = new TensorsAtEpoch1();
    const openBefore = fs.readdirSync('/proc/self/fd').length;
    await learner([new CSVLogger(file), probe]).fit(4);
    expect(tf.memory().numTensors).toBe(probe.count);
    expect(fs.readdirSync('/proc/self/fd').length).toBe(openBefore);
  });

  test('rejects bad options with a message naming the option', () => {
    expect(() => new CSVLogger('')).toThrow(/CSVLogger: path must be a non-empty file path .* received ""/);
    expect(() => new CSVLogger('x.csv', { append: 'yes' as unknown as boolean })).toThrow(
      /CSVLogger: append must be true or false; received "yes"/,
    );
  });
});
