import { ConfigError, hyperParams } from '@epochcast/core';
import { disposeToyLearner, toyLearner } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test, vi } from 'vitest';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Takes one step on f(w) = g·w (constant gradient g) and returns how far w moved. */
function stepOnce(opt: tf.Optimizer, w: tf.Variable, gradient: number): number {
  const before = w.dataSync()[0] as number;
  opt.minimize(() => tf.mul(w, gradient).sum() as tf.Scalar, false, [w]);
  return (w.dataSync()[0] as number) - before;
}

function fresh(name: string) {
  return tf.variable(tf.scalar(1), true, `${name}-${Math.random()}`);
}

describe('the lr set through the adapter is the lr the optimizer steps with', () => {
  // First-step sizes: SGD/Momentum move lr·g; Adam, Adamax and RMSProp (with a constant
  // gradient) move ≈ lr·sign(g) on the first step; Adagrad moves lr·g/sqrt(init + g²).
  const cases: [string, () => tf.Optimizer, (lr: number) => number][] = [
    ['sgd', () => tf.train.sgd(0.5), (lr) => -lr * 2],
    ['momentum', () => tf.train.momentum(0.5, 0.9), (lr) => -lr * 2],
    ['adam', () => tf.train.adam(0.5), (lr) => -lr],
    ['adamax', () => tf.train.adamax(0.5), (lr) => -lr],
    ['rmsprop', () => tf.train.rmsprop(0.5, 0.9, 0, 1e-12), (lr) => (-lr * 2) / Math.sqrt(0.1 * 4)],
    ['adagrad', () => tf.train.adagrad(0.5, 0.1), (lr) => (-lr * 2) / Math.sqrt(0.1 + 4)],
  ];
  test.each(cases)('%s', (name, make, expectedStep) => {
    for (const lr of [0.1, 0.003]) {
      const opt = make();
      const hp = hyperParams(opt);
      hp.setLr(lr);
      expect(hp.lr).toBe(lr);
      const w = fresh(name);
      expect(stepOnce(opt, w, 2)).toBeCloseTo(expectedStep(lr), 5);
      w.dispose();
      opt.dispose();
    }
  });

  test('changing the lr between steps changes the next step (what one-cycle does every batch)', () => {
    const opt = tf.train.adam(0.1);
    const hp = hyperParams(opt);
    const w = fresh('adam2');
    stepOnce(opt, w, 1);
    hp.setLr(0.001);
    const small = Math.abs(stepOnce(opt, w, 1));
    hp.setLr(0.1);
    const large = Math.abs(stepOnce(opt, w, 1));
    // With a constant gradient Adam's step is ≈ lr, so the ratio of steps is the ratio of lrs.
    expect(large / small).toBeCloseTo(100, 0);
    w.dispose();
    opt.dispose();
  });
});

describe('momentum', () => {
  test('MomentumOptimizer: the adapter really changes the momentum (tfjs setMomentum does not)', () => {
    const run = (mom: number) => {
      const opt = tf.train.momentum(0.1, 0.9);
      hyperParams(opt).setMom(mom);
      const w = fresh('mom');
      stepOnce(opt, w, 1);
      const second = stepOnce(opt, w, 1);
      w.dispose();
      opt.dispose();
      return second;
    };
    // v₂ = mom·v₁ + g, step = −lr·v₂: with mom 0 → −0.1, with mom 0.5 → −0.15.
    expect(run(0)).toBeCloseTo(-0.1, 6);
    expect(run(0.5)).toBeCloseTo(-0.15, 6);
    const opt = tf.train.momentum(0.1, 0.9);
    expect(hyperParams(opt).mom).toBe(0.9);
    expect(hyperParams(opt).hasMomentum).toBe(true);
    opt.dispose();
  });

  test('Adam: momentum is beta1, read on every step', () => {
    const opt = tf.train.adam(0.1, 0.9);
    const hp = hyperParams(opt);
    expect(hp.mom).toBe(0.9);
    hp.setMom(0.5);
    expect(hp.mom).toBe(0.5);
    expect((opt.getConfig() as { beta1: number }).beta1).toBe(0.5);
    opt.dispose();
  });

  test('plain SGD has no momentum: mom reads 0 and setMom changes nothing', () => {
    const opt = tf.train.sgd(0.1);
    const hp = hyperParams(opt);
    expect(hp.hasMomentum).toBe(false);
    hp.setMom(0.9);
    expect(hp.mom).toBe(0);
    const w = fresh('sgd');
    expect(stepOnce(opt, w, 1)).toBeCloseTo(-0.1, 6);
    expect(stepOnce(opt, w, 1)).toBeCloseTo(-0.1, 6);
    w.dispose();
    opt.dispose();
  });

  test('setting lr and momentum every step leaks no tensors', () => {
    const opt = tf.train.momentum(0.1, 0.9);
    const hp = hyperParams(opt);
    const w = fresh('leak');
    stepOnce(opt, w, 1);
    const count = tf.memory().numTensors;
    for (let i = 0; i < 50; i++) {
      hp.setLr(0.1 / (i + 1));
      hp.setMom(0.85 + i / 1000);
      stepOnce(opt, w, 1);
    }
    expect(tf.memory().numTensors).toBe(count);
    w.dispose();
    opt.dispose();
  });
});

describe("a Learner whose optimizer has no momentum ('sgd')", () => {
  test('setMom is a ConfigError naming the fix, not a silent no-op', () => {
    const learn = toyLearner([], { optimizer: 'sgd' });
    expect(() => learn.setMom(0.8)).toThrow(ConfigError);
    expect(() => learn.setMom(0.8)).toThrow(
      /Learner\.setMom: the optimizer \(SGD\) has no momentum, so this would change nothing\. For SGD with momentum pass optimizer: \(lr\) => tf\.train\.momentum\(lr, 0\.9\)/,
    );
    disposeToyLearner(learn);
  });

  test('fitOneCycle with moms says once that they do not apply; without moms it says nothing; the lr still cycles', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const learn = toyLearner([], { optimizer: 'sgd' });
      await learn.fitOneCycle(2, { moms: [0.95, 0.85] });
      expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([
        expect.stringMatching(
          /^epochcast: fitOneCycle\(\{ moms \}\): the optimizer \(SGD\) has no momentum.*The lr still follows the cycle\.$/,
        ),
      ]);
      expect(new Set(learn.recorder.lrs).size).toBeGreaterThan(2);
      warn.mockClear();
      await learn.fitOneCycle(1);
      expect(warn).not.toHaveBeenCalled();
      disposeToyLearner(learn);
    } finally {
      warn.mockRestore();
    }
  });
});
