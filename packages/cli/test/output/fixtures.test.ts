// Real training output (test/fixtures/training-output, see its README): each run as `epochcast run`
// receives it, two pipes chunk by chunk. The expected numbers are the ones printed, read off the
// captures (and listed in the README), not computed.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { type EpochEvent, epochs, newRun, type Stream } from './helpers.js';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/training-output');

type Expected = Omit<EpochEvent, 'kind' | 'epoch'>;

function readChunks(name: string): { stream: Stream; data: Buffer }[] {
  return readFileSync(path.join(DIR, `${name}.chunks.jsonl`), 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const chunk = JSON.parse(line) as { stream: Stream; data: string };
      return { stream: chunk.stream, data: Buffer.from(chunk.data, 'base64') };
    });
}

function replay(name: string) {
  const chunks = readChunks(name);
  const run = newRun();
  for (const { stream, data } of chunks) run.push(stream, data);
  run.end();
  const sent = (stream: Stream) => Buffer.concat(chunks.filter((chunk) => chunk.stream === stream).map((chunk) => chunk.data));
  return { run, sent: { stdout: sent('stdout'), stderr: sent('stderr') } };
}

const keras = (loss: number, validLoss: number, accuracy: number, valAccuracy: number): Expected => ({
  total: 5,
  trainLoss: loss,
  validLoss,
  metrics: { val_accuracy: valAccuracy, accuracy },
  source: 'keras',
});
const kerasRun = [
  keras(0.2809, 0.1098, 0.8789, 1),
  keras(0.066, 0.0518, 0.9805, 1),
  keras(0.0395, 0.0407, 0.9805, 1),
  keras(0.0299, 0.0378, 0.9844, 0.9844),
  keras(0.0216, 0.0366, 0.9961, 0.9844),
];
const kerasTiny = [keras(0.0794, 8.4162e-4, 0.9609, 1), undefined, undefined, undefined, keras(1.178e-4, 1.2189e-4, 1, 1)];
const tqdm = (loss: number): Expected => ({ total: 4, trainLoss: loss, metrics: {}, source: 'tqdm' });
const lightning = (trainLoss: number, validLoss: number, valAcc: number, total?: number): Expected => ({
  ...(total === undefined ? {} : { total }),
  trainLoss,
  validLoss,
  metrics: { val_acc: valAcc },
  source: 'lightning',
});
const hf = (trainLoss: number, validLoss: number, accuracy: number, lr: number, total?: number): Expected => ({
  ...(total === undefined ? {} : { total }),
  trainLoss,
  validLoss,
  lr,
  metrics: { eval_accuracy: accuracy },
  source: 'huggingface',
});
const fastai = (trainLoss: number, validLoss: number, accuracy: number, errorRate: number): Expected => ({
  total: 4,
  trainLoss,
  validLoss,
  metrics: { accuracy, error_rate: errorRate },
  source: 'fastai',
});
const protocol = (total: number, trainLoss: number, validLoss: number, metrics: Record<string, number>): Expected => ({
  total,
  trainLoss,
  validLoss,
  metrics,
  source: 'protocol',
});

/** Per fixture: every epoch, in order (undefined: not checked beyond its number), and whether protocol lines are in it. */
const EXPECTED: Record<string, { epochs: (Expected | undefined)[]; protocol?: true }> = {
  'keras-verbose1': { epochs: kerasRun },
  'keras-verbose2': { epochs: kerasRun },
  'keras-verbose1-tiny-loss': { epochs: kerasTiny },
  'keras-verbose2-tiny-loss': { epochs: kerasTiny },
  'torch-tqdm': { epochs: [tqdm(0.181), tqdm(0.0212), tqdm(0.178), tqdm(0.0586)] },
  'torch-tqdm-fast-steps': { epochs: [tqdm(0.2), tqdm(0.0784), tqdm(0.0112), tqdm(0.00127)] },
  'lightning-tqdm': {
    // 0-based `Epoch k`; max_epochs is only printed when the fit stops.
    epochs: [
      lightning(0.0939, 0.199, 0.93),
      lightning(0.0148, 0.117, 0.945),
      lightning(0.0175, 0.115, 0.961),
      lightning(0.0198, 0.0994, 0.953, 4),
    ],
  },
  // Rich's bar is not a format the reader reads: no epochs, the output passes as it is.
  'lightning-rich-default': { epochs: [] },
  'hf-trainer': {
    epochs: [
      hf(0.6898, 0.6979, 0.5, 0.003828),
      hf(0.3744, 0.2447, 1, 0.002578),
      hf(0.03508, 0.02816, 1, 0.001328),
      hf(0.01979, 0.01833, 1, 7.813e-5),
    ],
  },
  'hf-trainer-info': {
    epochs: [
      hf(0.6898, 0.6979, 0.5, 0.003828, 4),
      hf(0.3744, 0.2447, 1, 0.002578, 4),
      hf(0.03508, 0.02816, 1, 0.001328, 4),
      hf(0.01979, 0.01833, 1, 7.813e-5, 4),
    ],
  },
  'fastai-table': {
    epochs: [
      fastai(0.5893, 0.534127, 0.746875, 0.253125),
      fastai(0.4561, 0.401256, 0.834375, 0.165625),
      fastai(0.3702, 0.352811, 0.8625, 0.1375),
      fastai(0.318, 0.339402, 0.871875, 0.128125),
    ],
  },
  'fastai-v1-na': {
    epochs: [
      { total: 2, trainLoss: 0.7288, metrics: {}, source: 'fastai' },
      { total: 2, trainLoss: 0.6104, metrics: {}, source: 'fastai' },
    ],
  },
  'keras-protocol': {
    protocol: true,
    epochs: [
      protocol(5, 0.2808895707130432, 0.1097915768623352, { val_accuracy: 1, accuracy: 0.87890625 }),
      undefined,
      undefined,
      undefined,
      protocol(5, 0.02163214236497879, 0.036591216921806335, { val_accuracy: 0.984375, accuracy: 0.99609375 }),
    ],
  },
  'torch-tqdm-protocol': {
    protocol: true,
    epochs: [
      protocol(4, 0.18128952383995056, 0.08812794834375381, { val_acc: 0.96875 }),
      undefined,
      undefined,
      protocol(4, 0.058585524559020996, 0.5043079853057861, { val_acc: 0.8645833134651184 }),
    ],
  },
  'lightning-protocol': {
    protocol: true,
    epochs: [
      protocol(4, 0.09388001263141632, 0.1994348019361496, { val_acc: 0.9296875 }),
      undefined,
      undefined,
      protocol(4, 0.01978268474340439, 0.09936895966529846, { val_acc: 0.953125 }),
    ],
  },
};

describe.each(Object.entries(EXPECTED))('%s', (name, expected) => {
  test('every epoch, once, with the numbers printed; the output passed on as the terminal would get it', () => {
    const { run, sent } = replay(name);
    const found = epochs(run.events);
    expect(found.map((e) => e.epoch)).toEqual(expected.epochs.map((_, k) => k + 1));
    expected.epochs.forEach((epoch, k) => {
      if (epoch !== undefined) expect(found[k]).toEqual({ kind: 'epoch', epoch: k + 1, ...epoch });
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      // Protocol lines go, with their line feed, and nothing else.
      const shown = expected.protocol
        ? Buffer.from(sent[stream].toString('latin1').replace(/@epochcast \{[^\n]*\}\n/g, ''), 'latin1')
        : sent[stream];
      expect(run.passed[stream].equals(shown), `${stream} passed on`).toBe(true);
    }
    const tail = run.reader.tail();
    expect(tail.length).toBeGreaterThan(0);
    expect(tail.length).toBeLessThanOrEqual(20);
    expect(tail.join('\n')).not.toContain('\u001b');
    expect(tail.join('\n')).not.toContain('@epochcast');
  });
});

test('every fixture in the folder is covered here', () => {
  const names = readdirSync(DIR)
    .filter((file) => file.endsWith('.chunks.jsonl'))
    .map((file) => file.replace('.chunks.jsonl', ''));
  expect(names.sort()).toEqual(Object.keys(EXPECTED).sort());
});

test('Keras verbose 1: the batch losses are the step redraws, exponents included', () => {
  const { run } = replay('keras-verbose1-tiny-loss');
  const losses = run.events.flatMap((event) => (event.kind === 'batch' ? [event.loss] : []));
  expect(losses).toContain(4.5349e-4);
});

test('Lightning: the first epoch is reported with its own validation numbers, not the previous ones, before the next epoch starts', () => {
  const chunks = readChunks('lightning-tqdm');
  const run = newRun();
  for (const { stream, data } of chunks) {
    run.push(stream, data);
    if (data.toString().includes('Epoch 1:   3%')) break;
  }
  expect(epochs(run.events)).toEqual([{ kind: 'epoch', epoch: 1, ...lightning(0.0939, 0.199, 0.93) }]);
});

// The same runs on a terminal (script(1)): both streams merged into one, redrawn with escapes.
// Not what `epochcast run` reads, but the same display; where the streams' order matters (a plain
// loop's protocol line printed after its prose line, on the other stream) the merged log differs.
describe.each([
  'keras-verbose1',
  'keras-verbose2-tiny-loss',
  'torch-tqdm',
  'lightning-tqdm',
  'hf-trainer-info',
  'fastai-table',
  'keras-protocol',
])('%s on a terminal', (name) => {
  test('the same epochs', () => {
    const run = newRun();
    const log = readFileSync(path.join(DIR, `${name}.tty.log`));
    for (let at = 0; at < log.length; at += 4096) run.push('stdout', log.subarray(at, at + 4096));
    run.end();
    const found = epochs(run.events);
    const wanted = EXPECTED[name]?.epochs ?? [];
    expect(found.map((e) => e.epoch)).toEqual(wanted.map((_, k) => k + 1));
    wanted.forEach((epoch, k) => {
      if (epoch !== undefined) expect(found[k]).toEqual({ kind: 'epoch', epoch: k + 1, ...epoch });
    });
  });
});
