import * as tf from '@tensorflow/tfjs';
import { ConfigError, describeValue } from './errors.js';

export const OPTIMIZER_NAMES = ['adam', 'sgd'] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];
/** Builds a fresh optimizer for a starting learning rate (lrFind uses a throwaway one). */
export type OptimizerFactory = (lr: number) => tf.Optimizer;

export function resolveOptimizer(optimizer: OptimizerName | OptimizerFactory): OptimizerFactory {
  if (optimizer === 'adam') return (lr) => tf.train.adam(lr);
  if (optimizer === 'sgd') return (lr) => tf.train.sgd(lr);
  if (typeof optimizer === 'function') return optimizer;
  throw new ConfigError(
    `Learner: optimizer must be one of ${OPTIMIZER_NAMES.join(', ')} or a factory (lr) => tf.Optimizer; received ${describeValue(optimizer)}.`,
  );
}

/**
 * Reads and sets an optimizer's learning rate and momentum between steps, hiding how each tfjs
 * optimizer stores them: only SGD has `setLearningRate`; Adam, RMSProp, Adagrad, Adadelta and
 * Adamax keep `learningRate` in a protected field read on every step; MomentumOptimizer reads a
 * scalar tensor `m` made once in its constructor, so its `setMomentum` changes nothing.
 */
export interface HyperParams {
  readonly lr: number;
  /** Momentum (SGD momentum, Adam/Adamax beta1, RMSProp momentum); 0 where there is none. */
  readonly mom: number;
  /** Whether `setMom` changes anything for this optimizer. */
  readonly hasMomentum: boolean;
  setLr(lr: number): void;
  setMom(mom: number): void;
}

// The protected fields the optimizers read on each step. Typed here, once, so nothing else casts.
interface OptimizerFields {
  learningRate?: number;
  beta1?: number;
  momentum?: number;
  m?: tf.Scalar;
  c?: tf.Scalar;
}

export function hyperParams(optimizer: tf.Optimizer): HyperParams {
  const fields = optimizer as unknown as OptimizerFields;
  // tfjs optimizers define Symbol.hasInstance by duck typing (any optimizer is `instanceof
  // tf.SGDOptimizer`), so the class name is the only reliable way to tell them apart.
  const kind = optimizer.getClassName();
  if (kind === 'Momentum') {
    return {
      get lr() {
        return fields.learningRate ?? Number.NaN;
      },
      get mom() {
        return fields.momentum ?? 0;
      },
      hasMomentum: true,
      setLr: (lr) => (optimizer as tf.MomentumOptimizer).setLearningRate(lr),
      setMom: (mom) => {
        if (mom === fields.momentum) return;
        fields.momentum = mom;
        fields.m?.dispose();
        fields.m = tf.keep(tf.scalar(mom));
      },
    };
  }
  if (kind === 'SGD') {
    return {
      get lr() {
        return fields.learningRate ?? Number.NaN;
      },
      mom: 0,
      hasMomentum: false,
      setLr: (lr) => (optimizer as tf.SGDOptimizer).setLearningRate(lr),
      setMom: () => {},
    };
  }
  if (typeof fields.learningRate !== 'number') {
    throw new ConfigError(
      `Learner: cannot schedule the learning rate of ${optimizer.getClassName()}: it has no learningRate field. Use tf.train.sgd/momentum/adam/adamax/rmsprop/adagrad/adadelta.`,
    );
  }
  // Adam/Adamax call their momentum beta1; RMSProp calls it momentum.
  const momField = typeof fields.beta1 === 'number' ? 'beta1' : typeof fields.momentum === 'number' ? 'momentum' : undefined;
  return {
    get lr() {
      return fields.learningRate ?? Number.NaN;
    },
    get mom() {
      return momField ? (fields[momField] ?? 0) : 0;
    },
    hasMomentum: momField !== undefined,
    setLr: (lr) => {
      fields.learningRate = lr;
    },
    setMom: (mom) => {
      if (momField) fields[momField] = mom;
    },
  };
}

/**
 * The learner's optimizer: made by the factory on first use and kept, with its state, across fits;
 * lent out for lrFind's throwaway sweep and replaced by a loaded checkpoint's.
 */
export class OptimizerSlot {
  private current: tf.Optimizer | undefined;
  private params: HyperParams | undefined;

  constructor(readonly factory: OptimizerFactory) {}

  get optimizer(): tf.Optimizer {
    if (!this.current) this.replace(this.create(1e-3));
    return this.current as tf.Optimizer;
  }

  get hyperParams(): HyperParams {
    this.optimizer;
    return this.params as HyperParams;
  }

  /** A fresh optimizer from the factory, checked. */
  create(lr: number): tf.Optimizer {
    const made: unknown = this.factory(lr);
    if (!(made instanceof tf.Optimizer))
      throw new ConfigError(
        `Learner: the optimizer factory must return a tf.Optimizer (e.g. lr => tf.train.adam(lr)); it returned ${describeValue(made)}.`,
      );
    return made;
  }

  /** Puts `optimizer` in place (none: empties the slot), disposing the one there. */
  replace(optimizer: tf.Optimizer | undefined): void {
    this.current?.dispose();
    this.current = optimizer;
    this.params = optimizer && hyperParams(optimizer);
  }

  /** Puts `optimizer` in place until the returned function disposes it and brings back the one before. */
  lend(optimizer: tf.Optimizer): () => HyperParams | undefined {
    const saved = { current: this.current, params: this.params };
    this.current = optimizer;
    this.params = hyperParams(optimizer);
    return () => {
      optimizer.dispose();
      this.current = saved.current;
      this.params = saved.params;
      return saved.params;
    };
  }
}

/** Asking an optimizer without momentum (plain SGD, Adagrad, Adadelta) for some: nothing would change. */
export function noMomentumError(where: string, optimizer: tf.Optimizer): ConfigError {
  return new ConfigError(
    `${where}: the optimizer (${optimizer.getClassName()}) has no momentum, so this would change nothing. For SGD with momentum pass optimizer: (lr) => tf.train.momentum(lr, 0.9); 'adam' has one (its beta1).`,
  );
}
