// MNIST digits as PNG files on disk: written once from the `mnist` package, then read back in
// batches by an async generator, as a real dataset of images would be. One file per digit,
// `<dir>/<split>/<label>/<n>.png`: the label is the folder's name.
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CLASSES, loadMnist, PIXELS } from '@epochcast/cli/mnist';
import type { Batch } from '@epochcast/core';
import * as tf from '@tensorflow/tfjs';
import { PNG } from 'pngjs';

const SIDE = 28;
/** A 28×28 grayscale PNG is under 1 KB; anything far larger is not one of ours. */
const MAX_FILE_BYTES = 64 * 1024;
/** Files written or read at once. */
const CONCURRENCY = 64;

export interface DigitFile {
  file: string;
  label: number;
}

export interface WrittenDigits {
  train: DigitFile[];
  valid: DigitFile[];
}

/**
 * Writes `count` MNIST digits (picked by a seeded shuffle, as `loadMnist` does) as PNG files under
 * `dir`, `validPct` of them into `valid/`, the rest into `train/`. Replaces what `dir` held there.
 */
export async function writeDigitPngs(dir: string, count: number, validPct: number, seed: number): Promise<WrittenDigits> {
  const { x, y } = loadMnist(count, seed);
  const pixels = x.dataSync() as Float32Array;
  const labelIndex = y.argMax(1);
  const labels = labelIndex.dataSync();
  tf.dispose([x, y, labelIndex]);
  const nValid = Math.round(count * validPct);
  const written: WrittenDigits = { train: [], valid: [] };
  await Promise.all(['train', 'valid'].map((split) => rm(path.join(dir, split), { recursive: true, force: true })));
  for (const split of ['train', 'valid'])
    for (let label = 0; label < CLASSES; label++) await mkdir(path.join(dir, split, String(label)), { recursive: true });
  const jobs = Array.from({ length: count }, (_, n) => async () => {
    const split = n < nValid ? 'valid' : 'train';
    const label = labels[n] as number;
    const file = path.join(dir, split, String(label), `${String(n).padStart(5, '0')}.png`);
    await writeFile(file, encodeDigit(pixels.subarray(n * PIXELS, (n + 1) * PIXELS)));
    written[split as keyof WrittenDigits].push({ file, label });
  });
  await inBatchesOf(CONCURRENCY, jobs);
  return written;
}

/** Every digit under `<dir>/<split>`, its label from its folder, in a stable order. */
export async function listDigits(dir: string, split: 'train' | 'valid'): Promise<DigitFile[]> {
  const files: DigitFile[] = [];
  for (let label = 0; label < CLASSES; label++) {
    const folder = path.join(dir, split, String(label));
    const names = await readdir(folder).catch(() => [] as string[]);
    for (const name of names.filter((n) => n.endsWith('.png')).sort()) files.push({ file: path.join(folder, name), label });
  }
  return files;
}

/**
 * One pass over `files` in batches of `batchSize`, in a fresh seeded order when `shuffleSeed` is
 * given. Each batch's files are read and decoded at once (the reads and zlib's inflate run on
 * Node's thread pool, overlapping the training step), then become a `{ xs: [n, 784], ys: [n, 10] }`.
 */
export async function* readDigitBatches(files: readonly DigitFile[], batchSize: number, shuffleSeed?: number): AsyncGenerator<Batch> {
  const order = shuffleSeed === undefined ? [...files] : shuffled(files, lehmer(shuffleSeed));
  for (let start = 0; start < order.length; start += batchSize) {
    const chunk = order.slice(start, start + batchSize);
    const images = await Promise.all(chunk.map((f) => readDigit(f.file)));
    const xs = new Float32Array(chunk.length * PIXELS);
    const ys = new Float32Array(chunk.length * CLASSES);
    for (const [i, image] of images.entries()) {
      xs.set(image, i * PIXELS);
      ys[i * CLASSES + (chunk[i] as DigitFile).label] = 1;
    }
    yield { xs: tf.tensor2d(xs, [chunk.length, PIXELS]), ys: tf.tensor2d(ys, [chunk.length, CLASSES]) };
  }
}

/** A digit's 784 pixels in [0, 1]. The file is outside input: its size and dimensions are checked before decoding. */
export async function readDigit(file: string): Promise<Float32Array> {
  const { size } = await stat(file);
  if (size > MAX_FILE_BYTES) throw new Error(`${file}: ${size} bytes, more than a 28×28 digit's PNG can be (at most ${MAX_FILE_BYTES})`);
  const bytes = await readFile(file);
  // The IHDR chunk comes first: width and height at bytes 16–23. Checked before inflating anything.
  const width = bytes.length >= 24 ? bytes.readUInt32BE(16) : 0;
  const height = bytes.length >= 24 ? bytes.readUInt32BE(20) : 0;
  if (width !== SIDE || height !== SIDE) throw new Error(`${file}: not a 28×28 PNG (header says ${width}×${height})`);
  const png = await new Promise<PNG>((resolve, reject) => {
    new PNG().parse(bytes, (error, decoded) => (error ? reject(new Error(`${file}: ${error.message}`)) : resolve(decoded)));
  });
  const pixels = new Float32Array(PIXELS);
  // pngjs decodes to RGBA, 8 bits a channel; the digits are gray, so red is the value.
  for (let p = 0; p < PIXELS; p++) pixels[p] = (png.data[p * 4] as number) / 255;
  return pixels;
}

function encodeDigit(pixels: Float32Array): Buffer {
  const png = new PNG({ width: SIDE, height: SIDE });
  for (let p = 0; p < PIXELS; p++) {
    const v = Math.round(Math.min(1, Math.max(0, pixels[p] as number)) * 255);
    png.data.set([v, v, v, 255], p * 4);
  }
  return PNG.sync.write(png, { colorType: 0 });
}

/** A small seeded generator (Park–Miller): the same seed, the same order. */
function lehmer(seed: number): () => number {
  let s = (Math.abs(Math.floor(seed)) % 2147483646) + 1;
  return () => {
    s = (s * 16807) % 2147483647;
    return (s - 1) / 2147483646;
  };
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

async function inBatchesOf(size: number, jobs: readonly (() => Promise<void>)[]): Promise<void> {
  for (let start = 0; start < jobs.length; start += size) await Promise.all(jobs.slice(start, start + size).map((job) => job()));
}
