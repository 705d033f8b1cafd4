import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RunResult, RunStart } from './run.js';

export type { RunResult, RunStart } from './run.js';

/** One run of a sweep: its name (in every message) and the settings it trains with. */
export interface RunSpec {
  name: string;
  /** Peak learning rate of its one-cycle schedule. */
  lrMax: number;
  /** MNIST digits to load (80% train, 20% valid). */
  samples: number;
  epochs: number;
  /** Hidden units of the MLP. Default 128. */
  hidden?: number;
  batchSize?: number;
}

/** A run's child process, followed through the JSON lines it prints. */
export interface RunProcess {
  readonly spec: RunSpec;
  readonly child: ChildProcess;
  /** Resolves when the fit has begun (the run id is known from then on). */
  readonly started: Promise<RunStart>;
  /** Resolves with the exit of the process: its result line, or why there is none. */
  readonly finished: Promise<RunOutcome>;
  /** `performance.now()` of the launcher when the process was spawned. */
  readonly spawnedAt: number;
}

export interface RunOutcome {
  spec: RunSpec;
  result: RunResult | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Wall time from spawn to exit, ms: process start-up, training, and waiting for the last messages. */
  wallMs: number;
  stderr: string;
}

/**
 * The run script, compiled: `dist/run.js` whether this module runs from `dist/` (the example, the
 * bench) or from `src/` (vitest compiles the tests, not the child they spawn).
 */
export const RUN_SCRIPT = fileURLToPath(new URL('../dist/run.js', import.meta.url));

/**
 * The environment of a run: the launcher's own (PATH, HOME, EPOCHCAST_* …) without `drop`, with
 * the run's settings and `extra` on top. Each child reads its Telegram and Slack settings from it,
 * as any training script does.
 */
export function runEnv(spec: RunSpec, extra: Readonly<Record<string, string>>, drop: readonly string[] = []): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of drop) delete env[name];
  return {
    ...env,
    LR: String(spec.lrMax),
    RUN_NAME: spec.name,
    SAMPLES: String(spec.samples),
    EPOCHS: String(spec.epochs),
    ...(spec.hidden !== undefined ? { HIDDEN: String(spec.hidden) } : {}),
    ...(spec.batchSize !== undefined ? { BATCH_SIZE: String(spec.batchSize) } : {}),
    ...extra,
  };
}

/**
 * Starts one run as a child process. `onStderr` receives each line it writes to stderr (its
 * warnings); its stdout is read for the start and result lines.
 */
export function spawnRun(spec: RunSpec, env: NodeJS.ProcessEnv, onStderr: (line: string) => void = () => {}): RunProcess {
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, [RUN_SCRIPT], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let result: RunResult | undefined;
  let stderr = '';
  let resolveStart: (start: RunStart) => void = () => {};
  let rejectStart: (error: Error) => void = () => {};
  const started = new Promise<RunStart>((resolve, reject) => {
    resolveStart = resolve;
    rejectStart = reject;
  });
  // Awaited by whoever needs it; a run that dies before its fit must not be an unhandled rejection.
  started.catch(() => {});
  lines(child.stdout, (line) => {
    const parsed = parseLine(line);
    if (parsed?.event === 'start') resolveStart(parsed as unknown as RunStart);
    else if (parsed?.event === 'result') result = withNaN(parsed as unknown as RunResult);
  });
  lines(child.stderr, (line) => {
    stderr += `${line}\n`;
    onStderr(line);
  });
  const finished = new Promise<RunOutcome>((resolve) => {
    child.once('error', (error) => {
      rejectStart(error);
      resolve({ spec, result, code: null, signal: null, wallMs: performance.now() - spawnedAt, stderr: `${stderr}${error.message}\n` });
    });
    child.once('close', (code, signal) => {
      rejectStart(new Error(`${spec.name} exited (code ${code}, signal ${signal}) before its fit began:\n${stderr.slice(-2000)}`));
      resolve({ spec, result, code, signal, wallMs: performance.now() - spawnedAt, stderr });
    });
  });
  return { spec, child, started, finished, spawnedAt };
}

function lines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (!stream) return;
  let buffer = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffer += chunk;
    for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (line.trim() !== '') onLine(line);
    }
  });
  stream.on('end', () => {
    if (buffer.trim() !== '') onLine(buffer);
  });
}

function parseLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** JSON has no NaN: a loss that was NaN arrives as null. */
function withNaN(result: RunResult): RunResult {
  const num = (v: unknown) => (typeof v === 'number' ? v : Number.NaN);
  return { ...result, validLoss: num(result.validLoss), accuracy: num(result.accuracy) };
}
