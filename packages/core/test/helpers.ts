import * as tf from '@tensorflow/tfjs';
import { Callback, DataLoaders, EVENTS, type EventName, type TrainingState } from '../src/index.js';

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
