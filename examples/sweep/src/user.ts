import { setTimeout as sleep } from 'node:timers/promises';
import type { TelegramServer, TgMessage } from '@epochcast/testkit';

/** An inline keyboard button as the bot sent it. */
export interface Button {
  text: string;
  callback_data: string;
}

/**
 * The person holding the phone, on the testkit's Telegram server: writes to the bot, reads what
 * the bot posts after that, presses buttons. It only sees the chat (as a person would), never the
 * runs' processes.
 */
export class ChatUser {
  private ended = false;

  /** `until`: once it settles (the runs have exited, say), no wait goes on for an answer. */
  constructor(
    readonly server: TelegramServer,
    readonly chatId: number,
    until?: Promise<unknown>,
  ) {
    const stop = () => {
      this.ended = true;
    };
    until?.then(stop, stop);
  }

  /** Whether `until` has settled: no answer is coming any more. */
  get over(): boolean {
    return this.ended;
  }

  /** Sends `text` to the bot; returns the message as it appears in the chat. */
  say(text: string): TgMessage {
    const update = this.server.pushUpdate({ chatId: this.chatId, text });
    if (!update.message) throw new Error('ChatUser: the server returned no message');
    return update.message;
  }

  /** Presses a button of one of the bot's messages. */
  press(message: TgMessage, button: Button): void {
    this.server.pushCallbackQuery({ chatId: this.chatId, messageId: message.message_id, data: button.callback_data });
  }

  /** The bot's messages in their current state (after edits). */
  botMessages(): TgMessage[] {
    return this.server.messages(this.chatId).filter((m) => m.from?.is_bot);
  }

  /**
   * The first bot message posted after message `afterId` that `match` accepts, waiting for it up
   * to `timeoutMs`. Messages are checked in their current state, so an edit can make one match.
   */
  async waitForBot(match: (m: TgMessage) => boolean, afterId = 0, timeoutMs = 30_000): Promise<TgMessage> {
    const found = await poll(
      () => this.botMessages().find((m) => m.message_id > afterId && match(m)),
      timeoutMs,
      () => this.over,
    );
    if (!found)
      throw new Error(
        `ChatUser: no bot message after #${afterId} matched within ${timeoutMs} ms${this.over ? ' (or before the runs ended)' : ''}`,
      );
    return found;
  }

  /** Every bot message after `afterId` that `match` accepts, once there are `count` of them. */
  async waitForBotCount(match: (m: TgMessage) => boolean, count: number, afterId = 0, timeoutMs = 60_000): Promise<TgMessage[]> {
    const all = () => this.botMessages().filter((m) => m.message_id > afterId && match(m));
    const found = await poll(
      () => (all().length >= count ? all() : undefined),
      timeoutMs,
      () => this.over,
    );
    if (!found) throw new Error(`ChatUser: ${all().length} of ${count} expected bot messages after #${afterId} within ${timeoutMs} ms`);
    return found;
  }
}

/** The buttons under a message, row after row. */
export function buttonsOf(message: TgMessage): Button[] {
  const keyboard = (message.reply_markup as { inline_keyboard?: Button[][] } | undefined)?.inline_keyboard;
  return keyboard?.flat() ?? [];
}

/** Checks `probe` every 25 ms until it returns something, or `timeoutMs` passes or `over()` (then undefined). */
export async function poll<T>(probe: () => T | undefined, timeoutMs: number, over: () => boolean = () => false): Promise<T | undefined> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() >= until || over()) return undefined;
    await sleep(25);
  }
}
