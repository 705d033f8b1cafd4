// Scenario 3 — a long run: 2,000 short epochs of a tiny model with all three notifiers sending on
// every epoch. Rate limits as the servers saw them, coalescing, heap and tensor counts over time,
// end messages.
import { Callback, type DataLoader, DataLoaders } from '@epochcast/core';
import * as tf from '@tensorflow/tfjs';
import { epochClock } from '../clock.js';
import { fmt, mark, mean, median, progress, table } from '../harness.js';
import { endMessages, isSlackChannelWrite, isTelegramChatWrite, makeNotifiers, rateStats, type Services } from '../services.js';
import { learnerFit } from '../tasks.js';

/** A progress line on stderr every few seconds. */
class Ticker extends Callback {
  constructor(private readonly tick: () => void) {
    super();
  }
  override onEpochEnd(): void {
    this.tick();
  }
}

export const LONG_EPOCHS = 2000;
const WINDOW = 100;
/** The rate window, as Telegram counts: two writes to one chat arriving less than 1 s apart are a violation. */
const RATE_WINDOW_MS = 1000;

function tinyModel(): tf.LayersModel {
  const model = tf.sequential();
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  model.add(tf.layers.dense({ inputShape: [8], units: 16, activation: 'relu', kernelInitializer: init(21) }));
  model.add(tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: init(22) }));
  return model;
}

function tinyData(): DataLoaders<DataLoader, DataLoader> {
  const n = 320;
  const { x, y } = tf.tidy(() => {
    const x = tf.randomNormal([n, 8], 0, 1, 'float32', 15);
    const label = tf.greater(tf.sum(x, 1), 0).toInt();
    return { x, y: tf.oneHot(label, 2).toFloat() };
  });
  try {
    return DataLoaders.fromTensors(x, y, { validPct: 0.2, batchSize: 64, seed: 42 });
  } finally {
    tf.dispose([x, y]);
  }
}

const describeLong = (epochs: number) =>
  `MLP 8-16-2 on a synthetic 2-class task, 256 train / 64 valid, batch 64 (4 training batches + 1 validation batch per epoch), ${epochs} epochs in one fit, Adam lr 0.01; Recorder + ProgressCallback (null stream) + Telegram + Slack + e-mail, every event, epoch messages every epoch; plugin defaults (Telegram and Slack pace 1 write/s)`;

export async function longScenario(services: Services, epochs = LONG_EPOCHS): Promise<string> {
  const data = tinyData();
  const model = tinyModel();
  const heap: number[] = [];
  const tensors: number[] = [];
  // With --expose-gc (as `pnpm bench` runs), a full GC before each sample of the first and last
  // 100 epochs, so the heap figures are live data, not garbage V8 has not collected yet. The clock
  // has already stopped for the epoch when the sample runs.
  const gc = (globalThis as { gc?: () => void }).gc;
  const clock = epochClock(() => {
    const i = heap.length;
    if (gc && (i < WINDOW || i >= epochs - WINDOW)) gc();
    heap.push(process.memoryUsage().heapUsed);
    tensors.push(tf.memory().numTensors);
  });
  const runName = 'bench-long';
  const tgFrom = services.telegram.received.length;
  const slackFrom = services.slack.received.length;
  const mailFrom = services.smtp.received.length;
  const warningsFrom = services.warnings.length;
  const notifiers = makeNotifiers(services, runName);
  const started = performance.now();
  let lastReport = started;
  const ticker = new Ticker(() => {
    const now = performance.now();
    if (now - lastReport > 5000) {
      lastReport = now;
      progress(`long: epoch ${heap.length}/${epochs}, ${((now - started) / 1000).toFixed(0)} s`);
    }
  });
  try {
    await learnerFit(model, data, { epochs, lr: 1e-2 }, [...clock.callbacks, ...notifiers.all, ticker]);
  } finally {
    await notifiers.close();
    model.dispose();
    data.dispose();
  }
  const wall = performance.now() - started;
  const epochMs = clock.epochMs();
  const tg = services.telegram.received.slice(tgFrom).filter((c) => isTelegramChatWrite(c.method));
  const sl = services.slack.received.slice(slackFrom).filter((c) => isSlackChannelWrite(c.method));
  const mails = services.smtp.received.slice(mailFrom);
  const tgRate = rateStats(
    tg.map((c) => c.at),
    RATE_WINDOW_MS,
  );
  const slRate = rateStats(
    sl.map((c) => c.at),
    RATE_WINDOW_MS,
  );
  const slPosts = rateStats(
    sl.filter((c) => c.method === 'chat.postMessage').map((c) => c.at),
    RATE_WINDOW_MS,
  );
  const mailRate = rateStats(mails.map((m) => m.at));
  const ends = endMessages(services, runName);
  const row = (
    name: string,
    n: { report: { delivered: string[]; failed: unknown[]; coalesced: number } },
    calls: number,
    rate: { maxInWindow: number; minGapMs: number },
    end: number,
  ) => [
    name,
    String(epochs),
    String(n.report.delivered.filter((e) => e === 'epoch').length),
    String(n.report.coalesced),
    String(n.report.failed.length),
    String(calls),
    Number.isFinite(rate.maxInWindow) && calls > 0 ? String(rate.maxInWindow) : '–',
    Number.isFinite(rate.minGapMs) ? fmt(rate.minGapMs, 0) : '–',
    String(end),
  ];
  const rows = [
    row('Telegram', notifiers.telegram, tg.length, tgRate, ends.telegram),
    row('Slack', notifiers.slack, sl.length, slRate, ends.slack),
    row('e-mail', notifiers.email, mails.length, mailRate, ends.email),
  ];
  const first = (xs: number[]) => xs.slice(0, WINDOW);
  const last = (xs: number[]) => xs.slice(-WINDOW);
  const mb = (x: number) => fmt(x / 2 ** 20, 1);
  const memRows = [
    ['heap used, MB', mb(mean(first(heap))), mb(mean(last(heap))), fmt(mean(last(heap)) / mean(first(heap)), 3)],
    [
      'tf.memory().numTensors',
      fmt(mean(first(tensors)), 1),
      fmt(mean(last(tensors)), 1),
      fmt(mean(last(tensors)) / mean(first(tensors)), 3),
    ],
  ];
  const tensorsFlat = mean(last(tensors)) === mean(first(tensors));
  // Heap: a leak of one notification or table per epoch would grow it by tens of MB over 2,000
  // epochs; GC sawtooth moves the 100-epoch means by a few MB either way.
  const heapFlat = mean(last(heap)) - mean(first(heap)) < 8 * 2 ** 20;
  const tgOk = tgRate.maxInWindow <= 1;
  const slOk = slPosts.maxInWindow <= 1;
  const endsOk = ends.telegram === 1 && ends.slack === 1 && ends.email === 1;
  return [
    describeLong(epochs),
    `fit wall time ${(wall / 1000).toFixed(1)} s (of which start check + end flush ${(notifiers.waitsMs() / 1000).toFixed(1)} s); median epoch ${fmt(median(epochMs), 2)} ms`,
    '',
    table(
      [
        'service',
        'epoch msgs queued',
        'epoch msgs sent',
        'coalesced',
        'failed',
        'writes seen by server',
        'max writes in any 1 s',
        'min gap ms',
        'end msgs',
      ],
      rows,
      1,
    ),
    '',
    table([`first vs last ${WINDOW} epochs`, `mean, first ${WINDOW}`, `mean, last ${WINDOW}`, 'last / first'], memRows, 1),
    '',
    `long run: Telegram max ${tgRate.maxInWindow} write(s) in any 1 s (target ≤ 1: ${mark(tgOk)}); Slack max ${slPosts.maxInWindow} chat.postMessage in any 1 s (target ≈ ≤ 1: ${mark(slOk)}; all channel writes incl. chat.update and the file share: max ${slRate.maxInWindow}); ` +
      `numTensors flat (${mark(tensorsFlat)}); heap flat, last − first < 8 MB (${mark(heapFlat)}); end messages ${ends.telegram + ends.slack + ends.email}/3 (${mark(endsOk)})`,
    services.warnings.length > warningsFrom ? `notifier warnings during the run: ${services.warnings.slice(warningsFrom).join(' | ')}` : '',
  ]
    .filter((l, i, a) => l !== '' || a[i - 1] !== '')
    .join('\n');
}
