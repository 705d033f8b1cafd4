/**
 * An optimizer's state as named tensors, for checkpoints: what tfjs's `getWeights()` gives (the
 * iteration count, then the slots: Adam's first and second moments, SGD momentum's accumulations,
 * RMSProp's mean squares…) plus what it leaves out and `setWeights()` gets wrong.
 *
 * tfjs 4.22's Adam keeps its bias corrections in two variables, `accBeta1` and `accBeta2`, the
 * running products of beta1 and beta2 over the steps taken. `setWeights()` recomputes them as
 * `beta ** (iterations + 1)`, which is neither the product a scheduled beta1 (one-cycle momentum)
 * gave nor, in float32, bit-for-bit the product of a constant one; so they are saved and put back
 * as they were.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from './errors.js';

/** A tensor and the name tfjs saves it under (`tf.NamedTensor` in tfjs-core, not re-exported by tfjs). */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

/** Variables an optimizer keeps outside `getWeights()`, by class name. */
const HIDDEN_VARIABLES: Readonly<Record<string, readonly string[]>> = {
  Adam: ['accBeta1', 'accBeta2'],
};

/** The prefix of the names under which the hidden variables are saved (no tfjs weight name has a colon). */
const HIDDEN_PREFIX = 'epochcast:';

/** The state to encode; `dispose()` frees the copies made for it (never the optimizer's own variables). */
export interface CapturedOptimizerState {
  readonly tensors: NamedTensor[];
  dispose(): void;
}

export async function captureOptimizerState(optimizer: tf.Optimizer): Promise<CapturedOptimizerState> {
  const kind = optimizer.getClassName();
  let weights: NamedTensor[];
  try {
    weights = await optimizer.getWeights();
  } catch (error) {
    throw new ConfigError(
      `learn.save: the ${kind} optimizer's state cannot be read (tfjs: ${(error as Error).message}). Use adam, sgd, momentum, rmsprop, adagrad or adadelta to checkpoint a run.`,
    );
  }
  // getWeights() creates the iteration count's scalar afresh; the slots are the optimizer's own.
  const created = weights.filter((w) => w.name === 'iter').map((w) => w.tensor);
  const fields = optimizer as unknown as Record<string, unknown>;
  const hidden = (HIDDEN_VARIABLES[kind] ?? []).flatMap((field) => {
    const value = fields[field];
    return value instanceof tf.Variable ? [{ name: `${HIDDEN_PREFIX}${field}`, tensor: value as tf.Tensor }] : [];
  });
  return { tensors: [...weights, ...hidden], dispose: () => tf.dispose(created) };
}

/**
 * Puts saved state into a fresh optimizer of the same kind (made by the learner's factory, never
 * stepped: `setWeights()` replaces its slot list without disposing what was there). The tensors stay
 * the caller's to dispose.
 */
export async function restoreOptimizerState(optimizer: tf.Optimizer, tensors: readonly NamedTensor[]): Promise<void> {
  const weights = tensors.filter((t) => !t.name.startsWith(HIDDEN_PREFIX));
  const hidden = tensors.filter((t) => t.name.startsWith(HIDDEN_PREFIX));
  // setWeights makes each slot a variable sharing the tensor's data (tfjs counts the references), so
  // the caller may dispose the tensors afterwards.
  await optimizer.setWeights(weights);
  const fields = optimizer as unknown as Record<string, unknown>;
  for (const { name, tensor } of hidden) {
    const variable = fields[name.slice(HIDDEN_PREFIX.length)];
    if (variable instanceof tf.Variable) variable.assign(tensor);
  }
}

/**
 * Why saved optimizer state does not fit the model's trainable variables, or undefined when it does:
 * every slot list holds one tensor per variable, in the variables' order, of the variable's shape.
 */
export function optimizerStateMismatch(
  slots: readonly { name: string; shape: readonly number[] }[],
  variableShapes: readonly (readonly number[])[],
): string | undefined {
  const n = variableShapes.length;
  if (slots.length === 0) return undefined;
  if (n === 0 || slots.length % n !== 0)
    return `it holds ${slots.length} slot tensors, which is not a multiple of the model's ${n} trainable variables`;
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i] as { name: string; shape: readonly number[] };
    const expected = variableShapes[i % n] as readonly number[];
    if (slot.shape.join() !== expected.join())
      return `slot ${slot.name} has shape [${slot.shape}] where the model's trainable variable ${i % n} has [${expected}]`;
  }
  return undefined;
}
