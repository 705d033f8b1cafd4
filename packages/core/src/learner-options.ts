import type * as tf from '@tensorflow/tfjs';
import type { Callback } from './callback.js';
import type { DataLoaders } from './data.js';
import type { LossFn, LossName } from './losses.js';
import type { Metric } from './metrics.js';
import type { OptimizerFactory, OptimizerName } from './optimizers.js';
import type { OneCycleOptions } from './schedules.js';

export interface LearnerOptions {
  /** A tfjs layers model (tf.sequential() or tf.model()); it need not be compiled. */
  model: tf.LayersModel;
  data: DataLoaders;
  loss: LossName | LossFn;
  /** Default 'adam'. A factory receives the starting lr. */
  optimizer?: OptimizerName | OptimizerFactory;
  /** Computed on the validation set every epoch, named by their function's name. */
  metrics?: readonly Metric[];
  callbacks?: readonly Callback[];
  /**
   * Longest stretch of work, in ms, before the loop yields to Node's event loop so timers,
   * sockets and signal handlers run (a tfjs loop never yields by itself). Default 50.
   */
  yieldEveryMs?: number;
}

export interface FitOptions {
  /** Constant learning rate for the fit. Default 1e-3 (when resuming: the checkpoint's). */
  lr?: number;
  /** Callbacks attached for this fit only. */
  callbacks?: readonly Callback[];
  /**
   * Continue the run of the checkpoint `learn.load(dir)` read: train the epochs it had left of
   * `epochs`, numbering them on from where it stopped, with its Recorder history. Default false.
   */
  resume?: boolean;
}

export interface FitOneCycleOptions extends OneCycleOptions {
  callbacks?: readonly Callback[];
  /**
   * Continue the one-cycle run of the checkpoint `learn.load(dir)` read: the remaining epochs of
   * `epochs`, each step at the lr and momentum an uninterrupted run of `epochs` would have had.
   * The schedule's options default to the checkpoint's. Default false.
   */
  resume?: boolean;
}
