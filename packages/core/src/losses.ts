import * as tf from '@tensorflow/tfjs';
import { ConfigError, describeValue } from './errors.js';

/** A loss: targets and predictions in, a scalar (or one value per sample, averaged) out. */
export type LossFn = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;

export const LOSS_NAMES = ['categoricalCrossentropy', 'sparseCategoricalCrossentropy', 'binaryCrossentropy', 'meanSquaredError'] as const;
export type LossName = (typeof LOSS_NAMES)[number];

/** Expects probabilities (a softmax/sigmoid output), as Keras and tfjs layers do. */
const BUILT_IN: Record<LossName, LossFn> = {
  categoricalCrossentropy: (yTrue, yPred) => tf.metrics.categoricalCrossentropy(yTrue, yPred),
  sparseCategoricalCrossentropy: (yTrue, yPred) => {
    const numClasses = yPred.shape[yPred.shape.length - 1] ?? 1;
    const labels = yTrue.reshape([-1]).toInt();
    return tf.metrics.categoricalCrossentropy(tf.oneHot(labels, numClasses), yPred);
  },
  binaryCrossentropy: (yTrue, yPred) => tf.metrics.binaryCrossentropy(yTrue, yPred),
  meanSquaredError: (yTrue, yPred) => tf.metrics.meanSquaredError(yTrue, yPred),
};

/** Returns a loss that always yields a scalar (the mean over samples). Call inside tf.tidy. */
export function resolveLoss(loss: LossName | LossFn): LossFn {
  const fn = typeof loss === 'string' ? BUILT_IN[loss as LossName] : loss;
  if (typeof fn !== 'function')
    throw new ConfigError(
      `Learner: loss must be one of ${LOSS_NAMES.join(', ')} or a function (yTrue, yPred) => tf.Tensor; received ${describeValue(loss)}.`,
    );
  return (yTrue, yPred) => {
    const value = fn(yTrue, yPred);
    return value.rank === 0 ? value : tf.mean(value);
  };
}

export function lossName(loss: LossName | LossFn): string {
  return typeof loss === 'string' ? loss : loss.name || 'custom loss';
}
