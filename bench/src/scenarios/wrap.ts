// Scenario 7 — what `epochcast run` costs a command (issue 16): a command that prints as fast as it
// can (tqdm-emitter.js: a million tqdm updates to stderr, each its own write, and timestamped lines
// to stdout) run unwrapped and as `epochcast run --webhook <testkit receiver> -- node <emitter>`,
// both with their output piped to this process and drained as a terminal would. Interleaved in a
// seeded random order within each round, after one discarded warm-up round. Measured: the
// command's own elapsed time (what it reports) and the wall time from spawn to exit; epochcast's
// RSS every 50 ms; and how long each timestamp line took to arrive here.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { startWebhookServer, type WebhookServer } from '@epochcast/testkit';
import seedrandom from 'seedrandom';
import { fmt, mark, median, progress, quantile, shuffled, table } from '../harness.js';
import { DEFAULT_UPDATES, type EmitterReport, EPOCHS, SENT, TICK_MS } from '../tqdm-lines.js';

// 3, not 5: 5 rounds took 3–4 minutes on the shared 2 cores (load 3–9: an unwrapped run 7–16 s, a wrapped one
// 14–41 s), and the whole of `pnpm bench` has 10.
export const WRAP_ROUNDS = 3;
export const WRAP_UPDATES = DEFAULT_UPDATES;
/** Issue 16: wrapped, the command runs no more than 2% slower than unwrapped. */
export const WRAP_TARGET = 1.02;
/** epochcast's memory is flat when the last fifth's median RSS is within 10% of the first fifth's… */
const FLAT_RATIO = 1.1;
/** …or within this many MB of it (a few MB of heap that a 60 MB process grows by is not a leak). */
const FLAT_MB = 4;
const RSS_EVERY_MS = 50;
/** A stdout line longer than this is not the emitter's: the run fails rather than buffer it. */
const STDOUT_LINE_MAX = 64 * 1024;

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const EMITTER = fileURLToPath(new URL('../tqdm-emitter.js', import.meta.url));
const BIN = fileURLToPath(new URL('../../../packages/cli/dist/bin.js', import.meta.url));

const UNWRAPPED = 'unwrapped';
const WRAPPED = 'wrapped';
type Variant = typeof UNWRAPPED | typeof WRAPPED;
const VARIANTS: readonly Variant[] = [UNWRAPPED, WRAPPED];

interface Measured {
  /** The command's own, from its first write to its last (its report). */
  elapsedMs: number;
  /** Spawn to exit, output drained. */
  wallMs: number;
  /** Each timestamp line: arrival here − send time, on the `performance.timeOrigin + now()` clock and on `Date.now()`. */
  latencyMs: number[];
  latencyDateMs: number[];
  /** epochcast's VmRSS every 50 ms, kB (wrapped only). */
  rssKb: number[];
  /** epochcast's CPU time at the last sample (wrapped only). */
  cpuMs: number;
  /** stderr bytes received against those the emitter wrote; stdout lines received against those it wrote. */
  stderrBytes: number;
  stdoutLines: number;
  report: EmitterReport;
  /** Webhook deliveries during the run, by event (wrapped only). */
  deliveries: Map<string, number>;
}

const now = () => performance.timeOrigin + performance.now();

function argsOf(variant: Variant, updates: number, webhookUrl: string): string[] {
  const command = [EMITTER, '--updates', String(updates)];
  return variant === UNWRAPPED ? command : [BIN, 'run', '--webhook', webhookUrl, '--', process.execPath, ...command];
}

/** /proc reports CPU times in USER_HZ ticks, 100 a second on Linux whatever the kernel's own HZ. */
const TICK_MS_PROC = 10;

/** VmRSS of `pid` in kB and its CPU time so far (user + system, all threads), or undefined once it is gone. */
async function sample(pid: number): Promise<{ rssKb: number; cpuMs: number } | undefined> {
  try {
    const [status, stat] = await Promise.all([readFile(`/proc/${pid}/status`, 'utf8'), readFile(`/proc/${pid}/stat`, 'utf8')]);
    const kb = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
    // Fields after the command name, which may hold spaces and parentheses: state is the first, utime the 12th, stime the 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    if (kb === undefined || !Number.isFinite(ticks)) return undefined;
    return { rssKb: Number(kb), cpuMs: ticks * TICK_MS_PROC };
  } catch {
    return undefined;
  }
}

/** One run of a variant, its output drained as it comes; rejects on a non-zero exit or output that is not the emitter's. */
function measure(variant: Variant, updates: number, webhook: WebhookServer): Promise<Measured> {
  const delivered = webhook.received.length;
  return new Promise((resolve, reject) => {
    const began = performance.now();
    const child = spawn(process.execPath, argsOf(variant, updates, webhook.url), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const latencyMs: number[] = [];
    const latencyDateMs: number[] = [];
    const rss: number[] = [];
    let cpuMs = Number.NaN;
    let stderrBytes = 0;
    let stdoutLines = 0;
    let stderrTail = '';
    let partial = '';
    let report: EmitterReport | undefined;
    let bad: string | undefined;
    let sampling = false;
    const sampler =
      variant === WRAPPED
        ? setInterval(() => {
            if (sampling || child.pid === undefined) return;
            sampling = true;
            void sample(child.pid).then((got) => {
              sampling = false;
              if (got === undefined) return;
              rss.push(got.rssKb);
              cpuMs = got.cpuMs;
            });
          }, RSS_EVERY_MS)
        : undefined;
    // A terminal shows the bytes and keeps nothing; neither does this, but their count and the last few.
    child.stderr.on('data', (chunk: Buffer) => {
      stderrBytes += chunk.length;
      stderrTail = (stderrTail + chunk.toString('utf8', Math.max(0, chunk.length - 300))).slice(-300);
    });
    child.stdout.on('data', (chunk: Buffer) => {
      const arrived = now();
      const arrivedDate = Date.now();
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      if (partial.length > STDOUT_LINE_MAX) bad ??= `a stdout line of more than ${STDOUT_LINE_MAX} characters`;
      for (const line of lines) {
        if (line.startsWith(SENT)) {
          const [hr, date] = line.slice(SENT.length).split(' ').map(Number);
          if (!(Number.isFinite(hr) && Number.isFinite(date))) bad ??= `a malformed timestamp line ${JSON.stringify(line.slice(0, 80))}`;
          latencyMs.push(arrived - (hr as number));
          latencyDateMs.push(arrivedDate - (date as number));
          stdoutLines++;
        } else if (line.startsWith('{')) {
          try {
            report = JSON.parse(line) as EmitterReport;
          } catch {
            bad ??= `a malformed report line ${JSON.stringify(line.slice(0, 80))}`;
          }
        } else if (line !== '') stdoutLines++;
      }
    });
    child.on('error', reject);
    child.on('close', (exitCode, signal) => {
      const wallMs = performance.now() - began;
      clearInterval(sampler);
      const what = `${variant} run`;
      if (exitCode !== 0) {
        reject(
          new Error(
            `${what} ended with ${signal ?? `exit code ${exitCode}`}: ${stderrTail
              .split(/[\r\n]/)
              .filter(Boolean)
              .slice(-2)
              .join(' | ')}`,
          ),
        );
        return;
      }
      if (bad !== undefined || report === undefined || typeof report.elapsedMs !== 'number' || report.epochMs?.length !== EPOCHS) {
        reject(new Error(`${what}: the emitter's output was not as written (${bad ?? 'no report line at its end'})`));
        return;
      }
      const deliveries = new Map<string, number>();
      for (const r of webhook.received.slice(delivered)) {
        const event = (r.body as { event?: unknown } | undefined)?.event;
        const key = `${typeof event === 'string' ? event : '(no event)'}${r.status === 200 ? '' : ` ${r.status ?? r.fault ?? 'pending'}`}`;
        deliveries.set(key, (deliveries.get(key) ?? 0) + 1);
      }
      resolve({
        elapsedMs: report.elapsedMs,
        wallMs,
        latencyMs,
        latencyDateMs,
        rssKb: rss,
        cpuMs,
        stderrBytes,
        stdoutLines,
        report,
        deliveries,
      });
    });
  });
}

/**
 * Whether a child's `performance.timeOrigin + now()` reads the same clock as this process's: a
 * child prints it as soon as it runs, and it must fall between this process's reading before the
 * spawn and after the exit. Also the largest gap between that clock and `Date.now()` in either.
 */
async function clockCheck(times = 3): Promise<{ comparable: boolean; detail: string }> {
  const code = `process.stdout.write(JSON.stringify({ hr: performance.timeOrigin + performance.now(), date: Date.now() }))`;
  let inside = 0;
  let drift = Math.abs(now() - Date.now());
  for (let i = 0; i < times; i++) {
    const before = now();
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      child.on('error', reject);
      child.on('close', () => resolve(text));
    });
    const after = now();
    const { hr, date } = JSON.parse(out) as { hr: number; date: number };
    if (hr >= before && hr <= after) inside++;
    drift = Math.max(drift, Math.abs(hr - date));
  }
  // Date.now() has 1 ms steps: a gap under 2 ms is the two reading one clock.
  const comparable = inside === times && drift < 2;
  return {
    comparable,
    detail: `a child's performance.timeOrigin + now() fell between this process's readings at spawn and exit ${inside}/${times} times; largest gap to Date.now() ${fmt(drift, 2)} ms`,
  };
}

const s = (ms: number) => fmt(ms / 1000, 2);
const mb = (kb: number) => fmt(kb / 1024, 1);
/** `median (p25–p75)`. */
const spread = (values: readonly number[], digits: number) =>
  `${fmt(median(values), digits)} (${fmt(quantile(values, 0.25), digits)}–${fmt(quantile(values, 0.75), digits)})`;

/** Median RSS of the first and of the last fifth of one run's samples, kB. */
function fifths(samples: readonly number[]): { first: number; last: number; peak: number } {
  const n = Math.max(1, Math.floor(samples.length / 5));
  return { first: median(samples.slice(0, n)), last: median(samples.slice(-n)), peak: Math.max(...samples) };
}

export async function wrapScenario(rounds = WRAP_ROUNDS, updates = WRAP_UPDATES): Promise<string> {
  const clock = await clockCheck();
  const webhook = await startWebhookServer();
  const random = seedrandom('wrap');
  const runs = new Map<Variant, Measured[]>(VARIANTS.map((v) => [v, []]));
  try {
    for (let round = 0; round <= rounds; round++) {
      const line: string[] = [];
      for (const variant of shuffled(VARIANTS, random)) {
        const run = await measure(variant, updates, webhook);
        if (round > 0) runs.get(variant)?.push(run);
        line.push(`${variant} ${s(run.elapsedMs)} s own, ${s(run.wallMs)} s wall`);
      }
      progress(`wrap ${round === 0 ? 'warm-up' : `round ${round}/${rounds}`}: ${line.join(', ')}`);
    }
  } finally {
    await webhook.close();
  }
  const of = (v: Variant) => runs.get(v) ?? [];
  const own = (v: Variant) => of(v).map((r) => r.elapsedMs);
  const wall = (v: Variant) => of(v).map((r) => r.wallMs);
  const perRound = (get: (v: Variant) => number[]) => get(WRAPPED).map((ms, i) => ms / (get(UNWRAPPED)[i] as number));
  const ownRatios = perRound(own);
  const wallRatios = perRound(wall);
  const latency = (v: Variant) => of(v).flatMap((r) => (clock.comparable ? r.latencyMs : r.latencyDateMs));
  const latencyCell = (v: Variant) => {
    const ms = latency(v);
    return `${fmt(median(ms), 2)} / ${fmt(quantile(ms, 0.99), 2)} / ${fmt(Math.max(...ms), 1)}`;
  };
  const rows = VARIANTS.map((v) => [
    v === UNWRAPPED ? 'node <emitter>' : 'epochcast run --webhook <url> -- node <emitter>',
    s(median(own(v))),
    `${s(quantile(own(v), 0.25))}–${s(quantile(own(v), 0.75))}`,
    `${s(Math.min(...own(v)))}–${s(Math.max(...own(v)))}`,
    s(median(wall(v))),
    `${s(quantile(wall(v), 0.25))}–${s(quantile(wall(v), 0.75))}`,
    `${s(Math.min(...wall(v)))}–${s(Math.max(...wall(v)))}`,
    latencyCell(v),
  ]);

  // Memory: each wrapped run's RSS, first fifth against last fifth of its samples.
  const memory = of(WRAPPED).map((r) => fifths(r.rssKb));
  const flatBy = memory.map(({ first, last }) =>
    last / first <= FLAT_RATIO ? 'ratio' : (last - first) / 1024 <= FLAT_MB ? 'MB' : undefined,
  );
  const flat = flatBy.every((by) => by !== undefined);
  const worst = memory.reduce(
    (a, b) => (b.last - b.first > a.last - a.first ? b : a),
    memory[0] ?? { first: Number.NaN, last: Number.NaN, peak: Number.NaN },
  );
  const samples = of(WRAPPED).map((r) => r.rssKb.length);
  const perEpoch = (v: Variant) =>
    Array.from({ length: EPOCHS }, (_, e) => s(median(of(v).map((r) => r.report.epochMs[e] ?? Number.NaN)))).join(' ');
  const worstRun = of(WRAPPED)[memory.indexOf(worst)];
  // Where in the run the RSS grew: a climb to a plateau (the heap sizing itself) or a slope (a leak).
  const tenths = (kb: readonly number[]) =>
    Array.from({ length: 10 }, (_, i) => mb(kb[Math.min(kb.length - 1, Math.floor(((i + 1) * kb.length) / 10) - 1)] ?? Number.NaN));

  // Everything the command wrote reached this process, wrapped as unwrapped.
  const complete = (r: Measured) => r.stderrBytes === r.report.stderrBytes && r.stdoutLines === r.report.stdoutLines;
  const relayed = (v: Variant) => `${of(v).filter(complete).length}/${of(v).length}`;
  const deliveries = new Map<string, number[]>();
  for (const r of of(WRAPPED)) for (const [event, n] of r.deliveries) deliveries.set(event, [...(deliveries.get(event) ?? []), n]);
  const notified = of(WRAPPED).filter((r) => r.deliveries.get('start') === 1 && r.deliveries.get('end') === 1).length;
  const timestamps = median(of(UNWRAPPED).map((r) => r.latencyMs.length));

  const verdict = median(ownRatios);
  const latencyClock = clock.comparable
    ? 'performance.timeOrigin + now()'
    : 'Date.now() (ms steps; the high-resolution clocks did not agree)';
  return [
    `the command: node bench/dist/tqdm-emitter.js --updates ${updates}: ${updates.toLocaleString('en')} tqdm-style updates to stderr (fs.writeSync each, ${EPOCHS} epochs, a newline after each),`,
    `             a validation line per epoch and a timestamp line every ${TICK_MS} ms to stdout, last its own elapsed time (first write to last)`,
    `wrapped: node packages/cli/dist/bin.js run --webhook <testkit webhook receiver in this process> -- node bench/dist/tqdm-emitter.js --updates ${updates}`,
    `${rounds} rounds (+1 warm-up discarded), the two in a seeded random order each round; stdout and stderr piped to this process and drained as they come;`,
    `latency = arrival here − send time of each timestamp line (${latencyClock}; ${clock.detail}; ` +
      `least latency seen ${fmt(Math.min(...latency(UNWRAPPED), ...latency(WRAPPED)), 2)} ms, below 0 only if the clocks disagree)`,
    '',
    table(
      [
        'variant',
        'own elapsed s: median',
        'p25–p75',
        'min–max',
        'wall s (spawn→exit): median',
        'p25–p75',
        'min–max',
        'latency ms: p50 / p99 / max',
      ],
      rows,
      1,
    ),
    '',
    `wrapped / unwrapped, the command's own elapsed time: ${fmt(median(own(WRAPPED)) / median(own(UNWRAPPED)), 3)} between the medians; per round ${spread(ownRatios, 3)} (${ownRatios.map((r) => fmt(r, 3)).join(', ')})`,
    `wrapped / unwrapped, wall time: ${fmt(median(wall(WRAPPED)) / median(wall(UNWRAPPED)), 3)} between the medians; per round ${spread(wallRatios, 3)}; ` +
      `difference of the medians ${fmt(median(wall(WRAPPED)) - median(wall(UNWRAPPED)), 0)} ms (epochcast's own start and the two notifications)`,
    `the command's epochs, median s per epoch 1…${EPOCHS}: unwrapped ${perEpoch(UNWRAPPED)}; wrapped ${perEpoch(WRAPPED)}`,
    `epochcast's RSS (VmRSS every ${RSS_EVERY_MS} ms, ${Math.min(...samples)}–${Math.max(...samples)} samples per run): peak ${mb(Math.max(...memory.map((m) => m.peak)))} MB; ` +
      `median of the first fifth → the last fifth per run: ${memory.map((m) => `${mb(m.first)} → ${mb(m.last)}`).join(', ')} MB; ` +
      `flat (last/first ≤ ${FLAT_RATIO} or within ${FLAT_MB} MB) in ${flatBy.filter((by) => by !== undefined).length}/${memory.length} runs ` +
      `(${flatBy.map((by) => by ?? 'neither').join(', ')})`,
    `  the run with the most growth, RSS at the end of each tenth of it: ${worstRun ? tenths(worstRun.rssKb).join(', ') : '–'} MB`,
    `epochcast's CPU time (user + system from /proc/<pid>/stat at the last sample): ${spread(
      of(WRAPPED).map((r) => r.cpuMs / 1000),
      2,
    )} s per run, against the command's own ${s(median(own(WRAPPED)))} s`,
    `output complete (every stderr byte and stdout line the command wrote arrived): unwrapped ${relayed(UNWRAPPED)}, wrapped ${relayed(WRAPPED)}; ` +
      `${fmt(median(of(UNWRAPPED).map((r) => r.report.stderrBytes)) / 1e6, 1)} MB of stderr and ~${timestamps} timestamp lines per run`,
    `webhook deliveries per wrapped run: ${[...deliveries].map(([event, n]) => `${event} ${n.join('/')}`).join(', ') || 'none'}; start and end delivered in ${notified}/${of(WRAPPED).length} runs`,
    `wrap: the command wrapped within ${Math.round((WRAP_TARGET - 1) * 100)}% of unwrapped (per-round ratio of its own elapsed time ${fmt(verdict, 3)}: ${mark(verdict <= WRAP_TARGET)}); ` +
      `epochcast's RSS flat (worst run ${mb(worst.first)} → ${mb(worst.last)} MB: ${mark(flat)}); output as it comes (latency p99 wrapped ${fmt(quantile(latency(WRAPPED), 0.99), 1)} ms, unwrapped ${fmt(quantile(latency(UNWRAPPED), 0.99), 1)} ms)`,
  ].join('\n');
}
