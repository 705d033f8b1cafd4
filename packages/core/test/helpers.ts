import { accuracy, Callback, EVENTS, type EventName, type Metric, type TrainingState } from '@epochcast/core';
import { toyLearner } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';

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
  const learn = toyLearner([new Script(), new Snapshot(), ...callbacks], { samples: 256, batchSize: 32, metrics: [score, accuracy] });
  const model = learn.model;
  return { learn, model, snapshots, weights: () => weightsOf(model) };
}

export const weightsOf = (model: tf.LayersModel) => model.getWeights().map((w) => w.dataSync() as Float32Array);

/** Reads `tf.memory().numTensors` at the end of epoch 1, after every callback of a lower `order`. */
export class TensorsAtEpoch1 extends Callback {
  count = -1;
  constructor(order = 1000) {
    super();
    this.order = order;
  }
  override onEpochEnd(s: TrainingState) {
    if (s.epoch === 1) this.count = tf.memory().numTensors;
  }
}
