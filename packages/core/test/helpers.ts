import * as tf from '@tensorflow/tfjs';
import { accuracy, Callback, DataLoaders, EVENTS, type EventName, Learner, type Metric, type TrainingState } from '../src/index.js';

/** A small, learnable 3-class problem: the class is which of the three inputs is largest. */
export function toyData(n = 256, seed = 1): { x: tf.Tensor2D; y: tf.Tensor2D } {
  let s = seed;
  const rand = () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
  const xs: number[][] = [];
  const ys: number[][] = [];
  for (let i = 0; i < n; i++) {
    const row = [rand(), rand(), rand()];
    xs.push(row);
    const k = row.indexOf(Math.max(...row));
    ys.push([0, 1, 2].map((j) => (j === k ? 1 : 0)));
  }
  return { x: tf.tensor2d(xs), y: tf.tensor2d(ys) };
}

export function toyModel(seed = 7): tf.Sequential {
  const model = tf.sequential();
  model.add(
    tf.layers.dense({ inputShape: [3], units: 16, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
  );
  model.add(tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }));
  return model;
}

export function toyLoaders(n = 256, batchSize = 32): DataLoaders {
  const { x, y } = toyData(n);
  const dls = DataLoaders.fromTensors(x, y, { validPct: 0.25, batchSize, seed: 3 });
  tf.dispose([x, y]);
  return dls;
}

export interface RecordedEvent {
  event: EventName;
  epoch: number;
  batch: number;
  training: boolean;
}

/** Records every event it sees, with where in the loop it was. */
export class EventRecorder extends Callback {
  events: RecordedEvent[] = [];
  states: { event: EventName; status: string; error?: Error; stopReason?: string }[] = [];
  constructor() {
    super();
    for (const event of EVENTS) {
      this[event] = (s: TrainingState) => {
        this.events.push({ event, epoch: s.epoch, batch: s.batch, training: s.training });
        this.states.push({ event, status: s.status, error: s.error, stopReason: s.stopReason });
      };
    }
  }
  names(): EventName[] {
    return this.events.map((e) => e.event);
  }
}

/**
 * A learner on the toy task whose validation metric `score` takes `values[e]` at epoch e, so
 * trackers see a scripted sequence; `snapshots[e]` holds the model's weights at the end of epoch e
 * (taken after the Recorder, before the trackers at order 70). Also reports `accuracy`.
 */
export function scriptedLearner(values: number[], callbacks: Callback[]) {
  let epoch = 0;
  const score: Metric = () => tf.scalar(values[epoch] ?? Number.NaN);
  Object.defineProperty(score, 'name', { value: 'score' });
  const snapshots: Float32Array[][] = [];
  class Script extends Callback {
    override order = -20;
    override onEpochBegin(s: TrainingState) {
      epoch = s.epoch;
    }
  }
  class Snapshot extends Callback {
    override order = 65;
    override onEpochEnd(s: TrainingState) {
      snapshots[s.epoch] = weightsOf(s.learner.model);
    }
  }
  const model = toyModel();
  const learn = new Learner({
    model,
    data: toyLoaders(256, 32),
    loss: 'categoricalCrossentropy',
    metrics: [score, accuracy],
    callbacks: [new Script(), new Snapshot(), ...callbacks],
  });
  return { learn, model, snapshots, weights: () => weightsOf(model) };
}

export const weightsOf = (model: tf.LayersModel) => model.getWeights().map((w) => w.dataSync() as Float32Array);
