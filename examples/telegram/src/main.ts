#!/usr/bin/env node
// MNIST, followed on Telegram. With TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID set, the messages go
// to your phone (send /status, /plot, /stop or /lr 3e-4 to the bot while it trains). Without
// them, the run talks to the testkit's local Bot API server instead, a simulated user sends
// /status and /lr after the first epoch, and the script prints what the phone received.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_CONFIG, trainMnist } from '@epochcast/cli/mnist';
import { Callback, selectBackend, type TrainingState } from '@epochcast/core';
import { TelegramCallback } from '@epochcast/telegram';
import { startTelegramServer, type TelegramServer } from '@epochcast/testkit';
import { transcript } from './transcript.js';

export { transcript } from './transcript.js';

const LOCAL_CHAT = 4242;

/** Plays the person holding the phone: sends commands at the end of the first epoch. */
class SimulatedUser extends Callback {
  constructor(
    private readonly server: TelegramServer,
    private readonly commands: readonly string[],
  ) {
    super();
  }
  override onEpochEnd(state: TrainingState): void {
    if (state.epoch !== 0) return;
    for (const text of this.commands) this.server.pushUpdate({ chatId: LOCAL_CHAT, text });
  }
}

export async function main(): Promise<void> {
  await selectBackend();
  const local = !process.env.TELEGRAM_BOT_TOKEN;
  const server = local ? await startTelegramServer() : undefined;
  try {
    const telegram = new TelegramCallback({
      runName: 'mnist-mlp',
      ...(server ? { token: server.token, chatId: LOCAL_CHAT, apiRoot: server.url } : {}),
    });
    const callbacks: Callback[] = [telegram];
    if (server) callbacks.push(new SimulatedUser(server, ['/status', '/lr 3e-4']));
    if (local) process.stderr.write('No TELEGRAM_BOT_TOKEN: sending to a local Telegram Bot API server (the testkit).\n');
    const run = await trainMnist({ ...DEMO_CONFIG, callbacks });
    run.dispose();
    process.stderr.write(`validation accuracy ${(run.validAccuracy * 100).toFixed(2)}%\n`);
    if (server) process.stdout.write(`\nWhat the phone received (chat ${LOCAL_CHAT}):\n\n${transcript(server, LOCAL_CHAT)}\n`);
  } finally {
    await server?.close();
  }
}

// Run only as the entry point, so tests can import from this module.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
