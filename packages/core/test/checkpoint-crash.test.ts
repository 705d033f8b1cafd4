import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Learner } from '@epochcast/core';
import { disposeToyLearner, toyLearner } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { weightsOf } from './helpers.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/checkpoint-crash.mjs', import.meta.url));

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const made: Learner[] = [];
afterEach(() => {
  for (const learn of made.splice(0)) disposeToyLearner(learn);
});

function learner(seed = 7): Learner {
  const learn = toyLearner([], { samples: 128, seed });
  made.push(learn);
  return learn;
}

/** Runs the crashing save; resolves with how the process ended. */
function crashingSave(dir: string, killAfter: string, epochs: number): Promise<{ signal: NodeJS.Signals | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FIXTURE, dir, killAfter, String(epochs)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => resolve({ signal, stdout }));
  });
}

async function optimizerValues(learn: Learner): Promise<number[][]> {
  const weights = await learn.optimizer.getWeights();
  const values = weights.map((w) => Array.from(w.tensor.dataSync()));
  tf.dispose(weights.filter((w) => w.name === 'iter').map((w) => w.tensor));
  return values;
}

describe('a save killed midway (SIGKILL) leaves a complete checkpoint', () => {
  test.each([
    ['wrote weights.bin', 'the previous checkpoint, untouched', '', ['ckpt', 'ckpt.saving-']],
    ['wrote learner.json', 'the previous checkpoint, untouched', '', ['ckpt', 'ckpt.saving-']],
    ['moved aside', 'the previous checkpoint, from <dir>.previous', '.previous', ['ckpt.previous', 'ckpt.saving-']],
  ])('killed after "%s": load() reads %s, bit for bit', async (killAfter, _what, suffix, leftBehind) => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'epochcast-crash-')), 'ckpt');
    const first = learner();
    await first.fit(1);
    await first.save(dir);

    const { signal, stdout } = await crashingSave(dir, killAfter, 2);
    expect(signal).toBe('SIGKILL');
    expect(stdout).toBe('');
    // What the crash left: the half-made save beside the old checkpoint (its pid and a random tag cut off).
    expect(
      fs
        .readdirSync(path.dirname(dir))
        .map((name) => name.replace(/saving-.*/, 'saving-'))
        .sort(),
    ).toEqual(leftBehind);

    const loaded = learner(31);
    const summary = await loaded.load(dir);
    expect(summary.dir).toBe(path.resolve(dir) + suffix);
    expect(summary.epochsDone).toBe(1);
    expect(weightsOf(loaded.model)).toEqual(weightsOf(first.model));
    expect(await optimizerValues(loaded)).toEqual(await optimizerValues(first));
    expect(loaded.recorder.rawLosses).toEqual(first.recorder.rawLosses);

    // The next save puts things straight: one checkpoint, no leftovers beside it.
    await loaded.fit(1);
    await loaded.save(dir);
    expect(fs.readdirSync(path.dirname(dir))).toEqual(['ckpt']);
    const again = learner(32);
    expect((await again.load(dir)).dir).toBe(path.resolve(dir));
    expect(weightsOf(again.model)).toEqual(weightsOf(loaded.model));
  });

  test('killed after the swap: load() reads the new checkpoint, complete', async () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'epochcast-crash-')), 'ckpt');
    const first = learner();
    await first.fit(1);
    await first.save(dir);
    const { signal } = await crashingSave(dir, 'swapped', 2);
    expect(signal).toBe('SIGKILL');
    const loaded = learner(31);
    expect(await loaded.load(dir)).toMatchObject({ dir: path.resolve(dir), epochsDone: 2 });
    expect(weightsOf(loaded.model)).not.toEqual(weightsOf(first.model));
  });
});
