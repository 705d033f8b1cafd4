import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Callback } from '../callback.js';
import { checkBoolean, checkOptions, invalidOption } from '../options.js';
import type { TrainingState } from '../state.js';
import { Monitor, type MonitorOptions } from './monitor.js';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

/** A model as the files tfjs-node's `file://` handler writes: `model.json` and the weights' bytes. */
export interface ModelFiles {
  json: tf.io.ModelJSON;
  weights: Buffer;
  /** The weights in `weights`, in order: the model's `weights` order. */
  weightSpecs: tf.io.WeightsManifestEntry[];
  info: tf.io.ModelArtifactsInfo;
}

/** Serialises a model's topology and weights (bit for bit) without writing anything. */
export async function modelFiles(model: tf.LayersModel): Promise<ModelFiles> {
  let files: ModelFiles | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightSpecs = artifacts.weightSpecs ?? [];
      files = {
        json: {
          modelTopology: artifacts.modelTopology ?? {},
          format: artifacts.format,
          generatedBy: artifacts.generatedBy,
          convertedBy: artifacts.convertedBy,
          trainingConfig: artifacts.trainingConfig,
          signature: artifacts.signature,
          userDefinedMetadata: artifacts.userDefinedMetadata,
          modelInitializer: artifacts.modelInitializer,
          initializerSignature: artifacts.initializerSignature,
          weightsManifest: [{ paths: [WEIGHTS_BIN], weights: weightSpecs }],
        },
        weights: Buffer.from(tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? [])),
        weightSpecs,
        info: tf.io.getModelArtifactsInfoForJSON(artifacts),
      };
      return { modelArtifactsInfo: files.info };
    }),
  );
  return files as ModelFiles;
}

/**
 * Saves a model to `dir` as `model.json` + `weights.bin`, the layout tfjs-node's `file://` handler
 * writes and reads, with plain `fs` (no tfjs-node needed). Each file is written to a temporary
 * name and renamed into place, so a crash mid-save never leaves a half-written file behind.
 */
export async function saveModelTo(model: tf.LayersModel, dir: string): Promise<tf.io.SaveResult> {
  checkDir('saveModelTo', dir);
  const { json, weights, info } = await modelFiles(model);
  await fs.promises.mkdir(dir, { recursive: true });
  await writeReplacing(path.join(dir, WEIGHTS_BIN), weights);
  await writeReplacing(path.join(dir, MODEL_JSON), JSON.stringify(json));
  return { modelArtifactsInfo: info };
}

/**
 * Loads a model saved by `saveModelTo`/`SaveModel` (or by tfjs-node's `file://` handler) from a
 * directory holding `model.json`, or from the path of the `model.json` itself.
 */
export async function loadModelFrom(dirOrModelJson: string): Promise<tf.LayersModel> {
  checkDir('loadModelFrom', dirOrModelJson);
  const jsonPath = dirOrModelJson.endsWith('.json') ? dirOrModelJson : path.join(dirOrModelJson, MODEL_JSON);
  const dir = path.dirname(jsonPath);
  const handler: tf.io.IOHandler = {
    load: async () => {
      const json = JSON.parse(await fs.promises.readFile(jsonPath, 'utf8')) as tf.io.ModelJSON;
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs = manifest.flatMap((group) => group.weights);
        const files = await Promise.all(manifest.flatMap((group) => group.paths.map((p) => fs.promises.readFile(path.join(dir, p)))));
        const buffers = files.map((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
        return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
      });
    },
  };
  return tf.loadLayersModel(handler);
}

export interface SaveModelOptions extends MonitorOptions {
  /**
   * `improvement` (default): overwrite `<dir>/model.json` + `weights.bin` each time the monitored
   * value improves, so the directory always holds the best model so far. `epoch`: save every
   * epoch to `<dir>/epoch-<n>/` (n 0-based, as in the table).
   */
  every?: 'improvement' | 'epoch';
  /** Smallest change of the monitored value that counts as an improvement. Default 0. */
  minDelta?: number;
  /**
   * At the end of the fit (however it ended), load the best saved weights back into the model.
   * With `every: 'epoch'` the best epoch is chosen by `monitor`. Default false.
   */
  loadBestAtEnd?: boolean;
}

/**
 * Saves the model during a fit, to a directory, with plain `fs` (tfjs-node is not needed; the
 * files load with `loadModelFrom(dir)` or tfjs-node's `tf.loadLayersModel('file://…/model.json')`).
 * Runs after the Recorder, at order 70.
 */
export class SaveModel extends Callback {
  override order = 70;
  readonly dir: string;
  readonly every: 'improvement' | 'epoch';
  readonly monitor: Monitor;
  readonly loadBestAtEnd: boolean;
  /** Best monitored value of the current fit and its epoch (−1 before any). */
  best = Number.NaN;
  bestEpoch = -1;
  /** Directory of the best save of the current fit, if any. */
  bestDir: string | undefined;
  /** Every directory saved to in the current fit, in order. */
  saved: string[] = [];

  constructor(dir: string, options?: SaveModelOptions) {
    super();
    const where = 'SaveModel';
    checkDir(where, dir);
    const o = checkOptions(where, options, "{ every: 'improvement', monitor: 'validLoss' }");
    const every = o.every ?? 'improvement';
    if (every !== 'improvement' && every !== 'epoch') throw invalidOption(where, 'every', "'improvement' or 'epoch'", o.every);
    this.dir = dir;
    this.every = every;
    this.monitor = new Monitor(where, o, 0);
    this.loadBestAtEnd = checkBoolean(where, 'loadBestAtEnd', o.loadBestAtEnd ?? false);
  }

  override onTrainBegin(state: TrainingState): void {
    if (state.mode === 'lrFind') return;
    this.monitor.checkAtStart(state);
    this.best = this.monitor.worst;
    this.bestEpoch = -1;
    this.bestDir = undefined;
    this.saved = [];
  }

  override async onEpochEnd(state: TrainingState): Promise<void> {
    if (state.mode === 'lrFind' || !state.stats) return;
    const watching = this.every === 'improvement' || this.loadBestAtEnd;
    const improved = watching && this.monitor.improved(this.monitor.value(state.stats), this.best);
    if (this.every === 'improvement' && !improved) return;
    const target = this.every === 'epoch' ? path.join(this.dir, `epoch-${state.epoch}`) : this.dir;
    await saveModelTo(state.learner.model, target);
    this.saved.push(target);
    if (improved) {
      this.best = this.monitor.value(state.stats);
      this.bestEpoch = state.epoch;
      this.bestDir = target;
    }
  }

  override async onTrainEnd(state: TrainingState): Promise<void> {
    if (state.mode === 'lrFind' || !this.loadBestAtEnd || !this.bestDir) return;
    const loaded = await loadModelFrom(this.bestDir);
    try {
      state.learner.model.setWeights(loaded.getWeights());
    } finally {
      loaded.dispose();
    }
  }
}

function checkDir(where: string, dir: unknown): asserts dir is string {
  if (typeof dir !== 'string' || dir.length === 0)
    throw invalidOption(where, 'dir', "a non-empty directory path such as './models/run1'", dir);
}

async function writeReplacing(file: string, data: Buffer | string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await fs.promises.writeFile(tmp, data);
  await fs.promises.rename(tmp, file);
}
