import * as tf from '@tensorflow/tfjs';
import type { Callback } from './callback.js';
import { TfjsCallbackAdapter, tfjsCallback } from './tfjs-callback.js';

type TfjsCallbacks = tf.ModelFitArgs['callbacks'];

/**
 * `model.fit(x, y, args)` with epochcast callbacks (or an adapter from `tfjsCallback`) added to
 * `args.callbacks`, inside a try/catch so that `onTrainEnd` runs with status `failed` even when
 * tfjs throws. Resolves to tfjs's History; the adapter's Recorder has the epochcast history.
 */
export async function fitWithCallbacks(
  model: tf.LayersModel,
  x: tf.Tensor | tf.Tensor[] | { [inputName: string]: tf.Tensor },
  y: tf.Tensor | tf.Tensor[] | { [inputName: string]: tf.Tensor },
  args: tf.ModelFitArgs,
  callbacks: readonly Callback[] | TfjsCallbackAdapter,
): Promise<tf.History> {
  const adapter = callbacks instanceof TfjsCallbackAdapter ? callbacks : tfjsCallback(callbacks);
  try {
    return await model.fit(x, y, { ...args, callbacks: withAdapter(args.callbacks, args.yieldEvery, adapter) });
  } catch (error) {
    await adapter.finish(error);
    throw error;
  }
}

/** `model.fitDataset(dataset, args)` with epochcast callbacks; see `fitWithCallbacks`. */
export async function fitDatasetWithCallbacks<T extends tf.TensorContainer>(
  model: tf.LayersModel,
  dataset: tf.data.Dataset<T>,
  args: tf.ModelFitDatasetArgs<T>,
  callbacks: readonly Callback[] | TfjsCallbackAdapter,
): Promise<tf.History> {
  const adapter = callbacks instanceof TfjsCallbackAdapter ? callbacks : tfjsCallback(callbacks);
  try {
    return await model.fitDataset(dataset, { ...args, callbacks: withAdapter(args.callbacks, args.yieldEvery, adapter) });
  } catch (error) {
    await adapter.finish(error);
    throw error;
  }
}

/** The user's tfjs callbacks, as tfjs callback objects, followed by the adapter. */
function withAdapter(
  callbacks: TfjsCallbacks,
  yieldEvery: tf.ModelFitArgs['yieldEvery'],
  adapter: TfjsCallbackAdapter,
): NonNullable<tf.ModelFitArgs['callbacks']> {
  const list = callbacks == null ? [] : Array.isArray(callbacks) ? callbacks : [callbacks];
  // tfjs treats the array as callback objects only if its first element is one: wrap plain `{ onEpochEnd… }` objects.
  const asObjects = list.map((cb) =>
    typeof (cb as { setParams?: unknown }).setParams === 'function' ? cb : new tf.CustomCallback(cb as tf.CustomCallbackArgs, yieldEvery),
  );
  return [...asObjects, adapter] as NonNullable<tf.ModelFitArgs['callbacks']>;
}
