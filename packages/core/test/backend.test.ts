import { ConfigError, selectBackend } from '@epochcast/core';
import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, test } from 'vitest';

afterEach(() => {
  delete process.env.EPOCHCAST_BACKEND;
});

describe('selectBackend', () => {
  test('without tfjs-node it picks wasm, says why in one line, and the backend computes', async () => {
    const lines: string[] = [];
    const choice = await selectBackend({ log: (l) => lines.push(l) });
    expect(choice.backend).toBe('wasm');
    expect(choice.skipped).toEqual([{ backend: 'tensorflow', reason: 'not installed' }]);
    expect(tf.getBackend()).toBe('wasm');
    expect(lines).toEqual(['epochcast: tfjs backend wasm (tensorflow: not installed)']);
    const product = tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync()[0]);
    expect(product).toBe(11);
  });

  test('EPOCHCAST_BACKEND forces one backend; an unusable forced backend is a ConfigError with the fix, not a silent fallback', async () => {
    process.env.EPOCHCAST_BACKEND = 'cpu';
    expect((await selectBackend({ log: false })).backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    process.env.EPOCHCAST_BACKEND = 'tensorflow';
    const missing = selectBackend({ log: false });
    await expect(missing).rejects.toThrow(ConfigError);
    await expect(missing).rejects.toThrow(
      'selectBackend: the tensorflow backend (from EPOCHCAST_BACKEND) cannot be used here: not installed. Install @tensorflow/tfjs-node',
    );
    await expect(missing).rejects.toThrow(/or leave EPOCHCAST_BACKEND unset to use the fastest backend that works \(wasm\)/);
    process.env.EPOCHCAST_BACKEND = 'webgpu';
    await expect(selectBackend({ log: false })).rejects.toThrow(ConfigError);
    await expect(selectBackend({ log: false })).rejects.toThrow(
      /unknown backend "webgpu" \(from EPOCHCAST_BACKEND\); use one of tensorflow, wasm, cpu/,
    );
  });
});
