import * as tf from '@tensorflow/tfjs';

/**
 * A validation metric: a scalar tensor for one batch, averaged over the validation set weighted by
 * batch size. The table names it by the function's name, so give custom metrics a name.
 */
export type Metric = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;

function correct(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor {
  const classes = yPred.shape[yPred.shape.length - 1] ?? 1;
  if (classes === 1 || yPred.rank === 1) {
    return tf.equal(tf.greater(yPred.reshape([-1]), 0.5), tf.greater(yTrue.reshape([-1]), 0.5));
  }
  const predicted = tf.argMax(yPred, -1);
  const sparse = yTrue.rank < yPred.rank || (yTrue.shape[yTrue.shape.length - 1] ?? 1) === 1;
  const actual = sparse ? yTrue.reshape([-1]).toInt() : tf.argMax(yTrue, -1);
  return tf.equal(predicted.reshape([-1]), actual.reshape([-1]));
}

/** Fraction of samples whose predicted class (argmax, or > 0.5 for one output) is the target's; one-hot or sparse targets. */
export function accuracy(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mean(correct(yTrue, yPred).toFloat()));
}

/** 1 − accuracy. */
export function errorRate(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.sub(1, accuracy(yTrue, yPred)));
}

/** Mean squared error. */
export function mse(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mean(tf.squaredDifference(yTrue, yPred)));
}

/** Mean absolute error. */
export function mae(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mean(tf.abs(tf.sub(yTrue, yPred))));
}

export function metricName(metric: Metric, index: number): string {
  return metric.name || `metric${index}`;
}
