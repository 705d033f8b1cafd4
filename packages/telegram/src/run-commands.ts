/**
 * What one run does with the commands forwarded to it (by its own poller, or by the poller of
 * another run sharing the bot): it answers /status, /plot, /lr, /quiet and /verbose about itself,
 * and asks before /stop — with buttons that carry its run id, so "Yes, stop" stops this run only.
 */
import { randomBytes } from 'node:crypto';
import { formatLr, type TrainingHost } from '@epochcast/core';
import { type Api, InputFile, type Message } from 'node-telegram-bot-api';
import { apiErrorCode } from './client.js';
import type { TelegramCommand } from './commands.js';
import type { TelegramMarkup as Markup } from './render.js';
import {
  type ChatRef,
  type ForwardedButton,
  type ForwardedCommand,
  parseButtonData,
  parseDecimal,
  stopButtonData,
  type UserRef,
} from './routing.js';
import { inThread } from './topics.js';

/**
 * The learning rates `/lr` accepts, both ends included: above 10 is a typo, and below 1e-8 a float32
 * weight update rounds away to nothing (1e-323 is not even a float32).
 */
export const LR_RANGE = { min: 1e-8, max: 10 } as const;

/**
 * How long a /stop question can be answered. A module setting rather than an option: nobody should
 * need another, but the tests cannot wait two minutes for one to expire.
 */
export const stopQuestion = { ttlMs: 2 * 60_000 };

// Open questions a fit keeps at most; the oldest go first (a question is a few dozen bytes, but
// whoever may send /stop could otherwise grow the map without end).
const MAX_OPEN_QUESTIONS = 32;

/** A /stop question as asked: only its own Yes, in its chat, by whoever asked, in time, stops the run. */
interface StopQuestion {
  chatId: number;
  messageId: number;
  askedBy: number;
  expiresAt: number;
}

/** What the handler needs from the TelegramCallback that owns it. */
export interface RunCommandsHost {
  readonly api: Api;
  readonly markup: Markup;
  readonly runId: string;
  readonly enabled: ReadonlySet<TelegramCommand>;
  readonly learner: TrainingHost;
  isAllowed(chat: ChatRef): boolean;
  /** Whether this user may command the run (`allowedUserIds`; everyone in an allowed chat when unset). */
  isAllowedUser(user: UserRef | undefined): boolean;
  /** `mnist-mlp (a1b2c3d4)`: names the run in every reply. */
  runLabel(): string;
  /** The /status reply: the progress line and the table so far, already escaped. */
  statusText(): string;
  /** The photo caption for /plot, already escaped. */
  plotCaption(): string;
  setQuiet(quiet: boolean): void;
  /** One warning (the host prefixes `epochcast telegram:` and redacts it). */
  warn(line: string): void;
  /** Sends a reply: at once, but counted on the chat's shared budget, and retried once after a 429. */
  paced<T>(request: () => Promise<T>): Promise<T>;
}

export class RunCommands {
  /** Open /stop questions of this fit, by the nonce in their buttons. */
  private readonly questions = new Map<string, StopQuestion>();
  /** Users already told they may not command this run: told once, then ignored. */
  private readonly refused = new Set<number | undefined>();

  constructor(private readonly host: RunCommandsHost) {}

  async command(c: ForwardedCommand): Promise<void> {
    const { markup: m } = this.host;
    if (!this.host.isAllowed(c.chat)) {
      this.host.warn(`ignored a command from chat ${c.chat.id} (${c.chat.type}), which is not in allowedChatIds`);
      return;
    }
    if (!this.host.isAllowedUser(c.from)) return this.refuse(c);
    if (!this.host.enabled.has(c.command)) return this.reply(c, m.text(`/${c.command} is turned off for ${this.host.runLabel()}.`));
    const status = this.host.learner.state.status;
    // Between the end of the fit and the run leaving (its last messages going out), only looking is left.
    if (status !== 'running' && (c.command === 'stop' || c.command === 'lr' || c.command === 'quiet' || c.command === 'verbose'))
      return this.reply(c, m.text(`${this.host.runLabel()} has finished training (${status}): /${c.command} no longer applies.`));
    switch (c.command) {
      case 'status':
        return this.reply(c, this.host.statusText());
      case 'plot':
        return this.plot(c);
      case 'stop':
        return this.askStop(c);
      case 'lr':
        return this.lr(c);
      case 'quiet':
        this.host.setQuiet(true);
        return this.reply(
          c,
          m.text(`🔕 Epoch updates muted for ${this.host.runLabel()}. The end (or a crash) is still sent; /verbose resumes them.`),
        );
      case 'verbose':
        this.host.setQuiet(false);
        return this.reply(c, m.text(`🔔 Epoch updates resumed for ${this.host.runLabel()}.`));
    }
  }

  async button(b: ForwardedButton): Promise<void> {
    const parsed = parseButtonData(b.data);
    if (parsed?.kind !== 'stop' || parsed.runId !== this.host.runId) return;
    const { api, markup: m } = this.host;
    // Telegram shows at most 200 characters of an answer, and refuses a longer one.
    const answer = (text: string) => api.answerCallbackQuery({ callback_query_id: b.queryId, text: text.slice(0, 200) });
    if (!this.host.isAllowed(b.chat)) {
      this.host.warn(`ignored a button press from chat ${b.chat.id} (${b.chat.type}), which is not in allowedChatIds`);
      return;
    }
    if (!this.host.isAllowedUser(b.from)) {
      await answer(`You may not command ${this.host.runLabel()}: only the users in its allowedUserIds may.`);
      return;
    }
    const question = this.questions.get(parsed.nonce);
    if (question === undefined) {
      await answer('That question was already answered.');
      return;
    }
    // The press must be on the question's own message, in its chat: the same buttons anywhere else
    // (a forged or copied callback) are not an answer to it.
    if (b.chat.id !== question.chatId || b.messageId !== question.messageId) {
      await answer('These buttons do not belong to a question of this run.');
      return;
    }
    if (b.from.id !== question.askedBy) {
      await answer('Only the person who sent /stop can answer this question.');
      return;
    }
    this.questions.delete(parsed.nonce);
    if (Date.now() > question.expiresAt) {
      await answer('This question has expired: send /stop again.');
      await this.editPrompt(
        b.chat.id,
        question.messageId,
        `${m.text('⌛ Not stopped: ')}${m.bold(this.host.runLabel())}${m.text(' — the question expired; /stop asks again.')}`,
      );
      return;
    }
    const who = userLabel(b.from);
    if (parsed.answer === 'yes' && this.host.learner.state.status !== 'running') {
      await answer('That run has already finished.');
      await this.editPrompt(
        b.chat.id,
        question.messageId,
        `${m.bold(this.host.runLabel())}${m.text(` had already finished (${this.host.learner.state.status}).`)}`,
      );
    } else if (parsed.answer === 'yes') {
      const learner = this.host.learner;
      learner.stop(`stopped from Telegram by ${who}`);
      const how = learner.stopAction ? `: ${learner.stopAction}` : ' at the end of the current batch';
      await answer(`Stopping${how}.`);
      await this.editPrompt(
        b.chat.id,
        question.messageId,
        `${m.text('⏹ Stopping ')}${m.bold(this.host.runLabel())}${m.text(`${how} — asked by ${who}.`)}`,
      );
    } else {
      await answer('Training goes on.');
      await this.editPrompt(
        b.chat.id,
        question.messageId,
        `${m.text('▶️ Carrying on: ')}${m.bold(this.host.runLabel())}${m.text(' was not stopped.')}`,
      );
    }
  }

  /** A user not in allowedUserIds: one polite answer per user and fit, then silence (no reply to spam). */
  private async refuse(c: ForwardedCommand): Promise<void> {
    const id = c.from?.id;
    if (this.refused.has(id)) return;
    this.refused.add(id);
    this.host.warn(`ignored a command from user ${id ?? '(none)'} in chat ${c.chat.id}, who is not in allowedUserIds`);
    await this.reply(c, this.host.markup.text(`Sorry, only the users in allowedUserIds may command ${this.host.runLabel()}.`));
  }

  private async plot(c: ForwardedCommand): Promise<void> {
    const recorder = this.host.learner.recorder;
    if (recorder.losses.length === 0)
      return this.reply(c, this.host.markup.text(`No batch of ${this.host.runLabel()} has finished yet: nothing to plot.`));
    const png = await recorder.plotLosses().png();
    await this.host.paced(() =>
      this.host.api.sendPhoto({
        chat_id: c.chat.id,
        photo: new InputFile(png, { filename: 'losses.png', contentType: 'image/png' }),
        caption: this.host.plotCaption(),
        parse_mode: this.host.markup.mode,
        ...replyTo(c),
        ...inThread(c.threadId),
      }),
    );
  }

  private async askStop(c: ForwardedCommand): Promise<void> {
    const m = this.host.markup;
    // Bound to whoever asked: a message without a sender (posted as a channel) cannot be answered.
    if (!c.from)
      return this.reply(c, m.text(`/stop needs to know who asks: send it from your own account to stop ${this.host.runLabel()}.`));
    // 96 random bits: a button cannot be guessed, nor one question's answer replayed on another.
    const nonce = randomBytes(12).toString('base64url');
    const runId = this.host.runId;
    const learner = this.host.learner;
    const how = learner.stopAction ? `? (${learner.stopAction})` : ' at the end of the current batch?';
    const sent = await this.send(c, `${m.text('⏹ Stop ')}${m.bold(this.host.runLabel())}${m.text(how)}`, [
      [
        { text: 'Yes, stop', callback_data: stopButtonData(runId, nonce, 'yes') },
        { text: 'No', callback_data: stopButtonData(runId, nonce, 'no') },
      ],
    ]);
    const now = Date.now();
    for (const [key, q] of this.questions) if (q.expiresAt < now || this.questions.size >= MAX_OPEN_QUESTIONS) this.questions.delete(key);
    this.questions.set(nonce, { chatId: c.chat.id, messageId: sent.message_id, askedBy: c.from.id, expiresAt: now + stopQuestion.ttlMs });
  }

  private async editPrompt(chatId: number, messageId: number, text: string): Promise<void> {
    try {
      // Without reply_markup the edit also removes the Yes/No buttons.
      await this.host.paced(() =>
        this.host.api.editMessageText({ chat_id: chatId, message_id: messageId, text, parse_mode: this.host.markup.mode }),
      );
    } catch (error) {
      // The question may have been deleted; the stop itself has happened either way.
      if (apiErrorCode(error) !== 400) throw error;
    }
  }

  private async lr(c: ForwardedCommand): Promise<void> {
    const m = this.host.markup;
    const learner = this.host.learner;
    if (learner.lrSetElsewhere)
      return this.reply(c, m.text(`/lr does not apply to ${this.host.runLabel()}: its learning rate is set by the program that trains.`));
    const schedule = learner.state.schedule;
    const scheduled = !/^constant\b/.test(schedule) && schedule !== 'tfjs model.fit';
    const now = formatLr(learner.lr);
    const args = c.args.trim();
    if (args === '') {
      const how = scheduled ? ` It follows the schedule (${schedule}), which sets it every batch.` : '';
      return this.reply(c, `${m.text('lr now ')}${m.code(now)}${m.text(` for ${this.host.runLabel()}.${how}`)}`);
    }
    const value = parseDecimal(args) ?? Number.NaN;
    if (!(value >= LR_RANGE.min && value <= LR_RANGE.max)) {
      const shown = args.length > 40 ? `${JSON.stringify(args.slice(0, 40))}… (${args.length} characters)` : JSON.stringify(args);
      return this.reply(
        c,
        `${m.text(`Not a learning rate: ${shown}. Send /lr followed by a number from ${LR_RANGE.min} to ${LR_RANGE.max}, e.g. `)}${m.code('/lr 3e-4')}${m.text('.')}`,
      );
    }
    if (scheduled)
      return this.reply(
        c,
        m.text(
          `lr not changed: ${this.host.runLabel()} follows a schedule (${schedule}) that sets the lr at every batch, so ${formatLr(value)} would be overwritten at the next one. ` +
            `It is ${now} now. To train at a fixed lr, stop and start again with fit(epochs, { lr }).`,
        ),
      );
    learner.setLr(value);
    return this.reply(
      c,
      `${m.text('lr set to ')}${m.code(formatLr(value))}${m.text(` for ${this.host.runLabel()} from the next batch (was ${now}).`)}`,
    );
  }

  private async reply(c: ForwardedCommand, text: string): Promise<void> {
    await this.send(c, text);
  }

  private send(c: ForwardedCommand, text: string, keyboard?: { text: string; callback_data: string }[][]): Promise<Message> {
    return this.host.paced(() =>
      this.host.api.sendMessage({
        chat_id: c.chat.id,
        text,
        parse_mode: this.host.markup.mode,
        ...replyTo(c),
        ...inThread(c.threadId),
        ...(keyboard ? { reply_markup: { inline_keyboard: keyboard } } : {}),
      }),
    );
  }
}

function replyTo(c: ForwardedCommand): { reply_parameters?: { message_id: number; allow_sending_without_reply: boolean } } {
  return c.replyTo === undefined ? {} : { reply_parameters: { message_id: c.replyTo, allow_sending_without_reply: true } };
}

/** `Ada Lovelace (@ada)`: who pressed a button, for the stop reason. */
function userLabel(user: UserRef): string {
  const name = [user.first_name, user.last_name].filter(Boolean).join(' ') || String(user.id);
  return user.username ? `${name} (@${user.username})` : name;
}
