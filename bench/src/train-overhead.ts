#!/usr/bin/env node
// What the Learner's loop costs per epoch: the same model, data, optimizer and backend trained
// several ways in one process — a raw `optimizer.minimize` loop, `Learner.fit` (Recorder and
// ProgressCallback attached) and tfjs's own `model.fit` — interleaved over many rounds.
//
//   pnpm bench                                      (builds, then runs both tasks; ~2.5 minutes)
//   node bench/dist/train-overhead.js --task small --rounds 10
//
// Fairness rules, the same for every variant:
// - a fresh model with identical initial weights and a fresh Adam at the same constant lr;
// - the same training and validation tensors, batch size 64, the training set reshuffled every
//   epoch and each batch gathered from it (DataLoader for raw and Learner, fitLoop's own gather
//   for model.fit);
// - validation loss and accuracy over the whole validation set after every epoch (model.fit is
//   given `validationData` and `metrics: ['accuracy']`; tfjs then also computes the accuracy of
//   every training batch, which the others do not: that is how model.fit works, so a fourth row
//   runs model.fit without metrics — validation loss only, less work than the others);
// - the training loss read back every batch in raw and Learner (both report it);
// - ms/epoch is the wall time of a whole fit call divided by its epochs, so per-call set-up counts;
// - the ProgressCallback draws its live bar (`tty: true`, at most 10 redraws a second) into a
//   stream that discards the bytes: its formatting and writes are measured, a terminal's
//   rendering is not (that depends on the terminal, not on epochcast).
import os from 'node:os';
import { Writable } from 'node:stream';
import { accuracy, type BackendName, DataLoaders, Learner, ProgressCallback, selectBackend } from '@epochcast/core';
import { loadMnist, mnistModel } from '@epochcast/example-mnist';
import * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';

interface Task {
  name: string;
  describe: string;
  epochs: number;
  /** Measured rounds (after one warm-up round) unless --rounds says otherwise. */
  rounds: number;
  lr: number;
  batchSize: number;
  /** Builds a model with the task's seeded initial weights. */
  model(): tf.LayersModel;
  data(): DataLoaders;
}

const RAW = 'raw minimize loop';
const LEARNER = 'Learner.fit';
const FIT = 'tfjs model.fit';
const FIT_LOSS_ONLY = 'tfjs model.fit, no metrics';
type Variant = typeof RAW | typeof LEARNER | typeof FIT | typeof FIT_LOSS_ONLY;
const VARIANTS: readonly Variant[] = [RAW, LEARNER, FIT, FIT_LOSS_ONLY];

// ---- tasks -------------------------------------------------------------------------------------

/** Compute-bound: the demo's model and data (a batch is ~10 ms of matmuls on wasm). */
const mnistTask: Task = {
  name: 'mnist-mlp',
  describe: 'MLP 784-128-10 on real MNIST (the demo), 8000 train / 2000 valid',
  epochs: 1,
  rounds: 15,
  lr: 1e-3,
  batchSize: 64,
  model: () => mnistModel(128, 42),
  data() {
    const { x, y } = loadMnist(10_000, 42);
    try {
      return DataLoaders.fromTensors(x, y, { validPct: 0.2, batchSize: this.batchSize, seed: 42 });
    } finally {
      tf.dispose([x, y]);
    }
  },
};

/** Overhead-bound: a batch is under a millisecond, so per-batch loop costs show. */
const smallTask: Task = {
  name: 'small-mlp',
  describe: 'MLP 16-32-2 on a synthetic 2-class task, 3072 train / 1024 valid',
  epochs: 4,
  rounds: 40,
  lr: 1e-2,
  batchSize: 64,
  model() {
    const model = tf.sequential();
    const init = (seed: number) => tf.initializers.glorotUniform({ seed });
    model.add(tf.layers.dense({ inputShape: [16], units: 32, activation: 'relu', kernelInitializer: init(11) }));
    model.add(tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: init(12) }));
    return model;
  },
  data() {
    // The class is the side of a fixed random hyperplane through tanh(x), with 5% of labels flipped.
    const n = 4096;
    const { x, y } = tf.tidy(() => {
      const x = tf.randomNormal([n, 16], 0, 1, 'float32', 5);
      const w = tf.randomNormal([16, 1], 0, 1, 'float32', 6);
      const score = tf.matMul(tf.tanh(x), w).reshape([n]);
      const flip = tf.less(tf.randomUniform([n], 0, 1, 'float32', 7), 0.05);
      const label = tf.logicalXor(tf.greater(score, 0), flip).toInt();
      return { x, y: tf.oneHot(label, 2).toFloat() };
    });
    try {
      return DataLoaders.fromTensors(x, y, { validPct: 0.25, batchSize: this.batchSize, seed: 42 });
    } finally {
      tf.dispose([x, y]);
    }
  },
};

const TASKS = [mnistTask, smallTask];

// ---- the loops ---------------------------------------------------------------------------------

const categoricalCrossentropy = (yTrue: tf.Tensor, yPred: tf.Tensor): tf.Scalar =>
  tf.mean(tf.metrics.categoricalCrossentropy(yTrue, yPred)) as tf.Scalar;

/** What one writes by hand: minimize per batch, read the loss, then a validation pass. */
async function rawLoop(model: tf.LayersModel, data: DataLoaders, task: Task): Promise<number> {
  const opt = tf.train.adam(task.lr);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  let validAccuracy = Number.NaN;
  let lastLoss = Number.NaN;
  try {
    for (let epoch = 0; epoch < task.epochs; epoch++) {
      for (const { xs, ys } of data.train.batches()) {
        const loss = tf.tidy(
          () => opt.minimize(() => categoricalCrossentropy(ys, model.apply(xs, { training: true }) as tf.Tensor), true, vars) as tf.Scalar,
        );
        lastLoss = (await loss.data())[0] ?? Number.NaN;
        tf.dispose([loss, xs, ys]);
      }
      let seen = 0;
      let correct = 0;
      let lossSum = 0;
      for (const { xs, ys } of data.valid.batches()) {
        const packed = tf.tidy(() => {
          const pred = model.apply(xs) as tf.Tensor;
          return tf.stack([categoricalCrossentropy(ys, pred), accuracy(ys, pred)]);
        });
        const [loss = Number.NaN, acc = Number.NaN] = await packed.data();
        const n = xs.shape[0] ?? 0;
        seen += n;
        lossSum += loss * n;
        correct += acc * n;
        tf.dispose([packed, xs, ys]);
      }
      validAccuracy = correct / seen;
      if (!Number.isFinite(lossSum)) throw new Error('raw loop: the validation loss is not finite');
    }
  } finally {
    opt.dispose();
  }
  if (!Number.isFinite(lastLoss)) throw new Error('raw loop: the training loss is not finite');
  return validAccuracy;
}

/** Not a terminal, whatever the callback is told: every byte written is dropped. */
function nullStream(): Writable {
  return new Writable({
    write(_chunk, _encoding, done) {
      done();
    },
  });
}

async function learnerFit(model: tf.LayersModel, data: DataLoaders, task: Task): Promise<number> {
  const learn = new Learner({
    model,
    data,
    loss: 'categoricalCrossentropy',
    optimizer: (lr) => tf.train.adam(lr),
    metrics: [accuracy],
    callbacks: [new ProgressCallback({ stream: nullStream(), tty: true })],
  });
  try {
    await learn.fit(task.epochs, { lr: task.lr });
  } finally {
    learn.dispose();
  }
  return learn.recorder.history.at(-1)?.metrics.accuracy ?? Number.NaN;
}

async function modelFit(model: tf.LayersModel, data: DataLoaders, task: Task, metrics: string[]): Promise<number> {
  const opt = tf.train.adam(task.lr);
  model.compile({ optimizer: opt, loss: 'categoricalCrossentropy', metrics });
  try {
    const history = await model.fit(data.train.xs, data.train.ys, {
      epochs: task.epochs,
      batchSize: task.batchSize,
      shuffle: true,
      validationData: [data.valid.xs, data.valid.ys],
      verbose: 0,
    });
    return Number((history.history.val_acc ?? []).at(-1) ?? Number.NaN);
  } finally {
    opt.dispose();
  }
}

const LOOPS: Record<Variant, (model: tf.LayersModel, data: DataLoaders, task: Task) => Promise<number>> = {
  [RAW]: rawLoop,
  [LEARNER]: learnerFit,
  [FIT]: (model, data, task) => modelFit(model, data, task, ['accuracy']),
  [FIT_LOSS_ONLY]: (model, data, task) => modelFit(model, data, task, []),
};

// ---- harness -----------------------------------------------------------------------------------

interface Samples {
  ms: number[];
  acc: number[];
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Median over rounds of a/b within the same round: drifts in machine load cancel out. */
function pairedRatio(a: readonly number[], b: readonly number[]): number {
  return median(a.map((v, i) => v / (b[i] as number)));
}

async function benchTask(task: Task, rounds: number): Promise<string[][]> {
  const data = task.data();
  const template = task.model();
  const initial = template.getWeights().map((w) => w.clone());
  template.dispose();
  const samples = new Map<Variant, Samples>(VARIANTS.map((v) => [v, { ms: [], acc: [] }]));
  try {
    // Round 0 warms up (wasm kernels, V8's JIT, tfjs's first-call set-up) and is discarded. Each
    // round runs the variants in a fresh (seeded) random order, so none always runs first, last,
    // or right after the same other variant (whose garbage it would inherit).
    const random = seedrandom(String(7));
    for (let round = 0; round <= rounds; round++) {
      const order = shuffled(VARIANTS, random);
      const line: string[] = [];
      for (const variant of order) {
        const model = task.model();
        model.setWeights(initial);
        const before = tf.memory().numTensors - model.weights.length;
        const started = performance.now();
        let acc: number;
        try {
          acc = await LOOPS[variant](model, data, task);
        } finally {
          model.dispose();
        }
        const ms = (performance.now() - started) / task.epochs;
        const leaked = tf.memory().numTensors - before;
        if (leaked !== 0) throw new Error(`${variant} leaked ${leaked} tensors`);
        if (round > 0) {
          samples.get(variant)?.ms.push(ms);
          samples.get(variant)?.acc.push(acc);
        }
        line.push(`${variant} ${ms.toFixed(0)}`);
      }
      process.stderr.write(`  ${task.name} ${round === 0 ? 'warm-up' : `round ${round}/${rounds}`} (ms/epoch): ${line.join(', ')}\n`);
    }
  } finally {
    tf.dispose(initial);
    data.dispose();
  }
  const ms = (v: Variant) => samples.get(v)?.ms ?? [];
  return VARIANTS.map((v) => [
    task.name,
    v,
    median(ms(v)).toFixed(1),
    Math.min(...ms(v)).toFixed(1),
    pairedRatio(ms(v), ms(RAW)).toFixed(3),
    pairedRatio(ms(v), ms(FIT)).toFixed(3),
    percent(median(samples.get(v)?.acc ?? [])),
  ]);
}

function percent(x: number): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '–';
}

/** One line per task: the two targets, met or not. */
function verdicts(rows: readonly string[][]): string[] {
  const tasks = [...new Set(rows.map((r) => r[0] as string))];
  return tasks.map((task) => {
    const learner = rows.find((r) => r[0] === task && r[1] === LEARNER) ?? [];
    const vsRaw = Number(learner[4]);
    const vsFit = Number(learner[5]);
    const mark = (ok: boolean) => (ok ? 'met' : 'MISSED');
    return `${task}: Learner.fit ${vsRaw.toFixed(3)}× the raw loop (target ≤ 1.05: ${mark(vsRaw <= 1.05)}), ${vsFit.toFixed(3)}× model.fit (target < 1: ${mark(vsFit < 1)})`;
  });
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const right = (i: number) => i >= 2;
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (right(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (right(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

function parseArgs(argv: string[]): { rounds: number | undefined; tasks: Task[] } {
  let rounds: number | undefined;
  let tasks = TASKS;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--rounds') rounds = Number(argv[++i]);
    else if (arg === '--task') {
      const name = argv[++i] ?? '';
      tasks = TASKS.filter((t) => t.name === name || t.name.startsWith(`${name}-`));
      if (tasks.length === 0) throw new Error(`train-overhead: unknown task ${name}; use mnist or small`);
    } else throw new Error(`train-overhead: unknown argument ${arg}; use --task mnist|small and --rounds N`);
  }
  if (rounds !== undefined && !(Number.isInteger(rounds) && rounds >= 1))
    throw new Error('train-overhead: --rounds must be an integer >= 1');
  return { rounds, tasks };
}

async function main(): Promise<void> {
  const { rounds, tasks } = parseArgs(process.argv.slice(2));
  // The demo's backend: wasm, unless EPOCHCAST_BACKEND names another.
  const prefer = (process.env.EPOCHCAST_BACKEND as BackendName | undefined) || 'wasm';
  const { backend } = await selectBackend({ prefer, log: false });
  const flag = (name: string) => (tf.env().getBool(name) ? 'on' : 'off');
  const features = backend === 'wasm' ? ` (SIMD ${flag('WASM_HAS_SIMD_SUPPORT')}, threads ${flag('WASM_HAS_MULTITHREAD_SUPPORT')})` : '';
  const args = process.argv.slice(2).join(' ');
  console.log(
    `command: ${process.env.npm_lifecycle_event === 'bench' ? 'pnpm bench' : 'node bench/dist/train-overhead.js'}${args ? ` ${args}` : ''}`,
  );
  console.log(
    `machine: ${os.cpus()[0]?.model ?? 'unknown cpu'}, ${os.availableParallelism()} cores, ${os.platform()} ${os.arch()}, load ${os.loadavg()[0]?.toFixed(2)}`,
  );
  console.log(`runtime: node ${process.version}, tfjs ${tf.version.tfjs}, backend ${backend}${features}`);
  console.log('method: each round runs every variant once, in a seeded random order; 1 warm-up round discarded;');
  console.log('        ms/epoch = wall time of a fit / its epochs;');
  console.log('        vs raw / vs model.fit = median over rounds of the ratio within a round (machine load cancels)');
  console.log('Learner.fit: Recorder + ProgressCallback drawing its bar into a null stream (tty: true)');
  for (const t of tasks) console.log(`task ${t.name}: ${t.describe}, batch ${t.batchSize}, ${t.epochs} epoch(s) per fit, Adam lr ${t.lr}`);
  console.log('');
  const rows: string[][] = [];
  for (const task of tasks) rows.push(...(await benchTask(task, rounds ?? task.rounds)));
  console.log(table(['task', 'variant', 'median ms/epoch', 'min ms/epoch', 'vs raw', 'vs model.fit', 'valid acc'], rows));
  console.log('');
  for (const line of verdicts(rows)) console.log(line);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
