// Scenario 8 — data sources (issue 18): what streaming the data costs the Learner, and whether
// reading overlaps training.
//
// 1. The same batches three more ways: Learner.fit on DataLoaders.fromTensors (the in-memory
//    loader) against fromIterables over a sync generator and over an async one (read ahead), and
//    fromDataset over a tf.data.generator — each yielding exactly the batches the in-memory loader
//    makes (its own `batches()`: the same shuffles, the same gathers), so the difference is the
//    source machinery alone. Target: ≤ 1.05× fromTensors per epoch.
// 2. Overlap: an async source that waits 2 ms (`await setTimeout(2)`, node:timers/promises) before
//    each batch, training and validation. Its epoch time against max(train-only, read-only), where
//    train-only is the fromTensors epoch of the same round and read-only is reading the same source
//    with nothing training (every batch taken and disposed). Target ≤ 1.1.
import { setTimeout as sleep } from 'node:timers/promises';
import { type Batch, type DataLoader, DataLoaders } from '@epochcast/core';
import * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';
import { mark, median, pairedRatio, progress, shuffled, table } from '../harness.js';
import { learnerFit, type Task, validAccuracy } from '../tasks.js';

// The read cost per batch; SLOW names it.
const READ_MS = 2;
const TENSORS = 'fromTensors';
const SYNC = 'fromIterables, sync generator';
const ASYNC = 'fromIterables, async generator';
const DATASET = 'fromDataset, tf.data.generator';
const SLOW = 'fromIterables, async, 2 ms read per batch';
const READ_ONLY = 'reading that source alone';
type Variant = typeof TENSORS | typeof SYNC | typeof ASYNC | typeof DATASET | typeof SLOW | typeof READ_ONLY;
const VARIANTS: readonly Variant[] = [TENSORS, SYNC, ASYNC, DATASET, SLOW, READ_ONLY];

type InMemory = DataLoaders<DataLoader, DataLoader>;

async function* slowly(batches: Iterable<Batch>): AsyncGenerator<Batch> {
  for (const batch of batches) {
    await sleep(READ_MS);
    yield batch;
  }
}

async function* asynchronously(batches: Iterable<Batch>): AsyncGenerator<Batch> {
  yield* batches;
}

/** The loaders of each variant, all over the in-memory loaders' own batches. */
function loadersFor(variant: Variant, memory: InMemory): DataLoaders {
  const { train, valid } = memory;
  switch (variant) {
    case SYNC:
      return DataLoaders.fromIterables(
        () => train.batches(),
        () => valid.batches(),
      );
    case ASYNC:
      return DataLoaders.fromIterables(
        () => asynchronously(train.batches()),
        () => asynchronously(valid.batches()),
      );
    case DATASET:
      return DataLoaders.fromDataset(
        tf.data.generator(() => train.batches() as unknown as Iterator<tf.TensorContainer>),
        tf.data.generator(() => valid.batches() as unknown as Iterator<tf.TensorContainer>),
      );
    default:
      return DataLoaders.fromIterables(
        () => slowly(train.batches()),
        () => slowly(valid.batches()),
      );
  }
}

/** One epoch's reads of the slow source with nothing training, `epochs` times: its read-only time. */
async function readOnly(memory: InMemory, epochs: number): Promise<void> {
  for (let epoch = 0; epoch < epochs; epoch++)
    for (const batches of [memory.train.batches(), memory.valid.batches()])
      for await (const { xs, ys } of slowly(batches)) tf.dispose([xs, ys]);
}

async function benchTask(task: Task, rounds: number): Promise<{ rows: string[][]; verdicts: string[] }> {
  const memory = task.data();
  const template = task.model();
  const initial = template.getWeights().map((w) => w.clone());
  template.dispose();
  const ms = new Map<Variant, number[]>(VARIANTS.map((v) => [v, []]));
  const acc = new Map<Variant, number[]>(VARIANTS.map((v) => [v, []]));
  try {
    const random = seedrandom('sources');
    for (let round = 0; round <= rounds; round++) {
      const line: string[] = [];
      for (const variant of shuffled(VARIANTS, random)) {
        const model = task.model();
        model.setWeights(initial);
        const before = tf.memory().numTensors - model.weights.length;
        const started = performance.now();
        try {
          if (variant === READ_ONLY) await readOnly(memory, task.epochs);
          else {
            const data = variant === TENSORS ? memory : loadersFor(variant, memory);
            const learn = await learnerFit(model, data, task);
            if (round > 0) acc.get(variant)?.push(validAccuracy(learn));
          }
        } finally {
          model.dispose();
        }
        const perEpoch = (performance.now() - started) / task.epochs;
        const leaked = tf.memory().numTensors - before;
        if (leaked !== 0) throw new Error(`${variant} leaked ${leaked} tensors`);
        if (round > 0) ms.get(variant)?.push(perEpoch);
        line.push(`${variant} ${perEpoch.toFixed(0)}`);
      }
      progress(`sources ${task.name} ${round === 0 ? 'warm-up' : `round ${round}/${rounds}`} (ms/epoch): ${line.join(', ')}`);
    }
  } finally {
    tf.dispose(initial);
    memory.dispose();
  }
  const get = (v: Variant) => ms.get(v) ?? [];
  const base = get(TENSORS);
  const bound = base.map((t, i) => Math.max(t, get(READ_ONLY)[i] ?? Number.NaN));
  const rows = VARIANTS.map((v) => [
    task.name,
    v,
    median(get(v)).toFixed(1),
    Math.min(...get(v)).toFixed(1),
    v === READ_ONLY ? '–' : pairedRatio(get(v), base).toFixed(3),
    v === SLOW ? pairedRatio(get(v), bound).toFixed(3) : '–',
    v === READ_ONLY ? '–' : `${(median(acc.get(v) ?? []) * 100).toFixed(1)}%`,
  ]);
  const verdicts = ([SYNC, ASYNC, DATASET] as const).map((v) => {
    const ratio = pairedRatio(get(v), base);
    return `${task.name}: ${v} ${ratio.toFixed(3)}× fromTensors (target ≤ 1.05: ${mark(ratio <= 1.05)})`;
  });
  const overlap = pairedRatio(get(SLOW), bound);
  const sum = pairedRatio(
    get(SLOW),
    base.map((t, i) => t + (get(READ_ONLY)[i] ?? Number.NaN)),
  );
  verdicts.push(
    `${task.name}: ${SLOW}: epoch ${overlap.toFixed(3)}× max(train-only, read-only) (target ≤ 1.1: ${mark(overlap <= 1.1)}); ${sum.toFixed(3)}× their sum`,
  );
  return { rows, verdicts };
}

export async function sourcesScenario(tasks: readonly Task[], rounds: number | undefined): Promise<string> {
  const rows: string[][] = [];
  const verdicts: string[] = [];
  const lines: string[] = [];
  for (const task of tasks) {
    // Enough rounds for a median on small-mlp's short fits; mnist-mlp's take ~2 s each, and pnpm bench keeps to ~10 minutes.
    const n = rounds ?? (task.name === 'small-mlp' ? 16 : 4);
    const result = await benchTask(task, n);
    rows.push(...result.rows);
    verdicts.push(...result.verdicts);
    lines.push(`task ${task.name}: ${task.describe}, batch ${task.batchSize}, ${task.epochs} epoch(s) per fit, ${n} rounds`);
  }
  lines.push('');
  lines.push(
    table(['task', 'variant', 'median ms/epoch', 'min ms/epoch', 'vs fromTensors', 'vs max(train-only, read-only)', 'valid acc'], rows),
  );
  lines.push('', ...verdicts);
  return lines.join('\n');
}
