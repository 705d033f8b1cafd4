import { accuracy, Callback, DataLoaders, Learner, type Metric, type TrainingState } from '@epochcast/core';
import type { TelegramCall, TelegramServer, TgMessage } from '@epochcast/testkit';
import * as tf from '@tensorflow/tfjs';
import { TelegramCallback, type TelegramCallbackOptions } from '../src/index.js';

export const TOKEN = '123456:TEST-token-4f9a2c';
export const CHAT = 4242;

/** A metric whose name has underscores: Markdown would read them as italics if not escaped. */
export const top_1_acc: Metric = (yTrue, yPred) => accuracy(yTrue, yPred);

/** A 3-class toy problem: a few ms per epoch on the cpu backend. */
export function tinyLearner(callbacks: Callback[], metrics: Metric[] = [accuracy]): Learner {
  const x = tf.randomUniform([96, 3], 0, 1, 'float32', 7);
  const y = tf.oneHot(tf.argMax(x, 1), 3);
  const data = DataLoaders.fromTensors(x, y, { batchSize: 32, seed: 1 });
  tf.dispose([x, y]);
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 3, activation: 'softmax' })] });
  return new Learner({ model, data, loss: 'categoricalCrossentropy', metrics, callbacks });
}

/** Makes each epoch last at least `ms`, so edits and commands have time to happen between epochs. */
export class SlowEpochs extends Callback {
  constructor(private readonly ms: number) {
    super();
  }
  override async onEpochEnd(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, this.ms));
  }
}

/** Runs `action` once, at the end of the given epoch. */
export class AtEpoch extends Callback {
  constructor(
    private readonly epoch: number,
    private readonly action: (state: TrainingState) => void | Promise<void>,
  ) {
    super();
  }
  override async onEpochEnd(state: TrainingState): Promise<void> {
    if (state.epoch === this.epoch) await this.action(state);
  }
}

export interface Captured {
  warnings: string[];
  callback: TelegramCallback;
}

/** A TelegramCallback pointed at `server`, fast (no 1 s spacing), its warnings captured. */
export function telegram(server: TelegramServer, options: TelegramCallbackOptions = {}): Captured {
  const warnings: string[] = [];
  const callback = new TelegramCallback({
    token: TOKEN,
    chatId: CHAT,
    apiRoot: server.url,
    minSendIntervalMs: 0,
    handleSignals: false,
    runName: 'tiny',
    logger: { warn: (line) => warnings.push(line) },
    ...options,
  });
  return { warnings, callback };
}

const MESSAGE_METHODS = new Set(['sendmessage', 'editmessagetext', 'sendphoto']);

/** The calls that carried a message to the chat, in order. */
export function messageCalls(server: TelegramServer, chatId = CHAT): TelegramCall[] {
  return server.received.filter((c) => MESSAGE_METHODS.has(c.method.toLowerCase()) && String(c.params.chat_id) === String(chatId));
}

/** The chat's messages from the bot, as the phone shows them now (edits applied). */
export function botMessages(server: TelegramServer, chatId = CHAT): TgMessage[] {
  return server.messages(chatId).filter((m) => m.from?.is_bot);
}

/** Visible text of a message: its text, else its caption. */
export function shown(message: TgMessage | undefined): string {
  return message?.text ?? message?.caption ?? '';
}

/** Waits until `predicate` holds, polling every 10 ms. */
export async function until(predicate: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
