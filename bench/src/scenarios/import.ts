// Scenario 6 — import time (issue 13): the wall time of a fresh `node -e "await import('…')"` for
// @tensorflow/tfjs alone and for @epochcast/core (which imports tfjs), and of Node alone for
// scale; interleaved in a seeded random order within each round, after one discarded warm-up round.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import seedrandom from 'seedrandom';
import { fmt, mark, median, progress, shuffled, table } from '../harness.js';

export const IMPORT_ROUNDS = 20;
/** Issue 13's target: importing core costs at most this much more than importing tfjs. */
export const IMPORT_TARGET_MS = 60;

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const NODE = 'node alone';
const TFJS = '@tensorflow/tfjs';
const CORE = '@epochcast/core';
type Variant = typeof NODE | typeof TFJS | typeof CORE;
const VARIANTS: readonly Variant[] = [NODE, TFJS, CORE];

function script(variant: Variant): string {
  return variant === NODE ? '' : `await import('${variant}')`;
}

/** Spawn to exit of `node -e <script>` from the repository root, in ms. */
function timeNode(code: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const began = performance.now();
    const child = spawn(process.execPath, ['-e', code], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (exitCode) => {
      const ms = performance.now() - began;
      if (exitCode === 0) resolve(ms);
      else reject(new Error(`node -e "${code}" exited with ${exitCode}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

/** The value below which a fraction `q` of the sorted values lie (linear interpolation). */
function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const lo = sorted[Math.floor(at)] as number;
  const hi = sorted[Math.ceil(at)] as number;
  return lo + (hi - lo) * (at - Math.floor(at));
}

export async function importScenario(rounds = IMPORT_ROUNDS): Promise<string> {
  const random = seedrandom('import');
  const times = new Map<Variant, number[]>(VARIANTS.map((v) => [v, []]));
  for (let round = 0; round <= rounds; round++) {
    const line: string[] = [];
    for (const variant of shuffled(VARIANTS, random)) {
      const ms = await timeNode(script(variant));
      if (round > 0) times.get(variant)?.push(ms);
      line.push(`${variant} ${ms.toFixed(0)} ms`);
    }
    progress(`import ${round === 0 ? 'warm-up' : `round ${round}/${rounds}`}: ${line.join(', ')}`);
  }
  const tfjs = times.get(TFJS) ?? [];
  const core = times.get(CORE) ?? [];
  const node = times.get(NODE) ?? [];
  // Per round, so drifts in machine load between rounds cancel out.
  const extra = core.map((ms, i) => ms - (tfjs[i] as number));
  const rows = VARIANTS.map((variant) => {
    const ms = times.get(variant) ?? [];
    return [
      variant === NODE ? 'node -e ""' : `node -e "await import('${variant}')"`,
      fmt(median(ms), 0),
      `${fmt(quantile(ms, 0.25), 0)}–${fmt(quantile(ms, 0.75), 0)}`,
      `${fmt(Math.min(...ms), 0)}–${fmt(Math.max(...ms), 0)}`,
      variant === NODE ? '–' : fmt(median(ms) - median(node), 0),
    ];
  });
  const difference = median(core) - median(tfjs);
  const pairedExtra = median(extra);
  return [
    `fresh child processes from the repository root, ${rounds} rounds (+1 warm-up discarded), the three in a seeded random order each round;`,
    'wall time from spawn to exit',
    '',
    table(['command', 'median ms', 'p25–p75 ms', 'min–max ms', 'over node alone, ms'], rows, 1),
    '',
    `core − tfjs: ${fmt(difference, 0)} ms between the medians; median of the per-round differences ${fmt(pairedExtra, 0)} ms (p25–p75 ${fmt(quantile(extra, 0.25), 0)}–${fmt(quantile(extra, 0.75), 0)})`,
    `import: @epochcast/core within ${IMPORT_TARGET_MS} ms of @tensorflow/tfjs alone (median of the per-round differences ${fmt(pairedExtra, 0)} ms: ${mark(pairedExtra <= IMPORT_TARGET_MS)})`,
  ].join('\n');
}
