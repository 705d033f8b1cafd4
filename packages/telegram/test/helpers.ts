import { accuracy, Callback, type Learner, type Metric, type TrainingState } from '@epochcast/core';
import {
  startTelegramServer,
  type TelegramCall,
  type TelegramServer,
  type TelegramServerOptions,
  type TgMessage,
} from '@epochcast/testkit';
import { AwaitEpochDeliveries, toyLearner } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll } from 'vitest';
import { TelegramCallback, type TelegramCallbackOptions } from '../src/index.js';

export { SlowEpochs } from '@epochcast/testkit/learner';

export const TOKEN = '123456:TEST-token-4f9a2c';
export const CHAT = 4242;

/** A metric whose name has underscores: Markdown would read them as italics if not escaped. */
export const top_1_acc: Metric = (yTrue, yPred) => accuracy(yTrue, yPred);

/** The testkit's toy learner with these metrics and no hidden layer (12 parameters): a few ms per epoch. */
export function tinyLearner(callbacks: Callback[], metrics: Metric[] = [accuracy]): Learner {
  return toyLearner(callbacks, { metrics, hidden: 0 });
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

/** Holds each epoch's end until the chat has the epoch messages queued before it (see AwaitEpochDeliveries). */
export class AwaitEpochMessages extends AwaitEpochDeliveries {
  constructor(server: TelegramServer, chatId = CHAT) {
    const isEpochMessage = (c: TelegramCall) =>
      c.status === 200 &&
      String(c.params.chat_id) === String(chatId) &&
      (c.method === 'editMessageText' || (c.method === 'sendMessage' && String(c.params.text).includes('📈')));
    super(() => server.received.filter(isEpochMessage).length);
  }
}

/**
 * The testkit's Telegram server for a test file: the cpu backend, and after each test the server
 * closed and `envToClear` removed from the environment. Returns `start()`: this test's server.
 */
export function useTelegramServer(envToClear: readonly string[] = []): (options?: TelegramServerOptions) => Promise<TelegramServer> {
  let server: TelegramServer | undefined;
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    for (const key of envToClear) delete process.env[key];
  });
  return async (options = {}) => {
    server = await startTelegramServer({ token: TOKEN, ...options });
    return server;
  };
}
