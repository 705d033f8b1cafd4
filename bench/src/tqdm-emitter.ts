#!/usr/bin/env node
// The command of the `wrap` scenario (issue 16): a training script's output at its fastest, with no
// training. `node bench/dist/tqdm-emitter.js [--updates N]` writes N (default 1,000,000) tqdm-style
// progress updates to stderr, each its own write(2) as tqdm's file.write + flush makes it,
//
//   \rEpoch 3/10:  45%|████▌     | 45000/100000 [00:01<00:02, 30.1kit/s, loss=0.0109]
//
// over 10 epochs (a newline ends each epoch's bar), and to stdout a validation line per epoch,
// every 100 ms a line carrying its send time (for the latency a wrapper adds), and last a JSON line
// with its own elapsed time from the first write to the last, the stderr bytes it wrote and how
// many stdout lines came before. It writes with fs.writeSync only: touching process.stdout or
// process.stderr would make Node buffer or re-configure the pipes, which a Python script's
// output never goes through.
import { writeSync } from 'node:fs';
import { DEFAULT_UPDATES, type EmitterReport, EPOCHS, SENT, TICK_MS } from './tqdm-lines.js';

const BAR_WIDTH = 10;
const PARTIAL = ' ▏▎▍▌▋▊▉';

function parseUpdates(argv: readonly string[]): number {
  let updates = DEFAULT_UPDATES;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--updates') updates = Number(argv[++i]);
    else throw new Error(`tqdm-emitter: unknown argument ${argv[i]}; use --updates N`);
  }
  if (!(Number.isInteger(updates) && updates >= EPOCHS && updates % EPOCHS === 0))
    throw new Error(`tqdm-emitter: --updates must be a positive multiple of ${EPOCHS} (one bar per epoch); received ${argv.join(' ')}`);
  return updates;
}

const two = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const clock = (s: number) => `${two(Math.floor(s / 60))}:${two(Math.floor(s % 60))}`;

/** tqdm's bar: full blocks, one partial block, spaces. */
function bar(fraction: number): string {
  const eighths = Math.floor(fraction * BAR_WIDTH * 8);
  const full = eighths >> 3;
  if (full >= BAR_WIDTH) return '█'.repeat(BAR_WIDTH);
  return `${'█'.repeat(full)}${PARTIAL[eighths & 7]}${' '.repeat(BAR_WIDTH - full - 1)}`;
}

/** tqdm's `unit_scale` rate: `845it/s`, `30.1kit/s`, `1.20Mit/s`. */
function rate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)}Mit/s`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)}kit/s`;
  return `${perSecond.toFixed(0)}it/s`;
}

/** Where each line is encoded: no allocation per write. */
const SCRATCH = Buffer.allocUnsafe(4096);
const WAIT = new Int32Array(new SharedArrayBuffer(4));

/** A pipe that is full, and non-blocking, answers EAGAIN: wait as a blocking write would, then go on. */
function writeAll(fd: number, text: string): number {
  const fits = text.length * 3 <= SCRATCH.length;
  const bytes = fits ? SCRATCH : Buffer.from(text);
  const length = fits ? SCRATCH.write(text) : bytes.length;
  let done = 0;
  while (done < length) {
    try {
      done += writeSync(fd, bytes, done, length - done);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(WAIT, 0, 0, 1);
    }
  }
  return length;
}

function main(): void {
  const updates = parseUpdates(process.argv.slice(2));
  const perEpoch = updates / EPOCHS;
  const now = () => performance.timeOrigin + performance.now();
  let stderrBytes = 0;
  let stdoutLines = 0;
  const out = (line: string) => {
    writeAll(1, `${line}\n`);
    stdoutLines++;
  };
  // Deterministic noise for the loss, so every run writes the same bytes.
  let seed = 42;
  const noise = () => {
    seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
    return seed / 0x7fffffff - 0.5;
  };
  const began = performance.now();
  let nextTick = began + TICK_MS;
  const epochMs: number[] = [];
  for (let epoch = 1; epoch <= EPOCHS; epoch++) {
    const epochBegan = performance.now();
    let loss = 0;
    for (let n = 1; n <= perEpoch; n++) {
      const t = performance.now();
      if (t >= nextTick) {
        out(`${SENT}${now().toFixed(3)} ${Date.now()}`);
        nextTick = t + TICK_MS;
      }
      const step = (epoch - 1) * perEpoch + n;
      loss = 2.3 * Math.exp((-6 * step) / updates) * (1 + 0.1 * noise());
      const elapsed = (t - epochBegan) / 1000;
      const perSecond = elapsed > 0 ? n / elapsed : 0;
      const left = perSecond > 0 ? (perEpoch - n) / perSecond : 0;
      const fraction = n / perEpoch;
      stderrBytes += writeAll(
        2,
        `\rEpoch ${epoch}/${EPOCHS}: ${(fraction * 100).toFixed(0).padStart(3)}%|${bar(fraction)}| ${n}/${perEpoch} [${clock(elapsed)}<${clock(left)}, ${rate(perSecond)}, loss=${loss.toFixed(4)}]`,
      );
    }
    stderrBytes += writeAll(2, '\n');
    epochMs.push(performance.now() - epochBegan);
    out(`Epoch ${epoch}/${EPOCHS}: val_loss=${(loss * 1.1).toFixed(4)} val_acc=${(100 - loss * 40).toFixed(2)}%`);
  }
  const report: EmitterReport = { elapsedMs: performance.now() - began, epochMs, updates, stderrBytes, stdoutLines };
  writeAll(1, `${JSON.stringify(report)}\n`);
}

try {
  main();
} catch (error) {
  writeSync(2, `${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
}
