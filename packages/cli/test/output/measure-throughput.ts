// How fast TrainingOutputReader reads a flood of progress-bar redraws: 100 MB pushed in 64 KiB chunks,
// as a pipe delivers a tqdm loop's million updates. A script, not a test: timings depend on the machine.
//
//   npx tsc --outDir /tmp/epochcast-measure --module nodenext --target es2022 --skipLibCheck \
//     packages/cli/test/output/measure-throughput.ts && node /tmp/epochcast-measure/test/output/measure-throughput.js

import { type OutputEvent, TrainingOutputReader } from '../../src/output/index.js';

const TOTAL = 100 * 1024 * 1024;
const CHUNK = 64 * 1024;

/** `count` redraws of one bar per epoch, `perEpoch` steps each, the way tqdm writes them. */
function tqdmFlood(make: (epoch: number, step: number, steps: number) => string, perEpoch: number): Buffer {
  const parts: string[] = [];
  let size = 0;
  for (let epoch = 1; size < TOTAL; epoch++) {
    for (let step = 0; step <= perEpoch && size < TOTAL; step++) {
      const part = make(epoch, step, perEpoch);
      parts.push(part);
      size += Buffer.byteLength(part);
    }
  }
  return Buffer.from(parts.join(''));
}

function bar(desc: string, step: number, steps: number): string {
  const pct = Math.floor((100 * step) / steps);
  const filled = Math.floor(pct / 10);
  const cells = '█'.repeat(filled) + ' '.repeat(10 - filled);
  return `${desc}: ${String(pct).padStart(3)}%|${cells}| ${step}/${steps} [00:01<00:02, 30.10it/s, loss=${(1 / (step + 1)).toPrecision(3)}]`;
}

const floods: Record<string, Buffer> = {
  'tqdm bar redrawn with \\r (one per epoch)': tqdmFlood((e, s, n) => `\r${bar(`Epoch ${e}/1000`, s, n)}${s === n ? '\n' : ''}`, 10_000),
  'tqdm nested bars (position=1, ESC[A)': tqdmFlood(
    (e, s, n) => `\n\r${bar(`Epoch ${e}/1000`, s, n)}\u001b[A${s === n ? `\r${bar('Epochs', e, 1000)}` : ''}`,
    10_000,
  ),
  'plain log lines': tqdmFlood((e, s) => `step ${s} of epoch ${e}: loss ${(1 / (s + 1)).toFixed(6)} lr 0.001\n`, 10_000),
};

for (const [name, flood] of Object.entries(floods)) {
  const counts = new Map<OutputEvent['kind'], number>();
  const reader = new TrainingOutputReader((event) => counts.set(event.kind, (counts.get(event.kind) ?? 0) + 1));
  const started = process.hrtime.bigint();
  for (let at = 0; at < flood.length; at += CHUNK) reader.push('stderr', flood.subarray(at, at + CHUNK));
  reader.end('stderr');
  reader.end('stdout');
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const mb = flood.length / 1024 / 1024;
  const events = [...counts].map(([kind, count]) => `${kind} ${count}`).join(', ');
  console.log(`${name}: ${mb.toFixed(0)} MB in ${seconds.toFixed(2)} s = ${(mb / seconds).toFixed(0)} MB/s (${events})`);
}
