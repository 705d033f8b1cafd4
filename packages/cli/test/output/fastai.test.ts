// fastai's console output: the Recorder's table and fastprogress's bars.
import { expect, test } from 'vitest';
import { batches, epochs, newRun, read } from './helpers.js';

const HEADER = 'epoch     train_loss  valid_loss  accuracy  error_rate  time    \n';

/** fastprogress's console bar redraw (`\r…\r`), its comment the smoothed loss. */
function progress(epoch: number, epochs: number, n: number, total: number, comment = ''): string {
  const cells = '█'.repeat(Math.round((40 * n) / total)).padEnd(40, '-');
  return `\rEpoch ${epoch}/${epochs} : |${cells}| ${((100 * n) / total).toFixed(2)}% [${n}/${total} 00:00<00:00${comment === '' ? '' : ` ${comment}`}]\r`;
}

test('the table: a row per epoch (0-based), the header names the columns, the bars give the total and the batch losses', () => {
  // fastprogress erases a finished bar with spaces before the row is printed over it.
  const erase = (epoch: number) => `\rEpoch ${epoch}/2 :${' '.repeat(76)}\r`;
  // Each redraw arrives as its own chunk, as fastprogress writes them (redraws within one chunk are sampled).
  const chunks = [
    `█\r${HEADER}`,
    progress(1, 2, 0, 4),
    progress(1, 2, 2, 4, '0.7212'),
    progress(1, 2, 4, 4, '0.6102') + erase(1),
    progress(1, 2, 1, 1, '0.6102') + erase(1),
    '0         0.589300    0.534127    0.746875  0.253125    00:01     \n',
    progress(2, 2, 4, 4, '0.4702') + erase(2),
    '1         0.456100    0.401256    0.834375  0.165625    00:01     \n',
  ];
  const run = newRun();
  for (const chunk of chunks) run.push('stdout', chunk);
  run.end();
  expect(run.events).toContainEqual({ kind: 'epochs', total: 2 });
  expect(epochs(run.events)).toEqual([
    {
      kind: 'epoch',
      epoch: 1,
      total: 2,
      trainLoss: 0.5893,
      validLoss: 0.534127,
      metrics: { accuracy: 0.746875, error_rate: 0.253125 },
      source: 'fastai',
    },
    {
      kind: 'epoch',
      epoch: 2,
      total: 2,
      trainLoss: 0.4561,
      validLoss: 0.401256,
      metrics: { accuracy: 0.834375, error_rate: 0.165625 },
      source: 'fastai',
    },
  ]);
  // The validation bar shows the last training loss again: one point, not two.
  expect(batches(run.events)).toEqual([0.7212, 0.6102, 0.4702]);
  expect(run.reader.tail()).toEqual([
    'epoch     train_loss  valid_loss  accuracy  error_rate  time',
    '0         0.589300    0.534127    0.746875  0.253125    00:01',
    '1         0.456100    0.401256    0.834375  0.165625    00:01',
  ]);
});

test('missing values (`#na#` from fastai v1, `None` from v2) are left out, nan kept', () => {
  const text =
    'epoch     train_loss  valid_loss  time    \n0         0.728800    #na#        00:01     \n1         0.610400    None        00:01     \n2         nan         None        01:02:03  \n';
  const found = epochs(read(text).events);
  expect(found.map((e) => [e.epoch, e.trainLoss, e.validLoss])).toEqual([
    [1, 0.7288, undefined],
    [2, 0.6104, undefined],
    [3, Number.NaN, undefined],
  ]);
});

test('fine_tune(): the second table counts on from the first', () => {
  const text =
    'epoch     train_loss  valid_loss  time    \n0         0.900000    0.800000    00:01     \n' +
    'epoch     train_loss  valid_loss  time    \n0         0.700000    0.600000    00:01     \n1         0.500000    0.400000    00:01     \n';
  expect(epochs(read(text).events).map((e) => [e.epoch, e.trainLoss])).toEqual([
    [1, 0.9],
    [2, 0.7],
    [3, 0.5],
  ]);
});

test('rows that do not fit the header, or without one, are no epochs', () => {
  const text = `0         0.589300    0.534127    00:01\n${HEADER}0 0.5 0.4\nepoch 3 of 10 done\n1         0.5         abc         0.9       0.1         00:01\n`;
  expect(epochs(read(text).events)).toEqual([]);
});
