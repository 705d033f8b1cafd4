/**
 * Talking back: while a fit runs, one long poll on getUpdates receives the chat's commands and
 * answers them. It lives exactly as long as the fit (started after `onTrainBegin`, aborted first
 * thing in `onTrainEnd`), so no timer or socket outlives `fit` and the process is free to exit.
 */
import { randomBytes } from 'node:crypto';
import type { TrainingHost } from '@epochcast/core';
import {
  type Api,
  type CallbackQuery,
  type Chat,
  InputFile,
  longPoll,
  type Message,
  TelegramApiError,
  type Update,
  type User,
} from 'node-telegram-bot-api';
import { apiErrorCode, describeError } from './client.js';
import { formatLr, type Markup } from './markup.js';

/** The commands a chat can send a running fit. */
export const TELEGRAM_COMMANDS = ['status', 'plot', 'stop', 'lr', 'quiet', 'verbose', 'help'] as const;
export type TelegramCommand = (typeof TELEGRAM_COMMANDS)[number];

const DESCRIPTIONS: Readonly<Record<TelegramCommand, string>> = {
  status: 'the latest epoch table',
  plot: 'the loss plot so far',
  stop: 'stop training after the current batch (asks first)',
  lr: 'the learning rate; /lr 3e-4 sets it',
  quiet: 'mute the epoch updates',
  verbose: 'resume the epoch updates',
  help: 'this list',
};

/** The largest lr `/lr` accepts: anything above is a typo, not a learning rate. */
const MAX_LR = 10;
// A decimal number as people type it: 3e-4, 0.001, .5, 1E-3 (no hex, no Infinity, no empty string).
const DECIMAL = /^\+?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
// The prefix of our inline buttons' callback_data, so stray buttons from other bots' code are ignored.
const BUTTON_PREFIX = 'epochcast:stop:';

/** What the poller needs from the TelegramCallback that owns it. */
export interface CommandHost {
  readonly api: Api;
  readonly markup: Markup;
  readonly enabled: ReadonlySet<TelegramCommand>;
  readonly learner: TrainingHost;
  /** Unix seconds when the fit began: earlier messages were not meant for it. */
  readonly startedAtSec: number;
  readonly pollTimeoutSec: number;
  isAllowed(chat: Chat): boolean;
  botUsername(): string | undefined;
  /** `mnist-mlp (a1b2c3d4)`: names the run in every reply. */
  runLabel(): string;
  /** The /status reply: the progress line and the table so far, already escaped. */
  statusText(): string;
  /** The photo caption for /plot, already escaped. */
  plotCaption(): string;
  setQuiet(quiet: boolean): void;
  /** One redacted warning line. */
  warn(line: string): void;
}

/** The long poll and the command handlers of one fit. */
export class CommandPoller {
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private lastUpdateId: number | undefined;
  private conflicted = false;
  /** Open /stop questions of this fit, by the nonce in their buttons. */
  private readonly prompts = new Map<string, number>();

  constructor(private readonly host: CommandHost) {}

  start(): void {
    this.loop = this.run();
  }

  /** Ends the long poll (aborting the pending request) and waits for the command being handled, at most `boundMs`. */
  async stop(boundMs = 5000): Promise<void> {
    this.abort.abort();
    if (!this.loop) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise<void>((resolve) => (timer = setTimeout(resolve, boundMs)))]);
    clearTimeout(timer);
    await this.confirmHandled();
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    const { api } = this.host;
    try {
      for await (const update of longPoll(
        api,
        { timeout: this.host.pollTimeoutSec, allowedUpdates: ['message', 'callback_query'], retryDelayMs: 2000 },
        signal,
      )) {
        this.lastUpdateId = update.update_id;
        try {
          await this.handle(update);
        } catch (error) {
          this.host.warn(`epochcast telegram: could not answer a command: ${describeError(error)}`);
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof TelegramApiError && error.errorCode === 409) {
        this.conflicted = true;
        this.host.warn(
          /webhook/i.test(error.description)
            ? 'epochcast telegram: this bot has a webhook set, so this run cannot receive commands (messages are still sent). Delete the webhook to use /status, /stop, ….'
            : 'epochcast telegram: another process polls this bot (409 Conflict: the newer poller wins), so commands now go there; this run still sends its messages.',
        );
        return;
      }
      this.host.warn(`epochcast telegram: stopped listening for commands: ${describeError(error)} (messages are still sent)`);
    }
  }

  /**
   * Tells Telegram the updates handled so far are done (getUpdates with the next offset), so the
   * next run or `epochcast telegram chats` does not see them again. Best effort, 2 s at most.
   */
  private async confirmHandled(): Promise<void> {
    if (this.lastUpdateId === undefined || this.conflicted) return;
    try {
      await this.host.api.getUpdates({ offset: this.lastUpdateId + 1, timeout: 0, limit: 1 }, AbortSignal.timeout(2000));
    } catch {
      // Unconfirmed updates only come back to a later poller, which ignores messages older than its fit.
    }
  }

  private async handle(update: Update): Promise<void> {
    if ('callback_query' in update) return this.onButton(update.callback_query);
    if (!('message' in update)) return;
    const message = update.message;
    const text = message.text ?? '';
    if (!text.startsWith('/')) return;
    if (!this.host.isAllowed(message.chat)) {
      // No answer (a stranger learns nothing, not even that the bot is alive) and no message text in the log.
      this.host.warn(
        `epochcast telegram: ignored a command from chat ${message.chat.id} (${message.chat.type}), which is not in allowedChatIds`,
      );
      return;
    }
    if (message.date < this.host.startedAtSec) return; // sent before this fit began: not meant for it
    const match = /^\/([A-Za-z0-9_]+)(?:@([A-Za-z0-9_]+))?(?:\s+([\s\S]*))?$/.exec(text.trim());
    if (!match) return;
    const [, rawName = '', addressee, rawArgs = ''] = match;
    const bot = this.host.botUsername();
    // In a group, `/status@otherbot` is for another bot.
    if (addressee && bot && addressee.toLowerCase() !== bot.toLowerCase()) return;
    const name = rawName.toLowerCase();
    const args = rawArgs.trim();
    if (!isCommand(name)) {
      if (name === 'start') return this.reply(message, this.helpText());
      return this.reply(message, `${this.host.markup.text(`Unknown command /${name}.`)}\n\n${this.helpText()}`);
    }
    if (!this.host.enabled.has(name)) return this.reply(message, this.host.markup.text(`/${name} is turned off for this run.`));
    switch (name) {
      case 'status':
        return this.reply(message, this.host.statusText());
      case 'plot':
        return this.plot(message);
      case 'stop':
        return this.askStop(message);
      case 'lr':
        return this.lr(message, args);
      case 'quiet':
        this.host.setQuiet(true);
        return this.reply(
          message,
          this.host.markup.text(
            `🔕 Epoch updates muted for ${this.host.runLabel()}. The end (or a crash) is still sent; /verbose resumes them.`,
          ),
        );
      case 'verbose':
        this.host.setQuiet(false);
        return this.reply(message, this.host.markup.text(`🔔 Epoch updates resumed for ${this.host.runLabel()}.`));
      case 'help':
        return this.reply(message, this.helpText());
    }
  }

  private helpText(): string {
    const m = this.host.markup;
    const lines = TELEGRAM_COMMANDS.filter((c) => this.host.enabled.has(c)).map((c) => `/${c} ${m.text(`— ${DESCRIPTIONS[c]}`)}`);
    return `${m.bold(this.host.runLabel())}\n${lines.join('\n')}`;
  }

  private async plot(message: Message): Promise<void> {
    const recorder = this.host.learner.recorder;
    if (recorder.losses.length === 0) return this.reply(message, this.host.markup.text('No batch has finished yet: nothing to plot.'));
    const png = await recorder.plotLosses().png();
    await this.host.api.sendPhoto({
      chat_id: message.chat.id,
      photo: new InputFile(png, { filename: 'losses.png', contentType: 'image/png' }),
      caption: this.host.plotCaption(),
      parse_mode: this.host.markup.mode,
      reply_parameters: { message_id: message.message_id, allow_sending_without_reply: true },
    });
  }

  private async askStop(message: Message): Promise<void> {
    const nonce = randomBytes(4).toString('hex');
    const m = this.host.markup;
    const sent = await this.send(
      message,
      `${m.text('⏹ Stop ')}${m.bold(this.host.runLabel())}${m.text(' at the end of the current batch?')}`,
      [
        [
          { text: 'Yes, stop', callback_data: `${BUTTON_PREFIX}${nonce}:yes` },
          { text: 'No', callback_data: `${BUTTON_PREFIX}${nonce}:no` },
        ],
      ],
    );
    this.prompts.set(nonce, sent.message_id);
  }

  private async onButton(query: CallbackQuery): Promise<void> {
    const data = query.data ?? '';
    const chat = query.message?.chat;
    if (!data.startsWith(BUTTON_PREFIX) || !chat) return;
    if (!this.host.isAllowed(chat)) {
      this.host.warn(`epochcast telegram: ignored a button press from chat ${chat.id} (${chat.type}), which is not in allowedChatIds`);
      return;
    }
    const [nonce = '', answer] = data.slice(BUTTON_PREFIX.length).split(':');
    const messageId = this.prompts.get(nonce);
    const { api, markup: m } = this.host;
    if (messageId === undefined) {
      await api.answerCallbackQuery({
        callback_query_id: query.id,
        text: 'That question belongs to a run that has ended or was answered.',
      });
      return;
    }
    this.prompts.delete(nonce);
    const who = userLabel(query.from);
    if (answer === 'yes') {
      this.host.learner.stop(`stopped from Telegram by ${who}`);
      await api.answerCallbackQuery({ callback_query_id: query.id, text: 'Stopping at the end of the current batch.' });
      await this.editPrompt(
        chat.id,
        messageId,
        `${m.text('⏹ Stopping ')}${m.bold(this.host.runLabel())}${m.text(` at the end of the current batch — asked by ${who}.`)}`,
      );
    } else {
      await api.answerCallbackQuery({ callback_query_id: query.id, text: 'Training goes on.' });
      await this.editPrompt(
        chat.id,
        messageId,
        `${m.text('▶️ Carrying on: ')}${m.bold(this.host.runLabel())}${m.text(' was not stopped.')}`,
      );
    }
  }

  private async editPrompt(chatId: number, messageId: number, text: string): Promise<void> {
    try {
      // Without reply_markup the edit also removes the Yes/No buttons.
      await this.host.api.editMessageText({ chat_id: chatId, message_id: messageId, text, parse_mode: this.host.markup.mode });
    } catch (error) {
      // The question may have been deleted; the stop itself has happened either way.
      if (apiErrorCode(error) !== 400) throw error;
    }
  }

  private async lr(message: Message, args: string): Promise<void> {
    const m = this.host.markup;
    const learner = this.host.learner;
    const schedule = learner.state.schedule;
    const scheduled = !/^constant\b/.test(schedule) && schedule !== 'tfjs model.fit';
    const now = formatLr(learner.lr);
    if (args === '') {
      const how = scheduled ? ` It follows the schedule (${schedule}), which sets it every batch.` : '';
      return this.reply(message, `${m.text('lr now ')}${m.code(now)}${m.text(` for ${this.host.runLabel()}.${how}`)}`);
    }
    const value = DECIMAL.test(args) ? Number(args) : Number.NaN;
    if (!(Number.isFinite(value) && value > 0 && value <= MAX_LR))
      return this.reply(
        message,
        `${m.text(`Not a learning rate: ${JSON.stringify(args.slice(0, 40))}. Send /lr followed by a number > 0 and ≤ ${MAX_LR}, e.g. `)}${m.code('/lr 3e-4')}${m.text('.')}`,
      );
    if (scheduled)
      return this.reply(
        message,
        m.text(
          `lr not changed: this run follows a schedule (${schedule}) that sets the lr at every batch, so ${formatLr(value)} would be overwritten at the next one. ` +
            `It is ${now} now. To train at a fixed lr, stop and start again with fit(epochs, { lr }).`,
        ),
      );
    learner.setLr(value);
    return this.reply(message, `${m.text('lr set to ')}${m.code(formatLr(value))}${m.text(` from the next batch (was ${now}).`)}`);
  }

  private async reply(message: Message, text: string): Promise<void> {
    await this.send(message, text);
  }

  private send(message: Message, text: string, keyboard?: { text: string; callback_data: string }[][]): Promise<Message> {
    return this.host.api.sendMessage({
      chat_id: message.chat.id,
      text,
      parse_mode: this.host.markup.mode,
      reply_parameters: { message_id: message.message_id, allow_sending_without_reply: true },
      ...(keyboard ? { reply_markup: { inline_keyboard: keyboard } } : {}),
    });
  }
}

function isCommand(name: string): name is TelegramCommand {
  return (TELEGRAM_COMMANDS as readonly string[]).includes(name);
}

/** `Ada Lovelace (@ada)`: who pressed a button, for the stop reason. */
function userLabel(user: User): string {
  const name = [user.first_name, user.last_name].filter(Boolean).join(' ') || String(user.id);
  return user.username ? `${name} (@${user.username})` : name;
}

/** The command menu Telegram shows when the user types `/`. */
export function commandMenu(enabled: ReadonlySet<TelegramCommand>): { command: string; description: string }[] {
  return TELEGRAM_COMMANDS.filter((c) => enabled.has(c)).map((c) => ({ command: c, description: DESCRIPTIONS[c] }));
}
