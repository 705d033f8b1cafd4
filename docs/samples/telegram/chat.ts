// The chat of packages/telegram/README.md, produced: the demo's 3-epoch MNIST run against the
// testkit's local Bot API server, where a simulated user sends /status and /stop after the second
// epoch and answers "Yes, stop"; then the chat as the phone shows it.
import { DEMO_CONFIG, trainMnist } from '@epochcast/cli/mnist';
import { Callback, selectBackend, type TrainingState } from '@epochcast/core';
import { TelegramCallback } from '@epochcast/telegram';
import { startTelegramServer, type TelegramServer } from '@epochcast/testkit';
import type * as ChatTranscript from '../../../examples/telegram/dist/transcript.js';

// The chat rendering of examples/telegram, loaded from its build (the docs package does not depend
// on the example, and a relative import is not rewritten for docs/dist).
const { transcript }: typeof ChatTranscript = await import(
  new URL('../../../../examples/telegram/dist/transcript.js', import.meta.url).href
);

const CHAT = 4242;
const ADA = { first_name: 'Ada', last_name: 'Lovelace', username: 'ada' };

// #region user
/** Plays the person holding the phone: after the second epoch, asks for the status, then stops the run. */
class SimulatedUser extends Callback {
  constructor(private readonly server: TelegramServer) {
    super();
  }
  override async onEpochEnd(state: TrainingState): Promise<void> {
    if (state.epoch !== 1) return;
    const status = this.server.pushUpdate({ chatId: CHAT, text: '/status', from: ADA });
    await this.replyTo(status.message?.message_id);
    const stop = this.server.pushUpdate({ chatId: CHAT, text: '/stop', from: ADA });
    await this.replyTo(stop.message?.message_id);
    // The question "Stop … at the end of the current batch?" carries the buttons [ Yes, stop ] [ No ].
    const question = this.server.messages(CHAT).at(-1);
    const keyboard = question?.reply_markup as { inline_keyboard: { callback_data: string }[][] };
    const yes = keyboard.inline_keyboard[0]?.[0]?.callback_data ?? '';
    this.server.pushCallbackQuery({ chatId: CHAT, messageId: question?.message_id ?? 0, data: yes, from: ADA });
    await this.server.waitFor((c) => c.method === 'editMessageText' && String(c.params.text).startsWith('⏹ Stopping'), 10_000);
  }
  private replyTo(messageId: number | undefined) {
    return this.server.waitFor(
      (c) => c.method === 'sendMessage' && c.status === 200 && String(c.params.reply_parameters).includes(`"message_id":${messageId}`),
      10_000,
    );
  }
}
// #endregion

await selectBackend();
const server = await startTelegramServer();
try {
  const telegram = new TelegramCallback({ runName: 'mnist-mlp', token: server.token, chatId: CHAT, apiRoot: server.url });
  const run = await trainMnist({ ...DEMO_CONFIG, callbacks: [telegram, new SimulatedUser(server)] });
  run.dispose();
  process.stdout.write(`${transcript(server, CHAT)}\n`);
} finally {
  await server.close();
}
