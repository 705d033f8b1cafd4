// Shared pieces of the benchmark: statistics, tables, a null stream and the run's header lines.
import os from 'node:os';
import { Writable } from 'node:stream';
import * as tf from '@tensorflow/tfjs';

export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The value below which a fraction `q` of the sorted values lie (linear interpolation). */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const lo = sorted[Math.floor(at)] as number;
  const hi = sorted[Math.ceil(at)] as number;
  return lo + (hi - lo) * (at - Math.floor(at));
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Median over rounds of a/b within the same round: drifts in machine load cancel out. */
export function pairedRatio(a: readonly number[], b: readonly number[]): number {
  return median(a.map((v, i) => v / (b[i] as number)));
}

/** Not a terminal, whatever the callback is told: every byte written is dropped. */
export function nullStream(): Writable {
  return new Writable({
    write(_chunk, _encoding, done) {
      done();
    },
  });
}

/** A Markdown table; columns from `rightFrom` on are right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], rightFrom = 2): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const right = (i: number) => i >= rightFrom;
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (right(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (right(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

export function percent(x: number): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '–';
}

export const mark = (ok: boolean): string => (ok ? 'met' : 'MISSED');

/** Progress lines go to stderr, so stdout holds only the report. */
export function progress(line: string): void {
  process.stderr.write(`  ${line}\n`);
}

export function machineLine(): string {
  return `machine: ${os.cpus()[0]?.model ?? 'unknown cpu'}, ${os.availableParallelism()} cores, ${os.platform()} ${os.arch()}, load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`;
}

export function runtimeLine(backend: string): string {
  const flag = (name: string) => (tf.env().getBool(name) ? 'on' : 'off');
  const features = backend === 'wasm' ? ` (SIMD ${flag('WASM_HAS_SIMD_SUPPORT')}, threads ${flag('WASM_HAS_MULTITHREAD_SUPPORT')})` : '';
  return `runtime: node ${process.version}, tfjs ${tf.version.tfjs}, backend ${backend}${features}`;
}

export function fmt(x: number, digits = 1): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '–';
}
