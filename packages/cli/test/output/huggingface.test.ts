// Hugging Face Trainer logs: a Python dict per log.
import { expect, test } from 'vitest';
import { parsePythonDict } from '../../src/output/python-literal.js';
import { batches, epochs, newRun, read } from './helpers.js';

test('transformers 4 (numbers as numbers): training logs, then the evaluation completes the epoch', () => {
  const text =
    "{'loss': 0.6923, 'grad_norm': 0.287, 'learning_rate': 4.766e-03, 'epoch': 0.5}\n" +
    "{'loss': 0.6898, 'grad_norm': 0.3056, 'learning_rate': 0.003828, 'epoch': 1.0}\n" +
    "{'eval_loss': 0.6979, 'eval_accuracy': 0.5, 'eval_f1': 0.4, 'eval_runtime': 0.0156, 'eval_samples_per_second': 4114.0, 'eval_steps_per_second': 128.6, 'epoch': 1.0}\n";
  const run = read(text, { end: false });
  expect(epochs(run.events)).toEqual([
    {
      kind: 'epoch',
      epoch: 1,
      trainLoss: 0.6898,
      validLoss: 0.6979,
      lr: 0.003828,
      metrics: { eval_accuracy: 0.5, eval_f1: 0.4 },
      source: 'huggingface',
    },
  ]);
  expect(batches(run.events)).toEqual([0.6923, 0.6898]);
  expect(run.reader.lastProgressLine).toMatch(/^\{'eval_loss': 0\.6979/);
});

test("transformers 5 (numbers as strings, `'epoch': '1'`) and the total from `Num Epochs = 2`", () => {
  const run = newRun();
  run.push('stderr', '[transformers] ***** Running training *****\n[transformers]   Num examples = 256\n[transformers]   Num Epochs = 2\n');
  run.push('stdout', "{'loss': '0.6898', 'grad_norm': '0.3056', 'learning_rate': '0.003828', 'epoch': '1'}");
  run.push('stdout', '\n');
  run.push('stdout', "{'eval_loss': '0.6979', 'eval_accuracy': '0.5', 'eval_runtime': '0.0156', 'epoch': '1'}\n");
  run.push(
    'stdout',
    "{'loss': '0.01979', 'learning_rate': '7.813e-05', 'epoch': '2'}\n{'eval_loss': '0.01833', 'eval_accuracy': '1', 'epoch': '2'}\n",
  );
  run.push('stdout', "{'train_runtime': '1.117', 'train_samples_per_second': '917', 'train_loss': '0.3524', 'epoch': '2'}\n");
  run.end();
  expect(run.events).toContainEqual({ kind: 'epochs', total: 2 });
  expect(epochs(run.events).map((e) => [e.epoch, e.total, e.trainLoss, e.validLoss, e.lr, e.metrics])).toEqual([
    [1, 2, 0.6898, 0.6979, 0.003828, { eval_accuracy: 0.5 }],
    [2, 2, 0.01979, 0.01833, 7.813e-5, { eval_accuracy: 1 }],
  ]);
});

test('without evaluation, an epoch ends when the next one logs — then as soon as its last log arrives — and the last one at the end', () => {
  const run = newRun();
  run.push('stdout', "{'loss': 0.9, 'learning_rate': 5e-05, 'epoch': 0.5}\n{'loss': 0.8, 'learning_rate': 4e-05, 'epoch': 1.0}\n");
  expect(epochs(run.events)).toEqual([]);
  run.push('stdout', "{'loss': 0.7, 'learning_rate': 3e-05, 'epoch': 1.5}\n");
  expect(epochs(run.events).map((e) => [e.epoch, e.trainLoss])).toEqual([[1, 0.8]]);
  run.push('stdout', "{'loss': 0.6, 'learning_rate': 2e-05, 'epoch': 2.0}\n");
  expect(epochs(run.events).map((e) => [e.epoch, e.trainLoss])).toEqual([
    [1, 0.8],
    [2, 0.6],
  ]);
  run.push('stdout', "{'loss': 0.5, 'learning_rate': 1e-05, 'epoch': 2.5}\n");
  run.end();
  expect(epochs(run.events).map((e) => [e.epoch, e.trainLoss])).toEqual([
    [1, 0.8],
    [2, 0.6],
    [3, 0.5],
  ]);
});

test('a pending epoch is reported when the output ends, and trainer.evaluate() afterwards adds nothing', () => {
  const run = read(
    "{'loss': 0.4, 'epoch': 0.5}\n{'train_runtime': 3.0, 'train_loss': 0.4, 'epoch': 0.5}\n{'eval_loss': 0.3, 'epoch': 0.5}\n",
  );
  expect(epochs(run.events)).toEqual([{ kind: 'epoch', epoch: 1, trainLoss: 0.4, metrics: {}, source: 'huggingface' }]);
});

test('dicts that are not Trainer logs make no epoch', () => {
  const text = "{'a': 1}\nconfig = {'loss': 'mse', 'epoch': 3}\n{'loss': 0.3, 'epoch': 1.0\n{'loss': 0.3, 'epoch': __import__('os')}\n";
  expect(epochs(read(text).events)).toEqual([]);
});

test('the dict reader takes Python literals and nothing else', () => {
  expect(
    parsePythonDict("{'loss': nan, 'a': inf, 'b': -inf, 'c': 1e-05, 'd': -3, 'e': True, 'f': None, 'g': [1, (2, 3)], 'h': {'x': 1},}"),
  ).toEqual(
    new Map<string, number | string>([
      ['loss', Number.NaN],
      ['a', Number.POSITIVE_INFINITY],
      ['b', Number.NEGATIVE_INFINITY],
      ['c', 1e-5],
      ['d', -3],
    ]),
  );
  expect(parsePythonDict(`{"it's": 'a \\'quoted\\' \\n string', 'v': np.float64(0.5), 't': tensor(0.25, device='cuda:0')}`)).toEqual(
    new Map<string, number | string>([
      ["it's", "a 'quoted' \n string"],
      ['v', 0.5],
      ['t', 0.25],
    ]),
  );
  for (const bad of ['{', "{'a': 1", "{'a' 1}", "{'a': 1} x", "{'a': 'x}", "{'a': 1 2}", "{'a': __import__('os').system('x')}", '[1]']) {
    expect(parsePythonDict(bad), bad).toBeUndefined();
  }
  // Nesting is bounded: a deep literal is refused, not a stack overflow.
  expect(parsePythonDict(`{'a': ${'['.repeat(100_000)}`)).toBeUndefined();
});
