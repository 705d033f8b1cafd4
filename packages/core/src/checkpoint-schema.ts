/**
 * `learner.json`, the description of a checkpoint: its format version, the run it holds (to resume
 * it), the Recorder's record, and the shapes and hashes of the binary files. It comes from disk, so
 * every field is checked before use; an error names the file, the field and the fix.
 */
import { ConfigError } from './errors.js';
import type { RecorderSnapshot } from './recorder.js';
import type { OneCycleOptions } from './schedules.js';
import type { SmootherState } from './smoothing.js';
import type { EpochStats } from './state.js';

export const CHECKPOINT_FORMAT = 'epochcast-checkpoint';
/** Bumped when a change of the layout would make an older epochcast misread a checkpoint. */
export const CHECKPOINT_VERSION = 1;

/** A tensor of a binary file, in file order. */
export interface TensorSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool';
}

/** A binary file: its tensors, its size and its SHA-256, to tell a corrupt file from a good one. */
export interface BinaryFile {
  weights: TensorSpec[];
  bytes: number;
  sha256: string;
}

/** What a fit was doing when the checkpoint was saved, to resume it where it stopped. */
export interface RunProgress {
  method: 'fit' | 'fitOneCycle';
  totalEpochs: number;
  /** Epochs completed (each through its `onEpochEnd`). */
  epochsDone: number;
  /** Optimizer steps the run had taken when its last completed epoch ended. */
  step: number;
  /** Training batches per epoch. */
  numBatches: number;
  /** The schedule's description, as the training state shows it. */
  schedule: string;
  /** `fit`'s constant learning rate. */
  lr?: number;
  /** `fitOneCycle`'s options, every default filled in. */
  oneCycle?: Required<OneCycleOptions>;
  /** The smoothed loss's running average when the last completed epoch ended. */
  smoother: SmootherState;
}

export interface LearnerJson {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  savedAt: string;
  runName: string | null;
  /** Null when saved before any fit (or after only lrFind): nothing to resume. */
  run: RunProgress | null;
  /** The loss's name (a function's name for a custom loss); informative. */
  lossName: string;
  metricNames: string[];
  hyperParams: { lr: number; mom: number };
  model: BinaryFile;
  optimizer: BinaryFile & { kind: string };
  recorder: RecorderSnapshot;
}

/** JSON has no NaN or Infinity (a cancelled epoch's valid loss is NaN): they are written as strings. */
export function stringifyLearnerJson(json: LearnerJson): string {
  return JSON.stringify(json, (_key, value) => (typeof value === 'number' && !Number.isFinite(value) ? String(value) : value), 1);
}

/** Parses and checks `learner.json`; `file` is its path, for the messages. */
export function parseLearnerJson(text: string, file: string): LearnerJson {
  const bad = (what: string) => new ConfigError(`learn.load: ${file} is corrupt: ${what}. Save the checkpoint again with learn.save(dir).`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw bad(`it is not JSON (${(error as Error).message})`);
  }
  const r = new Reader(raw, bad);
  if (r.field('format') !== CHECKPOINT_FORMAT)
    throw new ConfigError(`learn.load: ${file} is not an epochcast checkpoint description (its "format" is not "${CHECKPOINT_FORMAT}").`);
  const version = r.int('version', 1);
  if (version > CHECKPOINT_VERSION)
    throw new ConfigError(
      `learn.load: ${file} has format version ${version}, written by a newer @epochcast/core; this one reads version ${CHECKPOINT_VERSION}. Upgrade @epochcast/core to load it.`,
    );
  const runName = r.field('runName');
  return {
    format: CHECKPOINT_FORMAT,
    version,
    savedAt: r.str('savedAt'),
    runName: runName === null ? null : r.str('runName'),
    run: r.field('run') === null ? null : readRun(r.child('run')),
    lossName: r.str('lossName'),
    metricNames: r.strings('metricNames'),
    hyperParams: { lr: r.child('hyperParams').num('lr'), mom: r.child('hyperParams').num('mom') },
    model: readBinary(r.child('model')),
    optimizer: { ...readBinary(r.child('optimizer')), kind: r.child('optimizer').str('kind') },
    recorder: readRecorder(r.child('recorder')),
  };
}

function readRun(r: Reader): RunProgress {
  const method = r.field('method');
  if (method !== 'fit' && method !== 'fitOneCycle') throw r.bad('run.method must be "fit" or "fitOneCycle"');
  const s = r.child('smoother');
  const run: RunProgress = {
    method,
    totalEpochs: r.int('totalEpochs', 1),
    epochsDone: r.int('epochsDone', 0),
    step: r.int('step', 0),
    numBatches: r.num('numBatches'),
    schedule: r.str('schedule'),
    smoother: { n: s.int('n', 0), avg: s.num('avg'), value: s.num('value') },
  };
  if (method === 'fit') run.lr = r.num('lr');
  else {
    const o = r.child('oneCycle');
    const moms = o.nums('moms');
    if (moms.length !== 2) throw r.bad('run.oneCycle.moms must hold two numbers');
    run.oneCycle = {
      lrMax: o.num('lrMax'),
      pctStart: o.num('pctStart'),
      divFactor: o.num('divFactor'),
      finalDiv: o.num('finalDiv'),
      moms: moms as [number, number],
    };
  }
  return run;
}

function readBinary(r: Reader): BinaryFile {
  const weights = r.list('weights').map((w) => {
    const dtype = w.field('dtype');
    if (dtype !== 'float32' && dtype !== 'int32' && dtype !== 'bool') throw w.bad(`${w.path}.dtype must be float32, int32 or bool`);
    const shape = w.nums('shape');
    if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw w.bad(`${w.path}.shape must hold integers >= 0`);
    return { name: w.str('name'), shape, dtype } satisfies TensorSpec;
  });
  return { weights, bytes: r.int('bytes', 0), sha256: r.str('sha256') };
}

function readRecorder(r: Reader): RecorderSnapshot {
  const history = r.list('history').map((h): EpochStats => {
    const m = h.child('metrics');
    const metrics: Record<string, number> = {};
    for (const key of Object.keys(m.value as object)) metrics[key] = m.num(key);
    return {
      epoch: h.int('epoch', 0),
      totalEpochs: h.int('totalEpochs', 0),
      trainLoss: h.num('trainLoss'),
      validLoss: h.num('validLoss'),
      metrics,
      lr: h.num('lr'),
      timeMs: h.num('timeMs'),
    };
  });
  return {
    rawLosses: r.nums('rawLosses'),
    losses: r.nums('losses'),
    lrs: r.nums('lrs'),
    moms: r.nums('moms'),
    history,
    epochEndSteps: r.nums('epochEndSteps'),
    metricNames: r.strings('metricNames'),
  };
}

const NON_FINITE: Readonly<Record<string, number>> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
};

/** Reads fields of one JSON object, naming the field's path in what it throws. */
class Reader {
  constructor(
    readonly value: unknown,
    readonly error: (what: string) => ConfigError,
    readonly path = '',
  ) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw this.bad(`${path || 'the top level'} must be an object`);
  }

  bad(what: string): ConfigError {
    return this.error(what);
  }

  field(name: string): unknown {
    return (this.value as Record<string, unknown>)[name];
  }

  child(name: string): Reader {
    return new Reader(this.field(name), this.error, this.at(name));
  }

  str(name: string): string {
    const v = this.field(name);
    if (typeof v !== 'string') throw this.bad(`${this.at(name)} must be a string`);
    return v;
  }

  num(name: string): number {
    return this.toNumber(this.field(name), this.at(name));
  }

  int(name: string, min: number): number {
    const v = this.num(name);
    if (!Number.isInteger(v) || v < min) throw this.bad(`${this.at(name)} must be an integer >= ${min}`);
    return v;
  }

  nums(name: string): number[] {
    return this.array(name).map((v, i) => this.toNumber(v, `${this.at(name)}[${i}]`));
  }

  strings(name: string): string[] {
    const list = this.array(name);
    if (!list.every((v) => typeof v === 'string')) throw this.bad(`${this.at(name)} must hold strings`);
    return list as string[];
  }

  list(name: string): Reader[] {
    return this.array(name).map((v, i) => new Reader(v, this.error, `${this.at(name)}[${i}]`));
  }

  private array(name: string): unknown[] {
    const v = this.field(name);
    if (!Array.isArray(v)) throw this.bad(`${this.at(name)} must be an array`);
    return v;
  }

  private toNumber(v: unknown, where: string): number {
    if (typeof v === 'number') return v;
    if (typeof v === 'string' && v in NON_FINITE) return NON_FINITE[v] as number;
    throw this.bad(`${where} must be a number`);
  }

  private at(name: string): string {
    return this.path ? `${this.path}.${name}` : name;
  }
}
