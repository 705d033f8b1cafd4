#!/usr/bin/env node
import { trainMnist } from '@epochcast/cli/mnist';
// One run of the sweep, in its own process (the launcher, main.ts, starts several). It trains the
// MNIST MLP at the learning rate `LR` and names itself `RUN_NAME` in every message. Telegram and
// Slack are configured the usual way, from the environment (TELEGRAM_BOT_TOKEN + TELEGRAM_CHAT_ID,
// SLACK_BOT_TOKEN + SLACK_CHANNEL or SLACK_WEBHOOK_URL); a service left unset is left out. The
// runs of one sweep find each other by themselves (same bot token, same channel): nothing here
// tells them about one another.
//
//   LR=3e-3 RUN_NAME=lr=3e-3 node examples/sweep/dist/run.js
//
// stdout carries two JSON lines, for the launcher: `{"event":"start",…}` when the fit begins (with
// the run id every message uses) and `{"event":"result",…}` at the end. Warnings go to stderr.
import { type Callback, selectBackend, type TrainingState } from '@epochcast/core';
import { type Notification, Notifier, type NotifierLimits } from '@epochcast/notify';
import { SlackCallback } from '@epochcast/slack';
import { TelegramCallback } from '@epochcast/telegram';

/** What a run prints at the end (the launcher's results table is made of these). */
export interface RunResult {
  event: 'result';
  name: string;
  runId: string | undefined;
  lrMax: number;
  epochs: number;
  /** Digits trained on / held out. */
  trainSamples: number;
  validSamples: number;
  validLoss: number;
  accuracy: number;
  /** `completed`, or `stopped` (from the chat). */
  status: string;
  /** Training and validation alone (sum of the epochs), ms: the last messages are not waited for. */
  trainMs: number;
  /** When its fit began and ended (Unix ms): the end is before the last messages are waited for. */
  fitStartedAt: number;
  fitEndedAt: number;
  /** From the fit's start to its first batch, ms: the notifiers' onTrainBegin (token checks, Slack's start message). */
  beginWaitMs: number;
  /** When this run polled Telegram for the whole sweep (the elected leader): Unix ms, sampled every 25 ms and batch. */
  ledCommands: { from: number; to: number }[];
  /** What each notifier delivered and gave up on. */
  delivery: Record<string, { delivered: number; failed: string[]; coalesced: number }>;
}

/** The line printed when the fit begins. */
export interface RunStart {
  event: 'start';
  name: string;
  runId: string | undefined;
  pid: number;
  at: number;
}

/**
 * Reads the run id the messages carry and samples who polls Telegram. A Notifier that sends
 * nothing (`on: []`): the base gives every notifier of one fit the same run id, and `currentRun`
 * is how a plugin reads it.
 */
class RunProbe extends Notifier {
  readonly service = 'sweep-probe';
  readonly limits: NotifierLimits = { maxTextLength: 1, images: false };
  override order = 99;
  runId: string | undefined;
  readonly led: { from: number; to: number }[] = [];
  fitStartedAt = 0;
  fitEndedAt = 0;
  beginWaitMs = Number.NaN;
  private sampler: NodeJS.Timeout | undefined;

  constructor(
    private readonly runName: string,
    private readonly telegram: TelegramCallback | undefined,
  ) {
    super({ on: [], runName, handleSignals: false });
  }

  override async onTrainBegin(state: TrainingState): Promise<void> {
    await super.onTrainBegin(state);
    this.runId = this.currentRun?.id;
    this.fitStartedAt = state.startedAt;
    // `pollsCommands` flips when the runs' hub elects this run or it hands over: sampled every 25 ms
    // (the other notifiers' onTrainBegin may hold the first batch back for seconds) and after each batch.
    this.sampler = setInterval(() => this.sample(), 25);
    this.sampler.unref();
    const line: RunStart = { event: 'start', name: this.runName, runId: this.runId, pid: process.pid, at: Date.now() };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }

  override onBatchBegin(): void {
    if (Number.isNaN(this.beginWaitMs)) this.beginWaitMs = Date.now() - this.fitStartedAt;
  }

  override onBatchEnd(): void {
    this.sample();
  }

  // Before the TelegramCallback's onTrainEnd (order 99 < 100), which stops its poller first thing.
  override async onTrainEnd(state: TrainingState): Promise<void> {
    this.fitEndedAt = Date.now();
    clearInterval(this.sampler);
    const open = this.led.at(-1);
    if (open && open.to < 0) open.to = this.fitEndedAt;
    await super.onTrainEnd(state);
  }

  private sample(): void {
    const leading = this.telegram?.pollsCommands ?? false;
    const now = Date.now();
    const last = this.led.at(-1);
    const open = last !== undefined && last.to < 0;
    if (leading && !open) this.led.push({ from: now, to: -1 });
    if (!leading && open) last.to = now;
  }

  protected async send(_n: Notification): Promise<void> {}
}

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`sweep run: ${name} must be a number > 0; received ${JSON.stringify(raw)}.`);
  return value;
}

async function main(): Promise<void> {
  const lrMax = envNumber('LR', 1e-2);
  const name = process.env.RUN_NAME || `lr=${lrMax}`;
  const samples = envNumber('SAMPLES', 3000);
  const epochs = envNumber('EPOCHS', 3);
  const hidden = envNumber('HIDDEN', 128);
  const batchSize = envNumber('BATCH_SIZE', 64);
  await selectBackend({ log: false });

  const telegram = process.env.TELEGRAM_BOT_TOKEN ? new TelegramCallback({ runName: name }) : undefined;
  const slack = process.env.SLACK_BOT_TOKEN || process.env.SLACK_WEBHOOK_URL ? new SlackCallback({ runName: name }) : undefined;
  const probe = new RunProbe(name, telegram);
  const callbacks: Callback[] = [probe];
  if (telegram) callbacks.push(telegram);
  if (slack) callbacks.push(slack);

  const run = await trainMnist({ samples, epochs, lrMax, hidden, batchSize, seed: 42, callbacks });
  try {
    const last = run.history.at(-1);
    const delivery: RunResult['delivery'] = {};
    for (const n of [telegram, slack]) {
      if (!n) continue;
      delivery[n.service] = {
        delivered: n.report.delivered.length,
        failed: n.report.failed.map((f) => `${f.event}: ${f.reason}`),
        coalesced: n.report.coalesced,
      };
    }
    const result: RunResult = {
      event: 'result',
      name,
      runId: probe.runId,
      lrMax,
      epochs: run.history.length,
      trainSamples: run.trainSamples,
      validSamples: run.validSamples,
      validLoss: last?.validLoss ?? Number.NaN,
      accuracy: run.validAccuracy,
      status: run.learn.state.status,
      trainMs: run.history.reduce((sum, e) => sum + e.timeMs, 0),
      fitStartedAt: probe.fitStartedAt,
      fitEndedAt: probe.fitEndedAt,
      beginWaitMs: probe.beginWaitMs,
      ledCommands: probe.led,
      delivery,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    run.dispose();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
