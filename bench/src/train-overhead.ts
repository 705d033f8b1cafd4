#!/usr/bin/env node
// `pnpm bench`: what epochcast costs, in eight scenarios (issues 8, 9, 13, 16 and 18), printed as Markdown tables.
//
//   pnpm bench                                                   (builds, then all eight; ~12 minutes)
//   node bench/dist/train-overhead.js --only overhead --task small --rounds 10
//   node bench/dist/train-overhead.js --only slow,long,plot
//   node bench/dist/train-overhead.js --only sweep [--sweep-epochs N]
//   node bench/dist/train-overhead.js --only import [--rounds N]
//   node bench/dist/train-overhead.js --only wrap [--rounds N] [--wrap-updates N]
//   node bench/dist/train-overhead.js --only sources [--task small] [--rounds N]
//   EPOCHCAST_BACKEND=cpu node bench/dist/train-overhead.js --only overhead
//
// 1. overhead — raw optimizer.minimize loop vs Learner.fit (with and without Telegram + Slack +
//    e-mail notifiers on the testkit servers) vs tfjs model.fit; interleaved rounds, median ratios.
// 2. slow     — every service answering after 2 s: epoch time vs no notifiers, end messages.
// 3. long     — 2,000 short epochs with all notifiers: rate limits, coalescing, heap, tensors.
// 4. plot     — plotLosses() and png() of 100,000 batches.
// 5. sweep    — 8 runs as child processes on one bot and one Slack channel (issue 9): the shared
//    pace per chat and channel, 409s, commands answered by the run addressed, end messages.
// 6. import   — `node -e "await import('@epochcast/core')"` against the same for @tensorflow/tfjs:
//    fresh processes, interleaved; core's import should cost at most 60 ms more (issue 13).
// 7. wrap     — a command printing a million tqdm updates as fast as it can, unwrapped and under
//    `epochcast run --webhook`: its own elapsed time (within 2%, issue 16), epochcast's RSS, latency.
// 8. sources  — Learner.fit on fromIterables / fromDataset against fromTensors on the same batches
//    (≤ 1.05×), and a source with a 2 ms read per batch against max(train-only, read-only) (≤ 1.1, issue 18).
// Progress lines go to stderr; the report (stdout) is what BENCHMARKS.md records.
import { type BackendName, selectBackend } from '@epochcast/core';
import { machineLine, runtimeLine } from './harness.js';
import { IMPORT_ROUNDS, importScenario } from './scenarios/import.js';
import { LONG_EPOCHS, longScenario } from './scenarios/long.js';
import { overheadScenario } from './scenarios/overhead.js';
import { plotScenario } from './scenarios/plot.js';
import { slowScenario } from './scenarios/slow.js';
import { sourcesScenario } from './scenarios/sources.js';
import { SWEEP_EPOCHS, sweepScenario } from './scenarios/sweep.js';
import { WRAP_ROUNDS, wrapScenario } from './scenarios/wrap.js';
import { type Services, startServices } from './services.js';
import { TASKS, type Task } from './tasks.js';
import { DEFAULT_UPDATES, EPOCHS } from './tqdm-lines.js';

const SCENARIOS = ['overhead', 'slow', 'long', 'plot', 'sweep', 'import', 'wrap', 'sources'] as const;
type Scenario = (typeof SCENARIOS)[number];
const SLOW_ROUNDS = 4;

interface Args {
  only: Scenario[];
  rounds: number | undefined;
  tasks: Task[];
  epochs: number;
  sweepEpochs: number;
  wrapUpdates: number;
}

function parseArgs(argv: string[]): Args {
  let rounds: number | undefined;
  let tasks = TASKS;
  let only: Scenario[] = [...SCENARIOS];
  let epochs = LONG_EPOCHS;
  let sweepEpochs = SWEEP_EPOCHS;
  let wrapUpdates = DEFAULT_UPDATES;
  const usage =
    'use --only overhead,slow,long,plot,sweep,import,wrap,sources, --task mnist|small, --rounds N, --long-epochs N, --sweep-epochs N, --wrap-updates N';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--rounds') rounds = Number(argv[++i]);
    else if (arg === '--long-epochs') epochs = Number(argv[++i]);
    else if (arg === '--sweep-epochs') sweepEpochs = Number(argv[++i]);
    else if (arg === '--wrap-updates') wrapUpdates = Number(argv[++i]);
    else if (arg === '--only') {
      const names = (argv[++i] ?? '').split(',').filter(Boolean);
      const bad = names.find((n) => !SCENARIOS.includes(n as Scenario));
      if (bad !== undefined || names.length === 0) throw new Error(`train-overhead: unknown scenario ${bad ?? '(none)'}; ${usage}`);
      only = names as Scenario[];
    } else if (arg === '--task') {
      const name = argv[++i] ?? '';
      tasks = TASKS.filter((t) => t.name === name || t.name.startsWith(`${name}-`));
      if (tasks.length === 0) throw new Error(`train-overhead: unknown task ${name}; use mnist or small`);
    } else throw new Error(`train-overhead: unknown argument ${arg}; ${usage}`);
  }
  if (rounds !== undefined && !(Number.isInteger(rounds) && rounds >= 1))
    throw new Error('train-overhead: --rounds must be an integer >= 1');
  if (!(Number.isInteger(epochs) && epochs >= 200)) throw new Error('train-overhead: --long-epochs must be an integer >= 200');
  if (!(Number.isInteger(sweepEpochs) && sweepEpochs >= 10)) throw new Error('train-overhead: --sweep-epochs must be an integer >= 10');
  if (!(Number.isInteger(wrapUpdates) && wrapUpdates >= EPOCHS && wrapUpdates % EPOCHS === 0))
    throw new Error(
      `train-overhead: --wrap-updates must be a positive multiple of ${EPOCHS} (one progress bar per epoch); received ${wrapUpdates}`,
    );
  return { only, rounds, tasks, epochs, sweepEpochs, wrapUpdates };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const began = performance.now();
  // The demo's backend: wasm, unless EPOCHCAST_BACKEND names another.
  const prefer = (process.env.EPOCHCAST_BACKEND as BackendName | undefined) || 'wasm';
  const { backend } = await selectBackend({ prefer, log: false });
  const argv = process.argv.slice(2).join(' ');
  console.log(
    `command: ${process.env.npm_lifecycle_event === 'bench' ? 'pnpm bench' : 'node bench/dist/train-overhead.js'}${argv ? ` ${argv}` : ''}`,
  );
  console.log(`date: ${new Date().toISOString()}`);
  console.log(machineLine());
  console.log(runtimeLine(backend));
  // Started for the first scenario that trains with notifiers, and only then.
  let started: Promise<Services> | undefined;
  const services = (): Promise<Services> => {
    if (!started) {
      console.log('notifiers: TelegramCallback, SlackCallback, EmailCallback with plugin defaults and on: every event, each against its');
      console.log('           @epochcast/testkit server on 127.0.0.1 (started once for the bench, in this process)');
      started = startServices();
    }
    return started;
  };
  try {
    if (args.only.includes('overhead')) {
      const servers = await services();
      console.log('\n## 1. Training overhead\n');
      console.log('method: each round runs every variant once, in a seeded random order; 1 warm-up round discarded;');
      console.log('        ms/epoch = wall time of a fit / its epochs (for the notifier row: less the time spent in the');
      console.log("        notifiers' onTrainBegin config check and onTrainEnd flush, shown in the last column);");
      console.log('        vs raw / vs model.fit = median over rounds of the ratio within a round (machine load cancels)');
      console.log('Learner.fit: Recorder + ProgressCallback drawing its bar into a null stream (tty: true)');
      console.log(await overheadScenario(args.tasks, args.rounds, servers));
    }
    if (args.only.includes('slow')) {
      const servers = await services();
      console.log('\n## 2. Slow services\n');
      console.log(await slowScenario(args.rounds === undefined ? SLOW_ROUNDS : Math.min(args.rounds, SLOW_ROUNDS * 2), servers));
    }
    if (args.only.includes('long')) {
      const servers = await services();
      console.log('\n## 3. Long run\n');
      console.log(await longScenario(servers, args.epochs));
    }
    if (args.only.includes('plot')) {
      console.log('\n## 4. Plot rendering\n');
      console.log(await plotScenario());
    }
    if (args.only.includes('sweep')) {
      console.log('\n## 5. Sweep: 8 concurrent runs on one bot and one channel\n');
      console.log(await sweepScenario(args.sweepEpochs));
    }
    if (args.only.includes('import')) {
      console.log('\n## 6. Import time\n');
      console.log(await importScenario(Math.max(args.rounds ?? IMPORT_ROUNDS, 15)));
    }
    if (args.only.includes('wrap')) {
      console.log('\n## 7. Wrapping a command: epochcast run\n');
      console.log(await wrapScenario(args.rounds ?? WRAP_ROUNDS, args.wrapUpdates));
    }
    if (args.only.includes('sources')) {
      console.log('\n## 8. Data sources: streaming and reading ahead\n');
      console.log('method: each round runs every variant once, in a seeded random order; 1 warm-up round discarded;');
      console.log('        every variant is Learner.fit (Recorder + ProgressCallback into a null stream) on the same batches:');
      console.log("        the streamed sources yield the in-memory loader's own batches; ratios are medians of in-round ratios");
      console.log(await sourcesScenario(args.tasks, args.rounds));
    }
  } finally {
    if (started) await (await started).close();
  }
  console.log(`\ntotal bench time: ${((performance.now() - began) / 1000).toFixed(0)} s`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
