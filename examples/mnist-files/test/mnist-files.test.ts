// The example run small, as a user runs it (its built main.js in a child process): it writes the
// digits as PNG files, streams them back with fromIterables and learns from them; a second run
// reuses the files; a run killed after an epoch resumes from its checkpoint and ends as an unbroken
// one. The files hold the real digits, and a file that is not one is refused by name.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadMnist, PIXELS } from '@epochcast/cli/mnist';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { readDigit } from '../src/digit-files.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
// A run of 400 digits takes ~6 s on an idle machine; the bound leaves room for a loaded one.
const TIME_BOUND_MS = 90_000;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'epochcast-mnist-files-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const run = (...args: string[]) =>
  promisify(execFile)(process.execPath, [MAIN, '--dir', dir, '--digits', '400', '--epochs', '1', '--batch-size', '32', ...args], {
    timeout: TIME_BOUND_MS,
  });

test(
  'writes 400 digits as PNG files, trains one epoch from them streamed, and learns; a second run reuses the files',
  async () => {
    const started = performance.now();
    const first = await run();
    expect(performance.now() - started).toBeLessThan(TIME_BOUND_MS);
    expect(first.stdout).toMatch(/^wrote 320 training and 80 validation digits as PNG files under /m);
    expect(first.stdout).toMatch(/^epoch\s+train_loss\s+valid_loss\s+accuracy\s+time$/m);
    const accuracy = Number(/validation accuracy (\d+\.\d+)% on 80 held-out digits after 1 epoch\(s\)/.exec(first.stdout)?.[1]);
    // 10 classes: a loop that does not learn stays near 10%; one epoch of 10 batches reaches 60–70%.
    expect(accuracy).toBeGreaterThan(40);
    let pngs = 0;
    for (const split of ['train', 'valid'])
      for (let label = 0; label < 10; label++) pngs += (await readdir(path.join(dir, split, String(label)))).length;
    expect(pngs).toBe(400);

    const second = await run();
    expect(second.stdout).toMatch(/^using the 400 digit PNGs already in /m);
    expect(second.stdout).toContain(`validation accuracy ${accuracy.toFixed(2)}%`);
  },
  2 * TIME_BOUND_MS + 10_000,
);

test(
  'killed after its first epoch (SIGKILL, right after the checkpoint), a run resumes there and ends exactly as an unbroken run',
  async () => {
    const twoEpochs = ['--epochs', '2'];
    const unbroken = await run(...twoEpochs);
    // The finished run removed its checkpoint: the next run starts afresh.
    expect(await readdir(dir)).not.toContain('checkpoint');

    const killed = await run(...twoEpochs, '--kill-after-epoch', '1').then(
      () => undefined,
      (error: { signal?: string; stdout?: string }) => error,
    );
    expect(killed?.signal).toBe('SIGKILL');
    expect(killed?.stdout).toMatch(/^checkpoint saved after epoch 1\/2; killing the process \(SIGKILL\)$/m);
    expect(await readdir(dir)).toContain('checkpoint');

    const resumed = await run(...twoEpochs);
    expect(resumed.stdout).toMatch(/^resuming the run killed after epoch 1\/2 \(checkpoint .+\)$/m);
    // Only epoch 1 is trained again, and its row is the unbroken run's, to every printed digit: the
    // weights, Adam's state, the one-cycle position and the order of the files all carried over.
    const row = (stdout: string, epoch: number) => new RegExp(`^${epoch} +[\\d.]+ +[\\d.]+ +[\\d.]+`, 'm').exec(stdout)?.[0];
    expect(row(resumed.stdout, 0)).toBeUndefined();
    expect(row(resumed.stdout, 1)).toBeDefined();
    expect(row(resumed.stdout, 1)).toBe(row(unbroken.stdout, 1));
    const accuracyOf = (stdout: string) => /validation accuracy (\d+\.\d+)%/.exec(stdout)?.[1];
    expect(accuracyOf(resumed.stdout)).toBe(accuracyOf(unbroken.stdout));
  },
  3 * TIME_BOUND_MS + 10_000,
);

test('a PNG holds its digit: read back, it is the mnist package’s pixels to 1/255', async () => {
  const validFiles = (await readdir(path.join(dir, 'valid', '0'))).sort();
  expect(validFiles.length).toBeGreaterThan(0);
  const name = validFiles[0] as string;
  const index = Number(name.replace('.png', ''));
  const { x, y } = loadMnist(400, 42);
  const expected = x.slice([index, 0], [1, PIXELS]).dataSync();
  tf.dispose([x, y]);
  const pixels = await readDigit(path.join(dir, 'valid', '0', name));
  expect(pixels).toHaveLength(PIXELS);
  for (let p = 0; p < PIXELS; p++) expect(Math.abs((pixels[p] as number) - (expected[p] as number))).toBeLessThanOrEqual(0.5 / 255 + 1e-6);
});

test('a file that is not a 28×28 digit is refused before decoding, naming the file', async () => {
  const big = path.join(dir, 'big.png');
  await writeFile(big, Buffer.alloc(100_000));
  await expect(readDigit(big)).rejects.toThrow(/big\.png: 100000 bytes, more than a 28×28 digit's PNG can be/);
  const wide = path.join(dir, 'wide.png');
  const header = Buffer.alloc(64);
  header.writeUInt32BE(60000, 16);
  header.writeUInt32BE(60000, 20);
  await writeFile(wide, header);
  await expect(readDigit(wide)).rejects.toThrow(/wide\.png: not a 28×28 PNG \(header says 60000×60000\)/);
});
