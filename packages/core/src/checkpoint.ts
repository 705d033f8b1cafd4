/**
 * `learn.save(dir)` and `learn.load(dir)`: a checkpoint is a directory of four files —
 *
 * - `model.json` + `weights.bin`: the model, as tfjs-node's `file://` handler lays it out (so
 *   `loadModelFrom(dir)` or `tf.loadLayersModel('file://dir/model.json')` read it too);
 * - `optimizer.bin`: the optimizer's state (Adam's moments, iteration count and bias corrections);
 * - `learner.json`: the format version, the run (epochs completed, steps, schedule, to resume it),
 *   the Recorder's record, and each binary file's tensors, size and SHA-256.
 *
 * The directory is replaced atomically (see checkpoint-files.ts). Everything read is checked before
 * the learner is touched: a checkpoint of another model, another optimizer or other metrics, a
 * corrupt or missing file, a newer format, each gives a ConfigError naming the file and the fix.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { MODEL_JSON, modelFiles, WEIGHTS_BIN } from './callbacks/save-model.js';
import { checkpointDirFor, MARKER_FILE, readCheckpointFile, sha256, writeCheckpointFiles } from './checkpoint-files.js';
import {
  type BinaryFile,
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  type LearnerJson,
  parseLearnerJson,
  type RunProgress,
  stringifyLearnerJson,
  type TensorSpec,
} from './checkpoint-schema.js';
import { ConfigError } from './errors.js';
import { captureOptimizerState, type NamedTensor, optimizerStateMismatch, restoreOptimizerState } from './optimizer-state.js';
import type { Recorder, RecorderSnapshot } from './recorder.js';

const OPTIMIZER_BIN = 'optimizer.bin';

/** What a learner hands `saveCheckpoint`. */
export interface CheckpointSource {
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  hyperParams: { lr: number; mom: number };
  recorder: Recorder;
  metricNames: readonly string[];
  lossName: string;
  runName: string | undefined;
  run: RunProgress | undefined;
}

export async function saveCheckpoint(dir: string, source: CheckpointSource): Promise<void> {
  const model = await modelFiles(source.model);
  const captured = await captureOptimizerState(source.optimizer);
  let optimizer: { data: ArrayBuffer; specs: tf.io.WeightsManifestEntry[] };
  try {
    optimizer = await tf.io.encodeWeights(captured.tensors);
  } finally {
    captured.dispose();
  }
  const optimizerBytes = new Uint8Array(optimizer.data);
  const json: LearnerJson = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    savedAt: new Date().toISOString(),
    runName: source.runName ?? null,
    run: source.run ?? null,
    lossName: source.lossName,
    metricNames: [...source.metricNames],
    hyperParams: source.hyperParams,
    model: binaryFile(model.weightSpecs, model.weights),
    optimizer: { ...binaryFile(optimizer.specs, optimizerBytes), kind: source.optimizer.getClassName() },
    recorder: source.recorder.snapshot(),
  };
  await writeCheckpointFiles(
    dir,
    new Map<string, Uint8Array | string>([
      [MODEL_JSON, JSON.stringify(model.json)],
      [WEIGHTS_BIN, model.weights],
      [OPTIMIZER_BIN, optimizerBytes],
      [MARKER_FILE, stringifyLearnerJson(json)],
    ]),
  );
}

/** What the learner loading a checkpoint must match. */
export interface CheckpointExpectation {
  model: tf.LayersModel;
  optimizerKind: string;
  metricNames: readonly string[];
}

/** A checked checkpoint, its tensors in memory: the caller applies them, then calls `dispose()`. */
export interface LoadedCheckpoint {
  /** The directory read: `dir`, or `<dir>.previous` after a save that crashed between its renames. */
  readFrom: string;
  runName: string | undefined;
  run: RunProgress | undefined;
  hyperParams: { lr: number; mom: number };
  recorder: RecorderSnapshot;
  /** In the model's `weights` order. */
  modelWeights: tf.Tensor[];
  optimizerState: NamedTensor[];
  dispose(): void;
}

export async function readCheckpoint(dir: string, expect: CheckpointExpectation): Promise<LoadedCheckpoint> {
  const from = await checkpointDirFor(dir);
  const jsonFile = path.join(from, MARKER_FILE);
  const json = parseLearnerJson((await readCheckpointFile(from, MARKER_FILE)).toString('utf8'), jsonFile);
  checkModel(json.model.weights, expect.model, jsonFile);
  if (json.optimizer.kind !== expect.optimizerKind)
    throw new ConfigError(
      `learn.load: ${jsonFile} holds the state of a ${json.optimizer.kind} optimizer, but this learner's is ${expect.optimizerKind}. Create the Learner with the optimizer the checkpoint was trained with.`,
    );
  checkOptimizerSlots(json, expect.model, jsonFile);
  if (json.metricNames.join() !== expect.metricNames.join())
    throw new ConfigError(
      `learn.load: ${jsonFile} was saved with metrics [${json.metricNames.join(', ')}], but this learner has [${expect.metricNames.join(', ')}]; the Recorder's history would not line up. Create the Learner with the same metrics.`,
    );
  await checkModelJson(from);
  const weightsData = await readBinary(from, WEIGHTS_BIN, json.model);
  const optimizerData = await readBinary(from, OPTIMIZER_BIN, json.optimizer);
  const weightMap = tf.io.decodeWeights(weightsData, json.model.weights);
  // Decoded by position, not by name: names repeat only within one file and are unique there.
  const modelWeights = json.model.weights.map((spec) => weightMap[spec.name] as tf.Tensor);
  const optimizerMap = tf.io.decodeWeights(optimizerData, json.optimizer.weights);
  const optimizerState = json.optimizer.weights.map((spec) => ({ name: spec.name, tensor: optimizerMap[spec.name] as tf.Tensor }));
  return {
    readFrom: from,
    runName: json.runName ?? undefined,
    run: json.run ?? undefined,
    hyperParams: json.hyperParams,
    recorder: json.recorder,
    modelWeights,
    optimizerState,
    dispose: () => tf.dispose([...Object.values(weightMap), ...Object.values(optimizerMap)]),
  };
}

function binaryFile(specs: readonly tf.io.WeightsManifestEntry[], data: Uint8Array): BinaryFile {
  return {
    weights: specs.map((s) => ({ name: s.name, shape: [...s.shape], dtype: s.dtype as TensorSpec['dtype'] })),
    bytes: data.byteLength,
    sha256: sha256(data),
  };
}

/** Same number of weights, each of the same shape, in the same order: the same architecture. */
function checkModel(saved: readonly TensorSpec[], model: tf.LayersModel, file: string): void {
  const fix = 'Build the same model (same layers, same sizes, same order) before loading, or load it with loadModelFrom(dir).';
  const weights = model.weights;
  if (saved.length !== weights.length)
    throw new ConfigError(
      `learn.load: ${file} holds ${saved.length} weight tensors, but the learner's model has ${weights.length}: a different architecture. ${fix}`,
    );
  saved.forEach((spec, i) => {
    const w = weights[i] as tf.LayerVariable;
    if (spec.shape.join() !== w.shape.join() || spec.dtype !== w.dtype)
      throw new ConfigError(
        `learn.load: ${file}: weight ${i} is ${spec.name} [${spec.shape}] ${spec.dtype}, but the learner's model has ${w.originalName} [${w.shape}] ${w.dtype}: a different architecture. ${fix}`,
      );
  });
}

function checkOptimizerSlots(json: LearnerJson, model: tf.LayersModel, file: string): void {
  const slots = json.optimizer.weights.filter((w) => w.name !== 'iter' && !w.name.includes(':'));
  const mismatch = optimizerStateMismatch(
    slots,
    model.trainableWeights.map((w) => w.shape as number[]),
  );
  if (mismatch)
    throw new ConfigError(`learn.load: ${file}: the optimizer state does not fit the model: ${mismatch}. Save the checkpoint again.`);
}

/** model.json is not needed to load (learner.json describes the weights), but a checkpoint without it is broken. */
async function checkModelJson(dir: string): Promise<void> {
  const text = (await readCheckpointFile(dir, MODEL_JSON)).toString('utf8');
  try {
    JSON.parse(text);
  } catch {
    throw new ConfigError(
      `learn.load: ${path.join(dir, MODEL_JSON)} is corrupt (not JSON). Save the checkpoint again with learn.save(dir).`,
    );
  }
}

async function readBinary(dir: string, name: string, expected: BinaryFile): Promise<ArrayBuffer> {
  const data = await readCheckpointFile(dir, name);
  const file = path.join(dir, name);
  if (data.byteLength !== expected.bytes)
    throw new ConfigError(
      `learn.load: ${file} is corrupt: ${data.byteLength} bytes where learner.json says ${expected.bytes}. Save the checkpoint again with learn.save(dir).`,
    );
  // learner.json's tensor list must account for every byte, or decoding would misread the file.
  const described = expected.weights.reduce((sum, w) => sum + w.shape.reduce((a, b) => a * b, 1) * (w.dtype === 'bool' ? 1 : 4), 0);
  if (described !== expected.bytes)
    throw new ConfigError(
      `learn.load: ${path.join(dir, MARKER_FILE)} is corrupt: its tensors for ${name} take ${described} bytes, not the ${expected.bytes} it records. Save the checkpoint again with learn.save(dir).`,
    );
  if (sha256(data) !== expected.sha256)
    throw new ConfigError(
      `learn.load: ${file} is corrupt: its SHA-256 differs from the one learner.json records. Save the checkpoint again with learn.save(dir).`,
    );
  return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
}

/** What `learn.load(dir)` read. */
export interface CheckpointSummary {
  /** The directory read: `dir`, or `<dir>.previous` when the last save crashed between its renames. */
  dir: string;
  /** Epochs the saved run had completed (0 when saved before any fit). */
  epochsDone: number;
  /** Epochs the saved run was planned for; undefined when saved before any fit. */
  totalEpochs: number | undefined;
  runName: string | undefined;
}

/** The learner `loadCheckpointInto` fills. */
export interface LoadTarget extends CheckpointExpectation {
  recorder: Recorder;
  newOptimizer(lr: number): tf.Optimizer;
  /** Replaces the learner's optimizer (disposing the old one) and sets its lr and momentum. */
  adoptOptimizer(optimizer: tf.Optimizer, hyperParams: { lr: number; mom: number }): void;
}

/**
 * Reads and checks the checkpoint, then fills the learner: the optimizer state goes into a fresh
 * optimizer (setWeights on a used one would leak its slots), built and filled before anything of
 * the learner changes, so a failure leaves the learner as it was.
 */
export async function loadCheckpointInto(
  dir: string,
  target: LoadTarget,
): Promise<{ dir: string; run: RunProgress | undefined; runName: string | undefined }> {
  const checkpoint = await readCheckpoint(dir, target);
  try {
    const fresh = target.newOptimizer(checkpoint.hyperParams.lr);
    try {
      await restoreOptimizerState(fresh, checkpoint.optimizerState);
    } catch (error) {
      fresh.dispose();
      throw error;
    }
    target.model.setWeights(checkpoint.modelWeights);
    target.adoptOptimizer(fresh, checkpoint.hyperParams);
    target.recorder.restore(checkpoint.recorder);
    return { dir: checkpoint.readFrom, run: checkpoint.run, runName: checkpoint.runName };
  } finally {
    checkpoint.dispose();
  }
}
