import { ConfigError, checkNonNegative, type TrainingState } from '@epochcast/core';
import {
  ConfigRejectedError,
  type Notification,
  Notifier,
  type NotifierLimits,
  type NotifierOptions,
  type ScopeRequest,
  type SendContext,
  scopeAuthKey,
  scopeName,
  TransientError,
  type VerifyContext,
} from '@epochcast/notify';
import { type Api, InputFile, type Message, TelegramApiError } from 'node-telegram-bot-api';
import { createApi, describeError, parseChatId, resolveApiRoot, resolveToken } from './client.js';
import { CommandSession } from './command-session.js';
import { TELEGRAM_COMMANDS, type TelegramCommand } from './commands.js';
import { call, toNotifierError } from './errors.js';
import { CommandPermissions } from './permissions.js';
import {
  markupFor,
  type ParseMode,
  renderTelegramCaption,
  TELEGRAM_MAX_CAPTION,
  TELEGRAM_MAX_MESSAGE,
  type TelegramMarkup,
} from './render.js';
import { inThread, RunTopics, resolveTopicSettings } from './topics.js';

export interface TelegramCallbackOptions extends NotifierOptions {
  /** The bot's token from @BotFather. Default `TELEGRAM_BOT_TOKEN`. Never printed. */
  token?: string;
  /**
   * Where messages go: a chat id (`123456789`, a group's `-100…`) or a public `@channelname`.
   * Default `TELEGRAM_CHAT_ID`. Find yours with `epochcast telegram chats`.
   */
  chatId?: number | string;
  /**
   * In a forum group (a group with Topics on), the topic every message goes to: its id, the number
   * after the chat in a link to the topic (`t.me/c/<chat>/<topic id>`). Default `TELEGRAM_THREAD_ID`,
   * else the chat itself (General, in a forum). Commands sent in the topic address this run.
   */
  messageThreadId?: number;
  /**
   * In a forum group, a topic per run: created at the run's first message, named after the run
   * (`⏳ mnist-mlp`), and renamed with the outcome (`✅ mnist-mlp`, `❌ …`, `⏹ …`) and closed with its
   * last message. Commands sent in a run's topic address that run. The bot needs the "Manage topics"
   * administrator right; without it, or in a group that is not a forum, the messages go to the chat
   * itself after one warning. Default false; not with `messageThreadId`.
   */
  topicPerRun?: boolean;
  /** The Bot API server. Default `TELEGRAM_API_ROOT`, else https://api.telegram.org. */
  apiRoot?: string;
  /**
   * Chats whose commands are obeyed. Default: `[chatId]`. Commands from any other chat get no
   * answer. An `@name` (a public group or channel) is looked up once at the start of each fit until
   * found, and stands for that chat from then on, whoever holds the name later.
   */
  allowedChatIds?: readonly (number | string)[];
  /**
   * People who may send commands and press the /stop buttons, by user id, in any allowed chat.
   * Default `TELEGRAM_ALLOWED_USER_IDS` (comma-separated), else everyone in the allowed chats.
   * Anyone else is told once that they may not, and then ignored.
   */
  allowedUserIds?: readonly (number | string)[];
  /**
   * Listen for commands while `fit` runs: `true` (default) for all of /status /plot /stop /lr
   * /quiet /verbose /runs /help, a list to allow only some (e.g. `['status', 'plot']`), `false` for
   * none (this run never polls getUpdates; it still appears in /runs of other runs on the bot).
   */
  commands?: boolean | readonly TelegramCommand[];
  /** `HTML` (default) or `MarkdownV2`; every user-supplied string is escaped for it. */
  parseMode?: ParseMode;
  /**
   * Least time between two messages or edits to the chat, in ms: Telegram allows about one per
   * second per chat and answers 429 beyond. Default 1050: paced by our clock before sending, two
   * requests may still reach Telegram a few ms closer together than they left.
   */
  minSendIntervalMs?: number;
  /** Seconds each getUpdates long poll waits on the server. Default 25. */
  pollTimeoutSec?: number;
}

// Edits that cannot succeed because the message is gone or too old: send a new one instead.
const MESSAGE_GONE = /message to edit not found|message can't be edited|MESSAGE_ID_INVALID|message not found/i;
const NOT_MODIFIED = /message is not modified/i;

/**
 * Training notifications in a Telegram chat, and commands back from it.
 *
 * - start: run name and id, host, parameter count, planned epochs and schedule;
 * - progress: ONE message, edited after each epoch with the table so far (silent: edits never buzz),
 *   and brought to the last epoch with the end when the last edits were coalesced away;
 * - end: a new message (status, duration, best epoch, final table), then the loss plot as a photo;
 * - error: the error, the trimmed stack and the last epochs; interrupt: where it stopped;
 * - alert (`callback.alert(text, { level })`): a new message below the live one, which stays live;
 *   `info` arrives silently, `warning` and `critical` with sound.
 *
 * While `fit` runs it obeys /status, /plot, /stop (asks Yes/No first), /lr [value], /quiet,
 * /verbose, /runs and /help from `allowedChatIds` (and `allowedUserIds`) only (see `CommandSession`).
 */
export class TelegramCallback extends Notifier {
  readonly service = 'telegram';
  readonly limits: NotifierLimits;
  /** Where messages go. */
  readonly chatId: number | string;
  readonly parseMode: ParseMode;
  protected override verifies = 'the bot token';
  /** Holds the token: a private field, out of reach of anything that prints the callback. */
  readonly #api: Api | undefined;
  private readonly permissions: CommandPermissions;
  private readonly enabledCommands: ReadonlySet<TelegramCommand>;
  private readonly pollTimeoutSec: number;
  private readonly markup: TelegramMarkup;
  /** The runs sharing this bot (a sweep) coordinate in this scope: one poller, one send budget. */
  private readonly scopeKey: string;
  /** Derived from the token: what the runs on this bot prove to each other, so no process without the token can command one. */
  readonly #scopeAuthKey: Uint8Array | undefined;
  private botUsername: string | undefined;
  /** When the poller may ask getMe again for a name it still lacks. */
  private nextGetMeAt = 0;
  /** The live progress message of the current run (edited each epoch), by run id. */
  private live: { runId: string; messageId: number; epochs: number } | undefined;
  /** This fit's commands: the poller while this run leads, its answers to what is routed to it. */
  #commands: CommandSession | undefined;
  /** The forum topic the run's messages go to, if any. */
  #topics: RunTopics | undefined;

  constructor(options: TelegramCallbackOptions = {}) {
    super(options);
    const where = 'TelegramCallback';
    this.limits = {
      maxTextLength: TELEGRAM_MAX_MESSAGE,
      images: true,
      minSendIntervalMs: checkNonNegative(where, 'minSendIntervalMs', options.minSendIntervalMs ?? 1050),
    };
    const parseMode = options.parseMode ?? 'HTML';
    if (parseMode !== 'HTML' && parseMode !== 'MarkdownV2')
      throw new ConfigError(`${where}: parseMode must be 'HTML' or 'MarkdownV2'; received ${JSON.stringify(parseMode)}.`);
    this.parseMode = parseMode;
    this.markup = markupFor(parseMode);
    this.pollTimeoutSec = options.pollTimeoutSec ?? 25;
    if (!Number.isInteger(this.pollTimeoutSec) || this.pollTimeoutSec < 1 || this.pollTimeoutSec > 50)
      throw new ConfigError(
        `${where}: pollTimeoutSec must be an integer from 1 to 50; received ${JSON.stringify(options.pollTimeoutSec)}.`,
      );
    this.enabledCommands = commandSet(where, options.commands);
    const topicSettings = resolveTopicSettings(where, options);

    const rawToken = options.token ?? process.env.TELEGRAM_BOT_TOKEN;
    const rawChat = options.chatId ?? (process.env.TELEGRAM_CHAT_ID || undefined);
    // Switched off (`enabled: false`, EPOCHCAST_DISABLE=1, as in CI) a missing setting is no
    // error: the callback stays silent and needs none. A malformed one still is.
    const required = this.enabled || rawToken !== undefined || rawChat !== undefined;
    if (!required) {
      this.chatId = 0;
      this.permissions = new CommandPermissions([], undefined);
      this.#api = undefined;
      this.scopeKey = '';
      return;
    }
    // Registered as given too: the registry also knows it trimmed and by its part after the colon.
    this.registerSecret(typeof rawToken === 'string' ? rawToken : undefined);
    const token = resolveToken(where, options.token);
    if (rawChat === undefined)
      throw new ConfigError(
        `${where}: no chat id. Pass { chatId } or set TELEGRAM_CHAT_ID. To find it: open your bot in Telegram and send it a message ` +
          '(in a group: add the bot, then send /start@<bot name>), then run `epochcast telegram chats` with TELEGRAM_BOT_TOKEN set: ' +
          'it lists the chats that wrote to the bot, with their ids.',
      );
    this.chatId = parseChatId(where, options.chatId !== undefined ? 'chatId' : 'TELEGRAM_CHAT_ID', rawChat);
    this.permissions = CommandPermissions.fromOptions(where, options, this.chatId);
    const apiRoot = resolveApiRoot(where, options.apiRoot);
    this.#api = createApi(token, apiRoot, this.httpFetch, this.options.timeoutMs);
    this.#topics = new RunTopics({
      api: this.#api,
      chatId: this.chatId,
      settings: topicSettings,
      warn: (line) => this.warn(line),
      register: (thread) => {
        this.scopeMembership?.then((membership) => membership?.update({ thread })).catch(() => {});
      },
    });
    // A digest of the token: runs on the same bot meet here, and the token never leaves the process.
    this.scopeKey = scopeName('telegram', apiRoot, token);
    this.#scopeAuthKey = scopeAuthKey('telegram', token);
  }

  /**
   * Runs on one bot share a scope: they list each other (/runs), one of them — the leader — polls
   * getUpdates for all and forwards each command to its run, and their sends share the chat's pace.
   */
  protected override coordination(state: TrainingState): ScopeRequest | undefined {
    const run = this.currentRun;
    if (!this.#api || !run) return undefined;
    this.#commands = new CommandSession({
      api: this.#api,
      markup: this.markup,
      enabled: this.enabledCommands,
      pollTimeoutSec: this.pollTimeoutSec,
      timeoutMs: this.options.timeoutMs,
      minSendIntervalMs: this.limits.minSendIntervalMs ?? 0,
      run,
      state,
      isAllowed: (chat) => this.permissions.isAllowed(chat),
      isAllowedUser: (user) => this.permissions.isAllowedUser(user),
      botUsername: () => this.botUsername,
      learnBotUsername: () => this.learnBotUsername(),
      membership: () => this.scopeMembership,
      setQuiet: (quiet) => {
        this.epochMessagesMuted = quiet;
      },
      warn: (text) => this.warn(text),
      redact: (text) => this.redact(text),
    });
    return { ...this.#commands.scopeRequest(this.scopeKey), authKey: this.#scopeAuthKey };
  }

  protected override async onFitEnding(): Promise<void> {
    await this.#commands?.end();
  }

  protected override onFitEnded(): void {
    this.#commands = undefined;
  }

  /**
   * Whether this run polls Telegram for commands now: of the runs sharing a bot, only the elected
   * leader does, and forwards each command to its run.
   */
  get pollsCommands(): boolean {
    return this.#commands?.polling ?? false;
  }

  /**
   * Checks the token before the first epoch (getMe): Telegram answers an unknown token 401, one of
   * the wrong shape 404. Meanwhile the `@name` entries of allowedChatIds are looked up.
   */
  protected override async verify({ signal }: VerifyContext): Promise<void> {
    const api = this.#api;
    if (!api) return;
    const resolving =
      this.enabledCommands.size > 0 ? this.permissions.resolveNames(api, signal, (line) => this.warn(line)) : Promise.resolve();
    try {
      const me = await api.getMe(signal);
      this.botUsername = me.username;
    } catch (error) {
      await resolving;
      const code = error instanceof TelegramApiError ? error.errorCode : undefined;
      if (code === 401 || code === 404)
        throw new ConfigRejectedError(
          `Telegram rejected the bot token (${describeError(error)}): check TELEGRAM_BOT_TOKEN (or the token option); copy it again from @BotFather.`,
          code,
        );
      const mapped = toNotifierError(error);
      throw mapped instanceof TransientError ? new TransientError(`getMe: ${mapped.message}`) : mapped;
    }
    await resolving;
  }

  /** The bot's @username, asked again (at most every 30 s) when getMe failed at the start. */
  private async learnBotUsername(): Promise<string | undefined> {
    if (this.botUsername || !this.#api || Date.now() < this.nextGetMeAt) return this.botUsername;
    this.nextGetMeAt = Date.now() + 30_000;
    try {
      this.botUsername = (await this.#api.getMe(AbortSignal.timeout(Math.min(this.options.timeoutMs, 5000)))).username;
    } catch {
      // Still unknown: addressed commands stay unanswered, and the poller has said why.
    }
    return this.botUsername;
  }

  // ---- sending -------------------------------------------------------------------------------

  protected async send(n: Notification, context: SendContext): Promise<void> {
    const api = this.#api;
    if (!api) return;
    if (n.event === 'epoch') return this.sendLive(api, n, context);
    if (n.event === 'end' || n.event === 'error' || n.event === 'interrupt')
      await context.optionalStep('the last epoch in the live message', () => this.finishLive(api, n, context));
    const hint = n.event === 'start' && this.enabledCommands.size > 0 ? this.commandsHint() : '';
    const text = this.text(context, hint);
    // An info alert is for reading later; every other message is worth the phone's sound.
    const silent = n.alert?.level === 'info' ? { disable_notification: true } : {};
    await context.step('text', async () =>
      this.post(n, context, (where) =>
        api.sendMessage({ chat_id: this.chatId, text, parse_mode: this.parseMode, ...silent, ...where }, context.signal),
      ),
    );
    const plot = n.plot;
    if (plot)
      await context.optionalStep('the loss plot', async () => {
        const png = await plot.png();
        // The photo is a second request to the same chat: it keeps the chat's 1-per-second pace too.
        await context.pace();
        await this.post(n, context, (where) =>
          api.sendPhoto(
            {
              chat_id: this.chatId,
              photo: new InputFile(png, { filename: 'losses.png', contentType: 'image/png' }),
              caption: renderTelegramCaption(n, { parseMode: this.parseMode, maxLength: TELEGRAM_MAX_CAPTION }),
              parse_mode: this.parseMode,
              // The text above already buzzed the phone; one buzz per event.
              disable_notification: true,
              ...where,
            },
            context.signal,
          ),
        );
      });
    if (n.event === 'end' || n.event === 'error' || n.event === 'interrupt') await this.#topics?.finish(n, context);
  }

  /**
   * Sends in the run's topic (creating it first when the run has its own); when the topic is gone
   * or closed, again in the chat itself.
   */
  private async post(
    n: Notification,
    context: SendContext,
    request: (where: { message_thread_id?: number }) => Promise<Message>,
  ): Promise<Message> {
    const topics = this.#topics;
    const threadId = await topics?.threadFor(n.run, context);
    let sent: Message;
    try {
      sent = await request(inThread(threadId));
    } catch (error) {
      if (!topics?.lost(error)) throw toNotifierError(error);
      sent = await call(() => request({}));
    }
    topics?.sent(sent);
    return sent;
  }

  /** Epoch progress: edit the run's live message, or start one (silently: progress should not buzz). */
  private async sendLive(api: Api, n: Notification, context: SendContext): Promise<void> {
    const text = this.text(context, '');
    const live = this.live?.runId === n.run.id ? this.live : undefined;
    if (live && (await this.editLive(api, live, text, context))) {
      live.epochs = n.history.length;
      return;
    }
    const sent = await this.post(n, context, (where) =>
      api.sendMessage({ chat_id: this.chatId, text, parse_mode: this.parseMode, disable_notification: true, ...where }, context.signal),
    );
    this.live = { runId: n.run.id, messageId: sent.message_id, epochs: n.history.length };
  }

  /**
   * With the run's end: the live message brought to the last epoch when the edits of the last
   * epochs were coalesced away (the end superseded them behind a slow chat), so that it never
   * ends on a stale epoch. Then the end message waits its turn on the chat's pace.
   */
  private async finishLive(api: Api, n: Notification, context: SendContext): Promise<void> {
    const live = this.live?.runId === n.run.id ? this.live : undefined;
    if (!live || live.epochs >= n.history.length) return;
    const [text = ''] = context.epochMessages(this.markup);
    if (await this.editLive(api, live, text, context)) live.epochs = n.history.length;
    await context.pace();
  }

  /** Edits the live message; false when it is gone (deleted, or too old to edit). */
  private async editLive(api: Api, live: { messageId: number }, text: string, context: SendContext): Promise<boolean> {
    try {
      await api.editMessageText({ chat_id: this.chatId, message_id: live.messageId, text, parse_mode: this.parseMode }, context.signal);
      return true;
    } catch (error) {
      const description = error instanceof TelegramApiError ? error.description : '';
      // The same text again (a retried edit that had landed): done.
      if (NOT_MODIFIED.test(description)) return true;
      if (!MESSAGE_GONE.test(description)) throw toNotifierError(error);
      return false;
    }
  }

  /** One message per event (one buzz, and the live message stays one editable message); `hint` (escaped) appended. */
  private text(context: SendContext, hint: string): string {
    const [text = ''] = context.messages(this.markup, { reserve: hint ? hint.length + 2 : 0 });
    return hint ? `${text}\n\n${hint}` : text;
  }

  private commandsHint(): string {
    const shown = TELEGRAM_COMMANDS.filter((c) => c !== 'verbose' && this.enabledCommands.has(c));
    return this.markup.text(`Reply ${shown.map((c) => `/${c}`).join(' ')}`);
  }
}

function commandSet(where: string, commands: TelegramCallbackOptions['commands']): ReadonlySet<TelegramCommand> {
  if (commands === undefined || commands === true) return new Set(TELEGRAM_COMMANDS);
  if (commands === false) return new Set();
  if (Array.isArray(commands) && commands.every((c) => (TELEGRAM_COMMANDS as readonly string[]).includes(c))) return new Set(commands);
  throw new ConfigError(
    `${where}: commands must be true, false or a list from ${TELEGRAM_COMMANDS.join(', ')}; received ${JSON.stringify(commands)}.`,
  );
}
