// Scenario 1 — training overhead: the same model, data, optimizer and backend trained five ways in
// one process — a raw `optimizer.minimize` loop, `Learner.fit` (Recorder + ProgressCallback),
// `Learner.fit` with Telegram + Slack + e-mail notifiers on every event (against the testkit
// servers), and tfjs's own `model.fit` with and without metrics — interleaved over many rounds.
import { Alerts, divergence, nanLoss, plateau, slowEpoch, threshold } from '@epochcast/notify';
import * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';
import { fmt, mark, median, pairedRatio, percent, progress, shuffled, table } from '../harness.js';
import { endMessages, makeNotifiers, type Services } from '../services.js';
import { type InMemory, learnerFit, modelFit, rawLoop, type Task, validAccuracy } from '../tasks.js';

export const RAW = 'raw minimize loop';
export const LEARNER = 'Learner.fit';
export const NOTIFIED = 'Learner.fit + all notifiers';
export const ALERTED = 'Learner.fit + Alerts, 5 rules';
export const FIT = 'tfjs model.fit';
export const FIT_LOSS_ONLY = 'tfjs model.fit, no metrics';
type Variant = typeof RAW | typeof LEARNER | typeof NOTIFIED | typeof ALERTED | typeof FIT | typeof FIT_LOSS_ONLY;
const VARIANTS: readonly Variant[] = [RAW, LEARNER, NOTIFIED, ALERTED, FIT, FIT_LOSS_ONLY];

/** Every rule of issue 17, checked after each batch and epoch; none fires on a healthy run, so this is their cost alone. */
function allRules(): Alerts {
  return new Alerts([
    nanLoss(),
    divergence({ factor: 4 }),
    threshold('valid_loss', '<', 0),
    plateau('valid_loss', { patience: 1000 }),
    slowEpoch({ factor: 100 }),
  ]);
}

interface Outcome {
  acc: number;
  /** ms spent in the notifiers' start check and end flush (waiting on delivery), excluded from ms/epoch. */
  waitsMs: number;
}

let runs = 0;

async function runVariant(variant: Variant, model: tf.LayersModel, data: InMemory, task: Task, services: Services): Promise<Outcome> {
  switch (variant) {
    case RAW:
      return { acc: await rawLoop(model, data, task), waitsMs: 0 };
    case LEARNER:
      return { acc: validAccuracy(await learnerFit(model, data, task)), waitsMs: 0 };
    case NOTIFIED: {
      const runName = `bench-overhead-${++runs}`;
      const notifiers = makeNotifiers(services, runName);
      try {
        const learn = await learnerFit(model, data, task, notifiers.all);
        const ends = endMessages(services, runName);
        if (ends.telegram !== 1 || ends.slack !== 1 || ends.email !== 1)
          throw new Error(`${runName}: end messages telegram ${ends.telegram}, slack ${ends.slack}, email ${ends.email}; expected 1 each`);
        return { acc: validAccuracy(learn), waitsMs: notifiers.waitsMs() };
      } finally {
        await notifiers.close();
      }
    }
    case ALERTED:
      return { acc: validAccuracy(await learnerFit(model, data, task, [allRules()])), waitsMs: 0 };
    case FIT:
      return { acc: await modelFit(model, data, task, ['accuracy']), waitsMs: 0 };
    case FIT_LOSS_ONLY:
      return { acc: await modelFit(model, data, task, []), waitsMs: 0 };
  }
}

export interface OverheadResult {
  rows: string[][];
  verdicts: string[];
}

async function benchTask(task: Task, rounds: number, services: Services): Promise<string[][]> {
  const data = task.data();
  const template = task.model();
  const initial = template.getWeights().map((w) => w.clone());
  template.dispose();
  const samples = new Map<Variant, { ms: number[]; acc: number[]; waits: number[] }>(
    VARIANTS.map((v) => [v, { ms: [], acc: [], waits: [] }]),
  );
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
        let outcome: Outcome;
        try {
          outcome = await runVariant(variant, model, data, task, services);
        } finally {
          model.dispose();
        }
        const ms = (performance.now() - started - outcome.waitsMs) / task.epochs;
        const leaked = tf.memory().numTensors - before;
        if (leaked !== 0) throw new Error(`${variant} leaked ${leaked} tensors`);
        if (round > 0) {
          const s = samples.get(variant);
          s?.ms.push(ms);
          s?.acc.push(outcome.acc);
          s?.waits.push(outcome.waitsMs);
        }
        line.push(`${variant} ${ms.toFixed(0)}`);
      }
      progress(`overhead ${task.name} ${round === 0 ? 'warm-up' : `round ${round}/${rounds}`} (ms/epoch): ${line.join(', ')}`);
    }
  } finally {
    tf.dispose(initial);
    data.dispose();
  }
  const get = (v: Variant) => samples.get(v) ?? { ms: [], acc: [], waits: [] };
  return VARIANTS.map((v) => [
    task.name,
    v,
    median(get(v).ms).toFixed(1),
    Math.min(...get(v).ms).toFixed(1),
    pairedRatio(get(v).ms, get(RAW).ms).toFixed(3),
    pairedRatio(get(v).ms, get(FIT).ms).toFixed(3),
    percent(median(get(v).acc)),
    v === NOTIFIED ? fmt(median(get(v).waits), 0) : '–',
  ]);
}

export async function overheadScenario(tasks: readonly Task[], rounds: number | undefined, services: Services): Promise<string> {
  const rows: string[][] = [];
  for (const task of tasks) rows.push(...(await benchTask(task, rounds ?? task.rounds, services)));
  const lines: string[] = [];
  for (const t of tasks)
    lines.push(
      `task ${t.name}: ${t.describe}, batch ${t.batchSize}, ${t.epochs} epoch(s) per fit, Adam lr ${t.lr}, ${rounds ?? t.rounds} rounds`,
    );
  lines.push('');
  lines.push(
    table(
      ['task', 'variant', 'median ms/epoch', 'min ms/epoch', 'vs raw', 'vs model.fit', 'valid acc', 'start check + end flush, ms/fit'],
      rows,
    ),
  );
  lines.push('');
  for (const task of new Set(rows.map((r) => r[0] as string))) {
    const vsRawOf = (variant: Variant) => Number((rows.find((r) => r[0] === task && r[1] === variant) ?? [])[4]);
    const alerts = vsRawOf(ALERTED) / vsRawOf(LEARNER);
    lines.push(`${task}: ${ALERTED} ${alerts.toFixed(3)}× Learner.fit (issue 17: no measurable cost per batch)`);
    for (const variant of [LEARNER, NOTIFIED]) {
      const row = rows.find((r) => r[0] === task && r[1] === variant) ?? [];
      const vsRaw = Number(row[4]);
      const vsFit = Number(row[5]);
      lines.push(
        `${task}: ${variant} ${vsRaw.toFixed(3)}× the raw loop (target ≤ 1.05: ${mark(vsRaw <= 1.05)}), ${vsFit.toFixed(3)}× model.fit (target < 1: ${mark(vsFit < 1)})`,
      );
    }
  }
  return lines.join('\n');
}
