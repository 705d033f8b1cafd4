// tqdm bars that name the epoch, PyTorch Lightning's among them.
import { expect, test } from 'vitest';
import { batches, epochs, newRun, read } from './helpers.js';

/** One redraw of a tqdm bar, as tqdm writes it: `\r`, then the bar. */
function bar(desc: string, n: number, total: number, postfix = ''): string {
  const pct = Math.floor((100 * n) / total);
  const cells = '█'.repeat(Math.floor(pct / 10)).padEnd(10, ' ');
  return `\r${desc}: ${String(pct).padStart(3)}%|${cells}| ${n}/${total} [00:01<00:02, 30.10it/s${postfix === '' ? '' : `, ${postfix}`}]`;
}

test('a bar per epoch (`Epoch k/N`, closed with a line feed): the last state is the epoch, its `loss=` the train loss and the batch points', () => {
  const text =
    bar('Epoch 1/2', 0, 4) +
    bar('Epoch 1/2', 1, 4, 'loss=0.9') +
    bar('Epoch 1/2', 2, 4, 'loss=0.7') +
    bar('Epoch 1/2', 4, 4, 'loss=0.5, acc=0.8, val_loss=0.6') +
    '\n' +
    bar('Epoch 2/2', 2, 4, 'loss=0.4') +
    bar('Epoch 2/2', 4, 4, 'loss=1.23e-5, acc=0.9') +
    '\n';
  const run = read(text, { stream: 'stderr' });
  expect(run.events).toContainEqual({ kind: 'epochs', total: 2 });
  expect(epochs(run.events)).toEqual([
    { kind: 'epoch', epoch: 1, total: 2, trainLoss: 0.5, validLoss: 0.6, metrics: { acc: 0.8 }, source: 'tqdm' },
    { kind: 'epoch', epoch: 2, total: 2, trainLoss: 1.23e-5, metrics: { acc: 0.9 }, source: 'tqdm' },
  ]);
  expect(batches(run.events)).toEqual([0.9, 0.7, 0.5, 0.4, 1.23e-5]);
  expect(run.reader.lastProgressLine).toBe('Epoch 2/2: 100%|██████████| 4/4 [00:01<00:02, 30.10it/s, loss=1.23e-5, acc=0.9]');
  expect(run.reader.tail()).toEqual([
    'Epoch 1/2: 100%|██████████| 4/4 [00:01<00:02, 30.10it/s, loss=0.5, acc=0.8, val_loss=0.6]',
    'Epoch 2/2: 100%|██████████| 4/4 [00:01<00:02, 30.10it/s, loss=1.23e-5, acc=0.9]',
  ]);
});

test('an epoch boundary inside one chunk of redraws (epoch 3 at 100%, then epoch 4, no line feed) still reports epoch 3 with its last values', () => {
  let text = '';
  for (let epoch = 1; epoch <= 4; epoch++) {
    for (let n = 0; n <= 50; n++) text += bar(`Epoch ${epoch}/4`, n, 50, `loss=${(epoch + n / 100).toFixed(2)}`);
  }
  const run = read(text, { stream: 'stderr', end: false });
  expect(epochs(run.events).map((e) => [e.epoch, e.trainLoss])).toEqual([
    [1, 1.5],
    [2, 2.5],
    [3, 3.5],
  ]);
  run.end();
  expect(epochs(run.events).map((e) => [e.epoch, e.trainLoss])).toEqual([
    [1, 1.5],
    [2, 2.5],
    [3, 3.5],
    [4, 4.5],
  ]);
});

test('`Epoch 0` means the descriptions count from 0: `Epoch 0` done is the 1st epoch', () => {
  const text = `${bar('Epoch 0', 4, 4, 'loss=0.5')}\n${bar('Epoch 1', 4, 4, 'loss=0.4')}\n`;
  expect(epochs(read(text).events).map((e) => [e.epoch, e.trainLoss])).toEqual([
    [1, 0.5],
    [2, 0.4],
  ]);
});

test('a bar without total (`Epoch 3: 45it […]`) and `Epoch [k/N]` descriptions', () => {
  const unknown =
    '\rEpoch 1: 45it [00:01, 30.10it/s, loss=0.3]\rEpoch 1: 90it [00:03, 30.10it/s, loss=0.2]\n\rEpoch 2: 10it [00:00, 30.10it/s, loss=0.1]\n';
  expect(epochs(read(unknown).events).map((e) => [e.epoch, e.total, e.trainLoss])).toEqual([
    [1, undefined, 0.2],
    [2, undefined, 0.1],
  ]);
  const bracketed = `${bar('Epoch [1/5]', 8, 8, 'train_loss=0.31')}\n${bar('Epoch [2/5]', 8, 8, 'train_loss=0.21')}\n`;
  expect(epochs(read(bracketed).events).map((e) => [e.epoch, e.total, e.trainLoss])).toEqual([
    [1, 5, 0.31],
    [2, 5, 0.21],
  ]);
});

test('nested bars (an inner bar at position 1 with ESC[A): the epoch bars are read, the outer counter is not an epoch, the tail shows both', () => {
  let text = '';
  for (let epoch = 1; epoch <= 2; epoch++) {
    text += `\rEpochs:  ${epoch - 1}0%|          | ${epoch - 1}/2 [00:01<00:02, 1.00it/s]`;
    for (let n = 0; n <= 10; n++) text += `\n${bar(`Epoch ${epoch}/2`, n, 10, `loss=0.${epoch}${n}`)}\u001b[A`;
  }
  text += '\rEpochs: 100%|██████████| 2/2 [00:04<00:00, 0.50it/s]\n\n';
  const run = read(text, { stream: 'stderr' });
  expect(epochs(run.events).map((e) => [e.epoch, e.total, e.trainLoss])).toEqual([
    [1, 2, 0.11],
    [2, 2, 0.21],
  ]);
  expect(run.reader.tail()).toEqual([
    'Epochs: 100%|██████████| 2/2 [00:04<00:00, 0.50it/s]',
    'Epoch 2/2: 100%|██████████| 10/10 [00:01<00:02, 30.10it/s, loss=0.210]',
  ]);
});

test('a validation bar of the epoch (`Epoch 2/3 [val]`) adds validation numbers to it', () => {
  const text =
    `${bar('Epoch 1/3 [train]', 8, 8, 'loss=0.5, acc=0.7')}\n${bar('Epoch 1/3 [val]', 2, 2, 'loss=0.6, acc=0.65')}\n` +
    `${bar('Epoch 2/3 [train]', 8, 8, 'loss=0.4, acc=0.8')}\n`;
  const found = epochs(read(text).events);
  expect(found[0]).toEqual({
    kind: 'epoch',
    epoch: 1,
    total: 3,
    trainLoss: 0.5,
    validLoss: 0.6,
    metrics: { val_acc: 0.65, acc: 0.7 },
    source: 'tqdm',
  });
  // Validation losses are no training loss points.
  expect(batches(read(text).events)).toEqual([0.5, 0.4]);
});

test('printed below a completed bar, a line ends its epoch at once; from the other stream it does not', () => {
  const done = `${bar('Epoch 1/2', 4, 4, 'loss=0.5')}\n`;
  const same = newRun();
  same.push('stderr', done);
  expect(epochs(same.events)).toEqual([]);
  same.push('stderr', 'saving checkpoint\n');
  expect(epochs(same.events).map((e) => e.epoch)).toEqual([1]);

  const other = newRun();
  other.push('stderr', done);
  other.push('stdout', 'epoch 1: val_loss=0.4\n');
  expect(epochs(other.events)).toEqual([]);
  other.push('stderr', bar('Epoch 2/2', 0, 4));
  expect(epochs(other.events).map((e) => e.epoch)).toEqual([1]);
});

test('bars without an epoch in their description (Hugging Face, a batch loop) make no epoch, only progress', () => {
  const text =
    '\r  0%|          | 0/64 [00:00<?, ?it/s]\r 25%|██▌       | 16/64 [00:01<00:03, 13.64it/s]\rvalidating: 100%|██████████| 4/4 [00:00<00:00]\n';
  const run = read(text, { stream: 'stderr' });
  expect(epochs(run.events)).toEqual([]);
  expect(run.events).toContainEqual({ kind: 'progress' });
});

test('prose that mentions an epoch and a loss is no bar', () => {
  const text = 'Epoch 3/10: 45% done [loss=0.3]\nEpoch 3/10: loss=0.3 [00:01]\nepoch 3 loss=0.1\n';
  const run = read(text);
  expect(epochs(run.events)).toEqual([]);
  expect(batches(run.events)).toEqual([]);
});

// PyTorch Lightning's TQDMProgressBar, as lightning 2.6 draws it on stdout (see the lightning-tqdm fixture).
function lightningEpoch(epoch: number, losses: number[], val: string, previousVal: string): string {
  const steps = losses.length;
  let text = `\rEpoch ${epoch}:   0%|          | 0/${steps} [00:00<?, ?it/s${previousVal}]`;
  losses.forEach((loss, k) => {
    text += bar(`Epoch ${epoch}`, k + 1, steps, `v_num=0, train_loss=${loss}${previousVal}`);
  });
  text += '\n\rValidation: |          | 0/? [00:00<?, ?it/s]\u001b[A';
  text += '\n\rValidation DataLoader 0: 100%|██████████| 4/4 [00:00<00:00, 547.38it/s]\u001b[A';
  text += '\n\r                                                                       \u001b[A';
  text += bar(`Epoch ${epoch}`, steps, steps, `v_num=0, train_loss=${losses.at(-1)}, ${val}`);
  text += bar(`Epoch ${epoch}`, steps, steps, `v_num=0, train_loss=${losses.at(-1)}, ${val}`);
  return text;
}

test('Lightning: 0-based `Epoch k` bars, the validation numbers added after 100%, sanity checking and validation bars no epochs', () => {
  const stdout =
    '\rSanity Checking: |          | 0/? [00:00<?, ?it/s]\rSanity Checking DataLoader 0: 100%|██████████| 2/2 [00:00<00:00, 13.24it/s]' +
    '\r                                                                           \r' +
    '\rTraining: |          | 0/? [00:00<?, ?it/s]' +
    lightningEpoch(0, [0.677, 0.429, 0.0939], 'val_loss=0.199, val_acc=0.930', '') +
    lightningEpoch(1, [0.13, 0.0148], 'val_loss=0.117, val_acc=0.945', ', val_loss=0.199, val_acc=0.930');
  const run = newRun();
  run.push('stdout', stdout);
  run.push('stderr', '`Trainer.fit` stopped: `max_epochs=2` reached.\n');
  run.push('stdout', '\n');
  run.end();
  expect(epochs(run.events)).toEqual([
    { kind: 'epoch', epoch: 1, trainLoss: 0.0939, validLoss: 0.199, metrics: { val_acc: 0.93 }, source: 'lightning' },
    { kind: 'epoch', epoch: 2, total: 2, trainLoss: 0.0148, validLoss: 0.117, metrics: { val_acc: 0.945 }, source: 'lightning' },
  ]);
  expect(batches(run.events)).toEqual([0.677, 0.429, 0.0939, 0.13, 0.0148]);
});

test('Lightning: the last epoch is reported by `Trainer.fit` stopped, before the output ends', () => {
  const run = newRun();
  run.push('stdout', lightningEpoch(0, [0.5, 0.4], 'val_loss=0.45', ''));
  expect(epochs(run.events)).toEqual([]);
  run.push('stderr', '`Trainer.fit` stopped: `max_epochs=1` reached.\n');
  expect(epochs(run.events).map((e) => [e.epoch, e.total, e.validLoss])).toEqual([[1, 1, 0.45]]);
});
