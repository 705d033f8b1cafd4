// Keras 2 and 3 fit() output, read as `epochcast run` gets it.
import { expect, test } from 'vitest';
import { batches, epochs, read } from './helpers.js';

const ESC = '\u001b';
/** Keras 3's step line on a terminal or pipe: bold counts, green/grey bar, erased with backspaces before the next. */
function keras3Step(step: number, steps: number, metrics: string, width: number): string {
  const done = Math.floor((20 * step) / steps);
  const bar = `${ESC}[1m${String(step).padStart(String(steps).length)}/${steps}${ESC}[0m ${ESC}[32m${'━'.repeat(done)}${ESC}[0m${ESC}[37m${'━'.repeat(20 - done)}${ESC}[0m`;
  return `${'\b'.repeat(width)}\r${bar} ${ESC}[1m0s${ESC}[0m 5ms/step - ${metrics}`;
}

test('Keras 3 verbose 1: each epoch from its final line, step redraws as batch losses, the total from `Epoch k/N`', () => {
  const text =
    'Epoch 1/2\n' +
    keras3Step(1, 4, 'accuracy: 0.5000 - loss: 0.6934', 0) +
    keras3Step(3, 4, 'accuracy: 0.7500 - loss: 0.5012', 70) +
    `${keras3Step(4, 4, 'accuracy: 0.8125 - loss: 0.4100 - val_accuracy: 0.9000 - val_loss: 0.3500', 70)}\n` +
    'Epoch 2/2\n' +
    keras3Step(2, 4, 'accuracy: 1.0000 - loss: 6.8665e-04', 0) +
    `${keras3Step(4, 4, 'accuracy: 1.0000 - loss: 5.1000e-04 - val_accuracy: 1.0000 - val_loss: 2.0000e-04', 70)}\n`;
  const run = read(text);
  expect(run.events).toContainEqual({ kind: 'epochs', total: 2 });
  expect(epochs(run.events)).toEqual([
    {
      kind: 'epoch',
      epoch: 1,
      total: 2,
      trainLoss: 0.41,
      validLoss: 0.35,
      metrics: { val_accuracy: 0.9, accuracy: 0.8125 },
      source: 'keras',
    },
    { kind: 'epoch', epoch: 2, total: 2, trainLoss: 5.1e-4, validLoss: 2e-4, metrics: { val_accuracy: 1, accuracy: 1 }, source: 'keras' },
  ]);
  expect(batches(run.events)).toEqual([0.6934, 0.5012, 6.8665e-4]);
  expect(run.reader.lastProgressLine).toBe(
    '4/4 ━━━━━━━━━━━━━━━━━━━━ 0s 5ms/step - accuracy: 1.0000 - loss: 5.1000e-04 - val_accuracy: 1.0000 - val_loss: 2.0000e-04',
  );
  // The output passes through untouched.
  expect(run.passed.stdout.toString()).toBe(text);
});

test('Keras 3 verbose 1 arriving a few bytes at a time reads the same', () => {
  const text = `Epoch 1/1\n${keras3Step(2, 4, 'loss: 0.5000', 0)}${keras3Step(4, 4, 'loss: 0.4000 - val_loss: 0.3000', 40)}\n`;
  const run = read(text, { size: 3 });
  expect(epochs(run.events)).toEqual([{ kind: 'epoch', epoch: 1, total: 1, trainLoss: 0.4, validLoss: 0.3, metrics: {}, source: 'keras' }]);
});

test('a diverged Keras run reports nan, not nothing', () => {
  const text = `Epoch 1/1\n${keras3Step(4, 4, 'accuracy: 0.5000 - loss: nan - val_accuracy: 0.5000 - val_loss: nan', 0)}\n`;
  const [epoch] = epochs(read(text).events);
  expect(epoch?.trainLoss).toBeNaN();
  expect(epoch?.validLoss).toBeNaN();
  expect(epoch?.metrics).toEqual({ val_accuracy: 0.5, accuracy: 0.5 });
});

test('Keras 2 verbose 1 on a terminal: `\\r` redraws with ETA, the final line with the validation numbers', () => {
  const text =
    'Epoch 1/3\n' +
    '\r 1/32 [>.............................] - ETA: 3s - loss: 0.6900 - accuracy: 0.5000' +
    '\r16/32 [==============>...............] - ETA: 1s - loss: 0.5500 - accuracy: 0.7000' +
    '\r32/32 [==============================] - 1s 20ms/step - loss: 0.4500 - accuracy: 0.8000 - val_loss: 0.4000 - val_accuracy: 0.8500 - lr: 0.0010\r\n' +
    'Epoch 2/3\n';
  const run = read(text);
  expect(epochs(run.events)).toEqual([
    {
      kind: 'epoch',
      epoch: 1,
      total: 3,
      trainLoss: 0.45,
      validLoss: 0.4,
      lr: 0.001,
      metrics: { val_accuracy: 0.85, accuracy: 0.8 },
      source: 'keras',
    },
  ]);
  expect(batches(run.events)).toEqual([0.69, 0.55]);
});

test('Keras 3 with one step per epoch: the line drawn after `\\r` is final at its line feed, the last epoch too', () => {
  const text = `Epoch 1/2\n${keras3Step(1, 1, 'loss: 0.5000 - val_loss: 0.4000', 0)}\nEpoch 2/2\n${keras3Step(1, 1, 'loss: 0.3000 - val_loss: 0.2000', 0)}\n`;
  const run = read(text, { end: false });
  expect(epochs(run.events).map((e) => [e.epoch, e.trainLoss, e.validLoss])).toEqual([
    [1, 0.5, 0.4],
    [2, 0.3, 0.2],
  ]);
});

test('Keras verbose 2: one line per epoch, metrics in the order printed, validation ones first', () => {
  const text =
    'Epoch 1/2\n32/32 - 1s - 20ms/step - accuracy: 0.9600 - loss: 0.1200 - val_accuracy: 0.9500 - val_loss: 0.1300\n' +
    'Epoch 2/2\n32/32 - 0s - 3ms/step - accuracy: 0.9700 - loss: 0.1000 - val_accuracy: 0.9600 - val_loss: 0.1100\n';
  const found = epochs(read(text).events);
  expect(found.map((e) => [e.epoch, e.trainLoss, e.validLoss])).toEqual([
    [1, 0.12, 0.13],
    [2, 0.1, 0.11],
  ]);
  expect(Object.keys(found[0]?.metrics ?? {})).toEqual(['val_accuracy', 'accuracy']);
});

test('Keras without redraws (Windows: every step on its own line): the epoch is its last full line, reported when the next epoch starts', () => {
  const text =
    'Epoch 1/2\n' +
    '16/32 ━━━━━━━━━━━━━━━━━━━━ 0s 5ms/step - loss: 0.5000\n' +
    '32/32 ━━━━━━━━━━━━━━━━━━━━ 0s 5ms/step - loss: 0.4500\n' +
    '32/32 ━━━━━━━━━━━━━━━━━━━━ 1s 6ms/step - loss: 0.4400 - val_loss: 0.4200\n';
  const run = read(text, { end: false });
  expect(epochs(run.events)).toEqual([]);
  run.push('stdout', 'Epoch 2/2\n');
  expect(epochs(run.events)).toEqual([
    { kind: 'epoch', epoch: 1, total: 2, trainLoss: 0.44, validLoss: 0.42, metrics: {}, source: 'keras' },
  ]);
});

test('step lines without an `Epoch k/N` before them (evaluate(), predict(), prose) make no epoch', () => {
  const text =
    '32/32 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - accuracy: 0.9700 - loss: 0.1000\n' +
    'validation: loss: 0.1 - accuracy: 0.9\n' +
    'In epoch 3/10 the loss: 0.12 was fine\n';
  const run = read(text);
  expect(epochs(run.events)).toEqual([]);
  expect(batches(run.events)).toEqual([]);
});

test('evaluate() after fit() changes nothing, and a second fit() goes on counting', () => {
  const text =
    'Epoch 1/1\n32/32 - 1s - 20ms/step - loss: 0.5000\n' +
    '\r8/8 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - loss: 0.4000\n' +
    'Epoch 1/2\n32/32 - 1s - 20ms/step - loss: 0.3000\n' +
    'Epoch 2/2\n32/32 - 1s - 20ms/step - loss: 0.2000\n';
  const run = read(text);
  expect(epochs(run.events).map((e) => [e.epoch, e.total, e.trainLoss])).toEqual([
    [1, 1, 0.5],
    [2, 3, 0.3],
    [3, 3, 0.2],
  ]);
});
