import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Callback, ConfigError, loadModelFrom, SaveModel, saveModelTo, type TrainingState } from '@epochcast/core';
import { toyData, toyModel } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { scriptedLearner, TensorsAtEpoch1, weightsOf } from '../helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'epochcast-save-'));

async function loadedWeights(dir: string): Promise<Float32Array[]> {
  const loaded = await loadModelFrom(dir);
  try {
    return weightsOf(loaded);
  } finally {
    loaded.dispose();
  }
}

describe('SaveModel', () => {
  test('every improvement: the directory holds the best epoch’s model, loadable with loadModelFrom', async () => {
    const dir = path.join(tmp(), 'best');
    const save = new SaveModel(dir, { monitor: 'score', mode: 'min' });
    const { learn, snapshots } = scriptedLearner([1, 0.5, 0.7, 0.4, 0.9], [save]);
    await learn.fit(5, { lr: 5e-2 });
    expect(save.saved).toEqual([dir, dir, dir]);
    expect(save.bestEpoch).toBe(3);
    expect(fs.readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    expect(snapshots[3]).not.toEqual(snapshots[4]);
    expect(await loadedWeights(dir)).toEqual(snapshots[3]);
    // The model keeps training's last weights unless loadBestAtEnd.
    expect(weightsOf(learn.model)).toEqual(snapshots[4]);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest).toHaveLength(1);
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    expect(await loadedWeights(path.join(dir, 'model.json'))).toEqual(snapshots[3]);
  });

  test('every epoch: one epoch-<n> directory per epoch, each with that epoch’s weights', async () => {
    const dir = tmp();
    const save = new SaveModel(dir, { every: 'epoch' });
    const { learn, snapshots } = scriptedLearner([], [save]);
    await learn.fit(3, { lr: 5e-2 });
    expect(fs.readdirSync(dir).sort()).toEqual(['epoch-0', 'epoch-1', 'epoch-2']);
    for (const e of [0, 1, 2]) expect(await loadedWeights(path.join(dir, `epoch-${e}`))).toEqual(snapshots[e]);
  });

  test('loadBestAtEnd puts the best saved weights back into the model, in both modes, without leaking', async () => {
    const save = new SaveModel(tmp(), { monitor: 'score', mode: 'max', loadBestAtEnd: true });
    const { learn, model, snapshots } = scriptedLearner([0.2, 0.9, 0.5, 0.6], [save]);
    const probe = new TensorsAtEpoch1();
    learn.addCallbacks(probe);
    await learn.fit(4, { lr: 5e-2 });
    expect(weightsOf(model)).toEqual(snapshots[1]);
    expect(tf.memory().numTensors).toBe(probe.count);
    const { x } = toyData(8, 5);
    const loaded = await loadModelFrom(save.dir);
    expect(await (loaded.predict(x) as tf.Tensor).array()).toEqual(await (model.predict(x) as tf.Tensor).array());
    loaded.dispose();

    const everyEpoch = new SaveModel(tmp(), { every: 'epoch', monitor: 'score', mode: 'min', loadBestAtEnd: true });
    const second = scriptedLearner([0.9, 0.8, 0.3, 0.6], [everyEpoch]);
    await second.learn.fit(4, { lr: 5e-2 });
    expect(everyEpoch.bestDir).toBe(path.join(everyEpoch.dir, 'epoch-2'));
    expect(weightsOf(second.model)).toEqual(second.snapshots[2]);
    tf.dispose(x);
  });

  test('loads even after a crash, which leaves the last good save intact', async () => {
    const dir = tmp();
    class Crash extends Callback {
      override onEpochBegin(s: TrainingState) {
        if (s.epoch === 2) throw new Error('killed');
      }
    }
    const save = new SaveModel(dir, { monitor: 'score', mode: 'min', loadBestAtEnd: true });
    const { learn, model, snapshots } = scriptedLearner([1, 0.5, 0.1], [save, new Crash()]);
    await expect(learn.fit(3, { lr: 5e-2 })).rejects.toThrow(/killed/);
    expect(weightsOf(model)).toEqual(snapshots[1]);
    expect(fs.readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
  });

  test('saveModelTo / loadModelFrom round-trip a model without tfjs-node', async () => {
    const dir = path.join(tmp(), 'a', 'b');
    const model = toyModel(11);
    const result = await saveModelTo(model, dir);
    expect(result.modelArtifactsInfo.weightDataBytes).toBe(fs.statSync(path.join(dir, 'weights.bin')).size);
    expect(await loadedWeights(dir)).toEqual(weightsOf(model));
    model.dispose();
  });

  test('an unknown monitor is a ConfigError before the first batch, with the available names', async () => {
    const { learn } = scriptedLearner([1], [new SaveModel(tmp(), { monitor: 'f1' })]);
    const failure = learn.fit(1);
    await expect(failure).rejects.toThrow(ConfigError);
    await expect(failure).rejects.toThrow(
      /SaveModel: monitor "f1" is not a value this training reports; available: validLoss, trainLoss, score/,
    );
    expect(learn.state.step).toBe(0);
  });

  test('rejects bad options with a message naming the option', () => {
    expect(() => new SaveModel('')).toThrow(/SaveModel: dir must be a non-empty directory path .* received ""/);
    expect(() => new SaveModel(tmp(), { every: 'batch' as 'epoch' })).toThrow(
      /SaveModel: every must be 'improvement' or 'epoch'; received "batch"/,
    );
    expect(() => new SaveModel(tmp(), { loadBestAtEnd: 'yes' as unknown as boolean })).toThrow(
      /SaveModel: loadBestAtEnd must be true or false; received "yes"/,
    );
    expect(() => new SaveModel(tmp(), { minDelta: -1 })).toThrow(/SaveModel: minDelta must be a finite number >= 0; received -1/);
  });
});
