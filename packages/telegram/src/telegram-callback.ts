import { ConfigError, formatLr, type TrainingState } from '@epochcast/core';
import {
  type Notification,
  Notifier,
  type NotifierLimits,
  type NotifierLogger,
  type NotifierOptions,
  PermanentError,
  RateLimitError,
  type RunInfo,
  type ScopeMessage,
  type ScopeRequest,
  type SendContext,
  scopeName,
  TransientError,
} from '@epochcast/notify';
import { type Api, type Chat, InputFile, NetworkError, ParseError, TelegramApiError, TimeoutError } from 'node-telegram-bot-api';
import { createApi, describeError, parseChatId, resolveApiRoot, resolveToken, TelegramConfigError } from './client.js';
import { CommandPoller, commandMenu, type RunDirectory, RunsUnavailable, TELEGRAM_COMMANDS, type TelegramCommand } from './commands.js';
import {
  type TelegramMarkup as Markup,
  markupFor,
  type ParseMode,
  renderTelegramCaption,
  renderTelegramHtml,
  renderTelegramMarkdownV2,
  TELEGRAM_MAX_CAPTION,
  TELEGRAM_MAX_MESSAGE,
} from './render.js';
import { type ChatRef, parseForwarded } from './routing.js';
import { RunCommands } from './run-commands.js';

export interface TelegramCallbackOptions extends NotifierOptions {
  /** The bot's token from @BotFather. Default `TELEGRAM_BOT_TOKEN`. Never printed. */
  token?: string;
  /**
   * Where messages go: a chat id (`123456789`, a group's `-100…`) or a public `@channelname`.
   * Default `TELEGRAM_CHAT_ID`. Find yours with `epochcast telegram chats`.
   */
  chatId?: number | string;
  /** The Bot API server. Default `TELEGRAM_API_ROOT`, else https://api.telegram.org. */
  apiRoot?: string;
  /** Chats whose commands are obeyed. Default: `[chatId]`. Commands from any other chat get no answer. */
  allowedChatIds?: readonly (number | string)[];
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

const stderrLogger: NotifierLogger = { warn: (line) => process.stderr.write(`${line}\n`) };

// Edits that cannot succeed because the message is gone or too old: send a new one instead.
const MESSAGE_GONE = /message to edit not found|message can't be edited|MESSAGE_ID_INVALID|message not found/i;
const NOT_MODIFIED = /message is not modified/i;

/**
 * Training notifications in a Telegram chat, and commands back from it.
 *
 * - start: run name and id, host, parameter count, planned epochs and schedule;
 * - progress: ONE message, edited after each epoch with the table so far (silent: edits never buzz);
 * - end: a new message (status, duration, best epoch, final table), then the loss plot as a photo;
 * - error: the error, the trimmed stack and the last epochs; interrupt: where it stopped.
 *
 * While `fit` runs it long-polls getUpdates and obeys /status, /plot, /stop (asks Yes/No first),
 * /lr [value], /quiet, /verbose and /help from `allowedChatIds` only.
 */
export class TelegramCallback extends Notifier {
  readonly service = 'telegram';
  readonly limits: NotifierLimits;
  /** Where messages go. */
  readonly chatId: number | string;
  readonly parseMode: ParseMode;
  private readonly api: Api | undefined;
  private readonly allowed: ReadonlySet<string>;
  private readonly enabledCommands: ReadonlySet<TelegramCommand>;
  private readonly pollTimeoutSec: number;
  private readonly warnings: NotifierLogger;
  private readonly markup: Markup;
  private botUsername: string | undefined;
  /** The live progress message of the current run (edited each epoch), by run id. */
  private live: { runId: string; messageId: number } | undefined;
  /** The run of the latest message, so replies to commands name it with the same id. */
  private lastRun: RunInfo | undefined;
  /** The runs sharing this bot (a sweep) coordinate in this scope: one poller, one send budget. */
  private readonly scopeKey: string;
  /** This run's answers to the commands routed to it, while its fit runs. */
  private runCommands: RunCommands | undefined;
  /** The getUpdates poller, while this run is the leader of the runs sharing the bot. */
  private poller: CommandPoller | undefined;
  private fitEnding = false;
  /** How far a multi-part send (text, then photo) got, so a retry does not repeat the text. */
  private readonly progress = new WeakMap<Notification, 'text'>();

  constructor(options: TelegramCallbackOptions = {}) {
    super(options);
    const where = 'TelegramCallback';
    this.warnings = options.logger ?? stderrLogger;
    const interval = options.minSendIntervalMs ?? 1050;
    if (typeof interval !== 'number' || !(interval >= 0) || !Number.isFinite(interval))
      throw new ConfigError(`${where}: minSendIntervalMs must be a finite number >= 0; received ${JSON.stringify(interval)}.`);
    this.limits = {
      maxTextLength: TELEGRAM_MAX_MESSAGE,
      maxCaptionLength: TELEGRAM_MAX_CAPTION,
      images: true,
      edits: true,
      minSendIntervalMs: interval,
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

    const rawToken = options.token ?? process.env.TELEGRAM_BOT_TOKEN;
    const rawChat = options.chatId ?? (process.env.TELEGRAM_CHAT_ID || undefined);
    // Switched off (`enabled: false`, EPOCHCAST_DISABLE=1, as in CI) a missing setting is no
    // error: the callback stays silent and needs none. A malformed one still is.
    const required = this.enabled || rawToken !== undefined || rawChat !== undefined;
    if (!required) {
      this.chatId = 0;
      this.allowed = new Set();
      this.api = undefined;
      this.scopeKey = '';
      return;
    }
    const token = asConfigError(() => resolveToken(where, options.token));
    this.registerSecret(token, token.split(':')[1]);
    if (rawChat === undefined)
      throw new ConfigError(
        `${where}: no chat id. Pass { chatId } or set TELEGRAM_CHAT_ID. To find it: open your bot in Telegram and send it a message ` +
          '(in a group: add the bot, then send /start@<bot name>), then run `epochcast telegram chats` with TELEGRAM_BOT_TOKEN set: ' +
          'it lists the chats that wrote to the bot, with their ids.',
      );
    this.chatId = asConfigError(() => parseChatId(where, 'chatId', rawChat));
    const allowedIds = options.allowedChatIds ?? [this.chatId];
    if (!Array.isArray(allowedIds))
      throw new ConfigError(`${where}: allowedChatIds must be a list of chat ids; received ${JSON.stringify(allowedIds)}.`);
    this.allowed = new Set(allowedIds.map((id) => String(asConfigError(() => parseChatId(where, 'allowedChatIds', id))).toLowerCase()));
    const apiRoot = asConfigError(() => resolveApiRoot(where, options.apiRoot));
    this.api = createApi(token, apiRoot, this.options.timeoutMs);
    // A digest of the token: runs on the same bot meet here, and the token never leaves the process.
    this.scopeKey = scopeName('telegram', apiRoot, token);
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  override async onTrainBegin(state: TrainingState): Promise<void> {
    this.fitEnding = false;
    await super.onTrainBegin(state);
  }

  /**
   * Runs on one bot share a scope: they list each other (/runs), one of them — the leader — polls
   * getUpdates for all and forwards each command to its run, and their sends share the chat's pace.
   * (The base asks on rank 0 only, and never during lrFind.)
   */
  protected override coordination(state: TrainingState): ScopeRequest | undefined {
    const run = this.currentRun;
    if (!this.api || !run) return undefined;
    const listening = this.enabledCommands.size > 0;
    this.runCommands = listening ? this.commandsOfRun(this.api, run.id, state) : undefined;
    return {
      scope: this.scopeKey,
      onMessage: (message) => this.onForwarded(message),
      ...(listening ? { leadership: { onElected: () => this.lead(state), onDeposed: () => void this.stopPolling() } } : {}),
    };
  }

  /** The runs sharing the bot, as the poller sees them (the membership may be elected before `join` resolves). */
  private directory(): RunDirectory {
    const joining = this.scopeMembership;
    return {
      runs: async () => {
        const membership = await joining;
        if (!membership) return [];
        return membership.runs().catch((error: unknown) => {
          throw new RunsUnavailable(error instanceof Error ? error.message : String(error));
        });
      },
      sendTo: async (runId, message) => (await joining)?.sendTo(runId, message) ?? false,
    };
  }

  override async onTrainEnd(state: TrainingState): Promise<void> {
    this.fitEnding = true;
    try {
      await this.stopPolling();
    } finally {
      try {
        // Until the run leaves (after its last messages), it still answers what is routed to it.
        await super.onTrainEnd(state);
      } finally {
        this.runCommands = undefined;
      }
    }
  }

  /**
   * Whether this run polls Telegram for commands now: of the runs sharing a bot, only the elected
   * leader does, and forwards each command to its run.
   */
  get pollsCommands(): boolean {
    return this.poller !== undefined;
  }

  /** Elected leader of the runs on this bot: poll getUpdates for all of them. */
  private lead(state: TrainingState): void {
    const api = this.api;
    if (this.fitEnding || this.poller || !api) return;
    this.poller = new CommandPoller({
      api,
      markup: this.markup,
      enabled: this.enabledCommands,
      directory: this.directory(),
      startedAtSec: Math.floor(state.startedAt / 1000),
      pollTimeoutSec: this.pollTimeoutSec,
      isAllowed: (chat) => this.isAllowed(chat),
      botUsername: () => this.botUsername,
      warn: (line) => this.warnings.warn(this.redact(line)),
      paced: (request) => this.paced(request),
    });
    this.poller.start();
    // The command menu Telegram shows when the user types "/". Best effort: it is a nicety.
    api.setMyCommands({ commands: commandMenu(this.enabledCommands) }, AbortSignal.timeout(this.options.timeoutMs)).catch(() => {});
  }

  private async stopPolling(): Promise<void> {
    const poller = this.poller;
    this.poller = undefined;
    await poller?.stop();
  }

  private commandsOfRun(api: Api, runId: string, state: TrainingState): RunCommands {
    return new RunCommands({
      api,
      markup: this.markup,
      runId,
      enabled: this.enabledCommands,
      learner: state.learner,
      isAllowed: (chat) => this.isAllowed(chat),
      runLabel: () => this.runLabel(state),
      statusText: () => this.statusText(state),
      plotCaption: () => this.plotCaption(state),
      setQuiet: (quiet) => {
        this.epochMessagesMuted = quiet;
      },
      warn: (line) => this.warnings.warn(this.redact(line)),
      paced: (request) => this.paced(request),
    });
  }

  /**
   * A reply to a command goes at once (someone is waiting for it) but books a slot on the budget the
   * runs on this bot share, so their own messages make room; a 429 is waited out once, briefly.
   */
  private async paced<T>(request: () => Promise<T>): Promise<T> {
    const gap = this.limits.minSendIntervalMs ?? 0;
    if (gap > 0) void this.scopeMembership?.then((membership) => membership?.reserve(gap)).catch(() => {});
    try {
      return await request();
    } catch (error) {
      if (!(error instanceof TelegramApiError && error.errorCode === 429)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min((error.retryAfter ?? 1) * 1000, 10_000)));
      return request();
    }
  }

  /** A command or button press routed to this run by the leader's poller (maybe this run's own). */
  private onForwarded(message: ScopeMessage): void {
    const forwarded = parseForwarded(message);
    const handler = this.runCommands;
    if (!forwarded || !handler) return;
    const handled = forwarded.kind === 'command' ? handler.command(forwarded) : handler.button(forwarded);
    handled.catch((error: unknown) =>
      this.warnings.warn(this.redact(`epochcast telegram: could not answer a command: ${describeError(error)}`)),
    );
  }

  /** Fails the run before its first epoch when Telegram rejects the token (getMe). */
  protected override async verify({ signal }: SendContext): Promise<void> {
    if (!this.api) return;
    try {
      const me = await this.api.getMe(signal);
      this.botUsername = me.username;
    } catch (error) {
      const code = error instanceof TelegramApiError ? error.errorCode : undefined;
      // Telegram answers an unknown token 401, and a token of the wrong shape 404.
      if (code === 401 || code === 404)
        throw new PermanentError(
          `Telegram rejected the bot token (${describeError(error)}): check TELEGRAM_BOT_TOKEN (or the token option); copy it again from @BotFather.`,
          code,
        );
      // Unreachable or overloaded now is no reason to cancel a run: the queue retries each message.
      this.warnings.warn(
        this.redact(`epochcast telegram: could not check the bot token (getMe: ${describeError(error)}); training goes on`),
      );
    }
  }

  // ---- sending -------------------------------------------------------------------------------

  protected async send(n: Notification, { signal }: SendContext): Promise<void> {
    const api = this.api;
    if (!api) return;
    this.lastRun = n.run;
    if (n.event === 'epoch') return this.sendLive(api, n, signal);
    if (this.progress.get(n) !== 'text') {
      const text = this.render(n, n.event === 'start' && this.enabledCommands.size > 0 ? this.commandsHint() : '');
      await call(() => api.sendMessage({ chat_id: this.chatId, text, parse_mode: this.parseMode }, signal));
      this.progress.set(n, 'text');
    }
    if (!n.plot) return;
    const png = await n.plot.png();
    // The photo is a second request to the same chat: it keeps the chat's 1-per-second pace too.
    await this.spaceSends(signal);
    try {
      await call(() =>
        api.sendPhoto(
          {
            chat_id: this.chatId,
            photo: new InputFile(png, { filename: 'losses.png', contentType: 'image/png' }),
            caption: renderTelegramCaption(n, { parseMode: this.parseMode, maxLength: TELEGRAM_MAX_CAPTION }),
            parse_mode: this.parseMode,
            // The text above already buzzed the phone; one buzz per event.
            disable_notification: true,
          },
          signal,
        ),
      );
    } catch (error) {
      if (!(error instanceof PermanentError)) throw error;
      // The message itself got through; a refused photo is worth a warning, not a failed end.
      this.warnings.warn(this.redact(`epochcast telegram: the loss plot was refused (${error.message}); the ${n.event} message was sent`));
    }
  }

  /** Epoch progress: edit the run's live message, or start one (silently: progress should not buzz). */
  private async sendLive(api: Api, n: Notification, signal: AbortSignal): Promise<void> {
    const text = this.render(n, '');
    const live = this.live?.runId === n.run.id ? this.live : undefined;
    if (live) {
      try {
        await api.editMessageText({ chat_id: this.chatId, message_id: live.messageId, text, parse_mode: this.parseMode }, signal);
        return;
      } catch (error) {
        const description = error instanceof TelegramApiError ? error.description : '';
        // The same text again (a retried edit that had landed): done.
        if (NOT_MODIFIED.test(description)) return;
        if (!MESSAGE_GONE.test(description)) throw toNotifierError(error);
        // Deleted from the chat, or too old to edit: carry on in a new message.
      }
    }
    const sent = await call(() =>
      api.sendMessage({ chat_id: this.chatId, text, parse_mode: this.parseMode, disable_notification: true }, signal),
    );
    this.live = { runId: n.run.id, messageId: sent.message_id };
  }

  /** One message in the parse mode, `suffix` (already escaped) appended within the 4096 limit. */
  private render(n: Notification, suffix: string): string {
    const maxLength = TELEGRAM_MAX_MESSAGE - (suffix ? suffix.length + 2 : 0);
    const render = this.parseMode === 'HTML' ? renderTelegramHtml : renderTelegramMarkdownV2;
    // One message per event: one buzz, and the live message stays a single editable message.
    const text = render(n, { maxLength, maxMessages: 1 })[0] ?? '';
    return suffix ? `${text}\n\n${suffix}` : text;
  }

  private commandsHint(): string {
    const shown = TELEGRAM_COMMANDS.filter((c) => c !== 'verbose' && this.enabledCommands.has(c));
    return this.markup.text(`Reply ${shown.map((c) => `/${c}`).join(' ')}`);
  }

  // ---- replies to commands -------------------------------------------------------------------

  private isAllowed(chat: Chat | ChatRef): boolean {
    if (this.allowed.has(String(chat.id))) return true;
    return chat.username !== undefined && this.allowed.has(`@${chat.username}`.toLowerCase());
  }

  /** The run as the messages name it; between fits (a late command), the last one seen. */
  private runFor(): RunInfo | undefined {
    return this.currentRun ?? this.lastRun;
  }

  private runLabel(_state: TrainingState): string {
    const run = this.runFor();
    if (!run) return 'this run';
    return this.redact(`${run.name} (${run.id})`);
  }

  private statusText(state: TrainingState): string {
    const m = this.markup;
    const live = state.learner.state;
    const run = this.runFor();
    const history = [...state.learner.recorder.history];
    const elapsed = Math.round((Date.now() - live.startedAt) / 1000);
    const epoch = `epoch ${live.epoch + 1}/${live.totalEpochs}`;
    const where =
      live.status !== 'running'
        ? live.status
        : history.at(-1)?.epoch === live.epoch
          ? `${epoch} done`
          : live.training
            ? `${epoch}, batch ${live.batch + 1}/${live.numBatches}`
            : `${epoch}, validating`;
    const loss = Number.isFinite(live.smoothLoss) ? ` · loss ${live.smoothLoss.toPrecision(4)}` : '';
    const now = `📊 ${this.runLabel(state)} · ${where}${loss} · lr ${formatLr(live.lr)} · ${elapsed}s in`;
    if (history.length === 0 || !run) return `${m.bold(now)}\n${m.text('No epoch has finished yet.')}`;
    const head = `${m.bold(now)}\n\n`;
    const n: Notification = {
      event: 'epoch',
      run,
      stats: history.at(-1),
      history,
      metricNames: [...state.learner.metricNames],
      durationMs: Date.now() - live.startedAt,
      status: 'running',
    };
    const render = this.parseMode === 'HTML' ? renderTelegramHtml : renderTelegramMarkdownV2;
    const body = render(n, { maxLength: TELEGRAM_MAX_MESSAGE - head.length, maxMessages: 1 })[0] ?? '';
    return this.redact(head + body);
  }

  private plotCaption(state: TrainingState): string {
    const live = state.learner.state;
    const caption = `Loss so far · ${this.runLabel(state)} · epoch ${live.epoch + 1}/${live.totalEpochs}`;
    return this.markup.text(caption.slice(0, 900));
  }
}

/** The shared setting checks (they avoid core, for the CLI) raise core's ConfigError here, like every other option. */
function asConfigError<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof TelegramConfigError) throw new ConfigError(error.message);
    throw error;
  }
}

/** Runs one Bot API call, its failure mapped onto the Notifier base's error kinds. */
async function call<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw toNotifierError(error);
  }
}

/**
 * 429 → RateLimitError (exactly `retry_after`), 5xx and unreachable → TransientError (retried with
 * backoff), any other API error (400 bad request or chat not found, 401, 403 blocked, 404) →
 * PermanentError (not retried). Hints say how to fix the usual ones.
 */
export function toNotifierError(error: unknown): Error {
  if (error instanceof TelegramApiError) {
    const code = error.errorCode;
    const message = `${code} ${error.description}`;
    if (code === 429) return new RateLimitError((error.retryAfter ?? 1) * 1000, message);
    if (code >= 500) return new TransientError(message, code);
    if (/chat not found/i.test(error.description))
      return new PermanentError(
        `${message}: the bot can write to a chat only after someone there messaged it; see \`epochcast telegram chats\``,
        code,
      );
    if (code === 403) return new PermanentError(`${message}: the bot was blocked, removed from the chat, or may not post there`, code);
    if (code === 401) return new PermanentError(`${message}: the bot token was rejected`, code);
    return new PermanentError(message, code);
  }
  if (error instanceof NetworkError || error instanceof TimeoutError || error instanceof ParseError)
    return new TransientError(describeError(error), undefined, { cause: error });
  return error instanceof Error ? error : new Error(String(error));
}

function commandSet(where: string, commands: TelegramCallbackOptions['commands']): ReadonlySet<TelegramCommand> {
  if (commands === undefined || commands === true) return new Set(TELEGRAM_COMMANDS);
  if (commands === false) return new Set();
  if (Array.isArray(commands) && commands.every((c) => (TELEGRAM_COMMANDS as readonly string[]).includes(c))) return new Set(commands);
  throw new ConfigError(
    `${where}: commands must be true, false or a list from ${TELEGRAM_COMMANDS.join(', ')}; received ${JSON.stringify(commands)}.`,
  );
}
