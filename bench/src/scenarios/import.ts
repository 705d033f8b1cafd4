// Scenario 6 — import time (issue 13): the wall time of a fresh `node -e "await import('…')"` for
// @tensorflow/tfjs alone and for @epochcast/core (which imports tfjs), and of Node alone for
// scale; interleaved in a seeded random order within each round, after one discarded warm-up round.
// Each process also prints its CPU time (process.cpuUsage(), user + system, all threads), which
// other jobs on a shared machine disturb far less than the wall time. A fourth process imports
// tfjs, then core, and times the second import: core's own share, without the noise of comparing
// two processes.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import seedrandom from 'seedrandom';
import { fmt, mark, median, progress, quantile, shuffled, table } from '../harness.js';

export const IMPORT_ROUNDS = 20;
/** Issue 13's target: importing core costs at most this much more than importing tfjs. */
export const IMPORT_TARGET_MS = 60;

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const NODE = 'node alone';
const TFJS = '@tensorflow/tfjs';
const CORE = '@epochcast/core';
const CORE_AFTER_TFJS = 'core after tfjs';
type Variant = typeof NODE | typeof TFJS | typeof CORE | typeof CORE_AFTER_TFJS;
const VARIANTS: readonly Variant[] = [NODE, TFJS, CORE, CORE_AFTER_TFJS];

const SCRIPTS: Record<Variant, string> = {
  [NODE]: '',
  [TFJS]: `await import('${TFJS}')`,
  [CORE]: `await import('${CORE}')`,
  [CORE_AFTER_TFJS]: `await import('${TFJS}'); const t = performance.now(); await import('${CORE}'); const ms = performance.now() - t`,
};

/** The last line each process prints: its CPU time, and for CORE_AFTER_TFJS the second import's ms. */
const REPORT = `;{ const { user, system } = process.cpuUsage(); process.stdout.write('\\n' + JSON.stringify({ cpuMs: (user + system) / 1000, ms: typeof ms === 'number' ? ms : undefined })) }`;

interface Measured {
  /** Spawn to exit. */
  wallMs: number;
  cpuMs: number;
  /** CORE_AFTER_TFJS: the import of core alone. */
  ms?: number;
}

/** `node -e <code>` from the repository root: wall time from spawn to exit, and what it reported. */
async function measure(variant: Variant): Promise<Measured> {
  const { ms: wallMs, stdout } = await runNode(`${SCRIPTS[variant]}${REPORT}`);
  // tfjs prints its "Hi, looks like you are running TensorFlow.js in Node.js" banner first.
  const report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Omit<Measured, 'wallMs'>;
  return { wallMs, ...report };
}

function runNode(code: string): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const began = performance.now();
    const child = spawn(process.execPath, ['-e', code], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (exitCode) => {
      const ms = performance.now() - began;
      if (exitCode === 0) resolve({ ms, stdout });
      else reject(new Error(`node -e "${code}" exited with ${exitCode}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

/** `median (p25–p75)` of a sample. */
function spread(values: readonly number[]): string {
  return `${fmt(median(values), 0)} (${fmt(quantile(values, 0.25), 0)}–${fmt(quantile(values, 0.75), 0)})`;
}

export async function importScenario(rounds = IMPORT_ROUNDS): Promise<string> {
  const random = seedrandom('import');
  const runs = new Map<Variant, Measured[]>(VARIANTS.map((v) => [v, []]));
  for (let round = 0; round <= rounds; round++) {
    const line: string[] = [];
    for (const variant of shuffled(VARIANTS, random)) {
      const run = await measure(variant);
      if (round > 0) runs.get(variant)?.push(run);
      line.push(`${variant} ${(run.ms ?? run.wallMs).toFixed(0)} ms`);
    }
    progress(`import ${round === 0 ? 'warm-up' : `round ${round}/${rounds}`}: ${line.join(', ')}`);
  }
  const wall = (v: Variant) => (runs.get(v) ?? []).map((r) => r.wallMs);
  const cpu = (v: Variant) => (runs.get(v) ?? []).map((r) => r.cpuMs);
  // Per round, so drifts in machine load between rounds cancel out.
  const perRound = (of: (v: Variant) => number[]) => of(CORE).map((ms, i) => ms - (of(TFJS)[i] as number));
  const wallExtra = perRound(wall);
  const cpuExtra = perRound(cpu);
  const coreOwn = (runs.get(CORE_AFTER_TFJS) ?? []).map((r) => r.ms ?? Number.NaN);
  const rows = ([NODE, TFJS, CORE] as const).map((variant) => {
    const ms = wall(variant);
    return [
      variant === NODE ? 'node -e ""' : `node -e "await import('${variant}')"`,
      fmt(median(ms), 0),
      `${fmt(quantile(ms, 0.25), 0)}–${fmt(quantile(ms, 0.75), 0)}`,
      `${fmt(Math.min(...ms), 0)}–${fmt(Math.max(...ms), 0)}`,
      variant === NODE ? '–' : fmt(median(ms) - median(wall(NODE)), 0),
      spread(cpu(variant)),
    ];
  });
  const verdict = median(wallExtra);
  return [
    `fresh child processes from the repository root, ${rounds} rounds (+1 warm-up discarded), the four in a seeded random order each round;`,
    'wall time from spawn to exit; CPU time as the process reports it at its end (user + system)',
    '',
    table(['command', 'median ms', 'p25–p75 ms', 'min–max ms', 'over node alone, ms', 'CPU ms: median (p25–p75)'], rows, 1),
    '',
    `core − tfjs, wall: ${fmt(median(wall(CORE)) - median(wall(TFJS)), 0)} ms between the medians; per round ${spread(wallExtra)} ms`,
    `core − tfjs, CPU: ${fmt(median(cpu(CORE)) - median(cpu(TFJS)), 0)} ms between the medians; per round ${spread(cpuExtra)} ms`,
    `core's own modules, imported after tfjs in one process: ${spread(coreOwn)} ms`,
    `import: @epochcast/core within ${IMPORT_TARGET_MS} ms of @tensorflow/tfjs alone (wall, median of the per-round differences ${fmt(verdict, 0)} ms: ${mark(verdict <= IMPORT_TARGET_MS)})`,
  ].join('\n');
}
