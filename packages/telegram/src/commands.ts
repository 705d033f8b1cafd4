/**
 * Talking back: Telegram allows one getUpdates poller per bot, so of all the runs sharing a bot
 * only the leader (elected through the runs' shared scope) polls. Its poller answers /runs and
 * /help itself and forwards every other command to the run it names — or, when the user named
 * none and several runs are active, asks which with a keyboard. A poller lives while its run leads
 * and its fit runs, so no timer or socket outlives `fit` and the process is free to exit.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunRecord, ScopeMessage } from '@epochcast/notify';
import { type Api, type CallbackQuery, type Chat, longPoll, type Message, TelegramApiError, type Update } from 'node-telegram-bot-api';
import { describeError } from './client.js';
import { helpText, runsText, type TelegramCommand } from './command-texts.js';
import type { TelegramMarkup as Markup } from './render.js';
import {
  chatRef,
  type Forwarded,
  isRunCommand,
  MAX_BUTTON_ARG,
  parseButtonData,
  pickButtonData,
  type RunCommand,
  selectRun,
  splitSelector,
  type UserRef,
  userRef,
} from './routing.js';
import { inThread, topicKey, topicOf } from './topics.js';

export { commandMenu, TELEGRAM_COMMANDS, type TelegramCommand } from './command-texts.js';

// Backoff while another process polls the bot (409): never a tight loop.
const CONFLICT_BACKOFF_MS = [2000, 5000, 10_000, 30_000];

/** The runs sharing the bot could not be listed: their coordination does not answer for the moment. */
export class RunsUnavailable extends Error {}

/** How the poller reaches the runs sharing the bot (the scope membership). */
export interface RunDirectory {
  runs(): Promise<RunRecord[]>;
  sendTo(runId: string, message: ScopeMessage): Promise<boolean>;
}

/** What the leader's poller needs from the TelegramCallback that owns it. */
export interface PollerHost {
  readonly api: Api;
  readonly markup: Markup;
  readonly enabled: ReadonlySet<TelegramCommand>;
  readonly directory: RunDirectory;
  /** Unix seconds when this run's fit began: earlier messages were not meant for the runs of now. */
  readonly startedAtSec: number;
  readonly pollTimeoutSec: number;
  isAllowed(chat: Chat): boolean;
  /** Whether this user may command the runs (`allowedUserIds`; everyone in an allowed chat when unset). */
  isAllowedUser(user: UserRef | undefined): boolean;
  botUsername(): string | undefined;
  /** Asks Telegram for the bot's @username again when it is not known yet (getMe failed at the start). */
  learnBotUsername(): Promise<string | undefined>;
  /** One warning (the host prefixes `epochcast telegram:` and redacts it). */
  warn(line: string): void;
  /** Sends a reply: at once, but counted on the chat's shared budget, and retried once after a 429. */
  paced<T>(request: () => Promise<T>): Promise<T>;
}

/** The leader's long poll: receives every command for every run of the bot and routes it. */
export class CommandPoller {
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private lastUpdateId: number | undefined;
  private conflicts = 0;
  private conflictLogged = false;
  /** Users already told they may not command the runs: told once, then ignored. */
  private readonly refused = new Set<number | undefined>();
  private unknownNameLogged = false;

  constructor(private readonly host: PollerHost) {}

  start(): void {
    this.loop = this.run();
  }

  /** Ends the long poll (aborting the pending request) and waits for the command being handled, at most `boundMs`. */
  async stop(boundMs = 5000): Promise<void> {
    this.abort.abort();
    if (!this.loop) return;
    const bound = new AbortController();
    await Promise.race([this.loop, sleep(boundMs, undefined, { signal: bound.signal }).catch(() => {})]);
    bound.abort();
    await this.confirmHandled();
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        await this.pollUntilError(signal);
        return;
      } catch (error) {
        if (signal.aborted) return;
        if (!(error instanceof TelegramApiError && error.errorCode === 409)) {
          this.host.warn(`stopped listening for commands: ${describeError(error)} (messages are still sent)`);
          return;
        }
        if (/webhook/i.test(error.description)) {
          this.host.warn(
            'this bot has a webhook set, so no run can receive commands (messages are still sent). Delete the webhook to use /status, /stop, ….',
          );
          return;
        }
        // Someone else polls: the moment of a hand-over between runs, or a process outside this
        // sweep's coordination (another machine without EPOCHCAST_REDIS_URL, another bot program).
        // Telegram gives the bot to the newest poller; wait, ever longer, and try again.
        const wait = CONFLICT_BACKOFF_MS[Math.min(this.conflicts, CONFLICT_BACKOFF_MS.length - 1)] ?? 30_000;
        this.conflicts += 1;
        if (this.conflicts >= 2 && !this.conflictLogged) {
          this.conflictLogged = true;
          this.host.warn(
            'another process keeps polling this bot (409 Conflict), so commands may go there; ' +
              'runs on several machines coordinate through EPOCHCAST_REDIS_URL. This run still sends its messages and retries now and then.',
          );
        }
        // A stop during the wait ends it early; the loop then sees the abort.
        await sleep(wait, undefined, { signal }).catch(() => {});
      }
    }
  }

  private async pollUntilError(signal: AbortSignal): Promise<void> {
    for await (const update of longPoll(
      this.host.api,
      {
        timeout: this.host.pollTimeoutSec,
        allowedUpdates: ['message', 'callback_query'],
        retryDelayMs: 2000,
        ...(this.lastUpdateId !== undefined ? { offset: this.lastUpdateId + 1 } : {}),
      },
      signal,
    )) {
      this.lastUpdateId = update.update_id;
      this.conflicts = 0;
      try {
        await this.handle(update);
      } catch (error) {
        this.host.warn(`could not answer a command: ${describeError(error)}`);
      }
    }
  }

  /**
   * Tells Telegram the updates handled so far are done (getUpdates with the next offset), so the
   * next leader or `epochcast telegram chats` does not see them again. Best effort, 2 s at most.
   */
  private async confirmHandled(): Promise<void> {
    if (this.lastUpdateId === undefined || this.conflicts > 0) return;
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
      this.host.warn(`ignored a command from chat ${message.chat.id} (${message.chat.type}), which is not in allowedChatIds`);
      return;
    }
    if (message.date < this.host.startedAtSec) return; // sent before this fit began: not meant for it
    const match = /^\/([A-Za-z0-9_]+)(?:@([A-Za-z0-9_]+))?(?:\s+([\s\S]*))?$/.exec(text.trim());
    if (!match) return;
    const [, rawName = '', addressee, rawArgs = ''] = match;
    if (addressee && !(await this.addressedToUs(addressee))) return;
    if (!this.host.isAllowedUser(senderOf(message))) return this.refuse(message);
    try {
      await this.command(message, rawName.toLowerCase(), rawArgs);
    } catch (error) {
      if (!(error instanceof RunsUnavailable)) throw error;
      await this.reply(message, this.host.markup.text('The runs sharing this bot cannot be reached just now; try again in a moment.'));
    }
  }

  /**
   * In a group, `/status@otherbot` is for another bot. While this bot's own name is unknown (getMe
   * failed), no addressed command can be told apart from one for another bot: none is obeyed.
   */
  private async addressedToUs(addressee: string): Promise<boolean> {
    const bot = this.host.botUsername() ?? (await this.host.learnBotUsername());
    if (bot) return addressee.toLowerCase() === bot.toLowerCase();
    if (!this.unknownNameLogged) {
      this.unknownNameLogged = true;
      this.host.warn(
        `ignored a command addressed to @${addressee}: this bot's own @username is unknown (getMe did not answer), so it cannot tell its commands from another bot's. ` +
          'Commands without @name are still obeyed.',
      );
    }
    return false;
  }

  /** A user not in allowedUserIds: one polite answer per user while this run polls, then silence. */
  private async refuse(message: Message): Promise<void> {
    const id = message.from?.id;
    if (this.refused.has(id)) return;
    this.refused.add(id);
    this.host.warn(`ignored a command from user ${id ?? '(none)'} in chat ${message.chat.id}, who is not in allowedUserIds`);
    await this.reply(message, this.host.markup.text('Sorry, only the users in allowedUserIds may command the runs on this bot.'));
  }

  private async command(message: Message, name: string, rawArgs: string): Promise<void> {
    const { markup: m, enabled, directory } = this.host;
    if (name === 'start' || name === 'help') return this.reply(message, helpText(m, enabled, await directory.runs().catch(() => [])));
    if (name === 'runs' && enabled.has('runs')) return this.reply(message, runsText(m, await directory.runs()));
    if (!isRunCommand(name))
      return this.reply(
        message,
        `${m.text(`Unknown command /${name}.`)}\n\n${helpText(m, enabled, await directory.runs().catch(() => []))}`,
      );
    return this.route({ chat: message.chat, replyTo: message.message_id, threadId: topicOf(message) }, senderOf(message), name, rawArgs);
  }

  /**
   * Forwards `command` to the run its arguments name, or asks which run when that is not clear.
   * Sent in a run's forum topic without naming one, it is for the run(s) of that topic.
   */
  private async route(at: Place, from: UserRef | undefined, command: RunCommand, rawArgs: string): Promise<void> {
    const m = this.host.markup;
    const { chat, replyTo, threadId } = at;
    const runs = await this.host.directory.runs();
    const { selector, rest: args } = splitSelector(command, rawArgs, runs);
    // Runs sending their last messages still answer when named, but are not offered or guessed.
    const training = runs.filter((r) => (r.status ?? 'running') === 'running');
    const inTopic = threadId === undefined ? [] : runs.filter((r) => r.thread === topicKey(chat.id, threadId));
    const selection =
      !selector && inTopic.length > 0 ? selectRun(inTopic, '') : selectRun(selector || training.length === 0 ? runs : training, selector);
    if (selection.kind === 'none') {
      const why = selector ? `No active run matches ${JSON.stringify(selector.slice(0, 40))}.` : 'No run is active.';
      return this.sendTo(at, m.text(`${why} /runs lists the active runs.`));
    }
    if (selection.kind === 'several') {
      const question = selector
        ? `Several runs match ${JSON.stringify(selector.slice(0, 40))}: which one?`
        : `${selection.runs.length} runs are active: /${command} for which one?`;
      if (args.length > MAX_BUTTON_ARG)
        return this.sendTo(at, m.text(`${question} Send /${command} <run> ${args.slice(0, 40)}… with a shorter value.`));
      await this.sendTo(at, m.text(question), pickKeyboard(selection.runs, command, args));
      return;
    }
    const forwarded: Forwarded = { kind: 'command', command, args, chat: chatRef(chat), from, replyTo, ...inTopicOf(threadId) };
    if (!(await this.host.directory.sendTo(selection.run.id, { ...forwarded })))
      await this.sendTo(at, m.text(`${selection.run.name} (${selection.run.id}) has just ended. /runs lists the active runs.`));
  }

  private async onButton(query: CallbackQuery): Promise<void> {
    const data = parseButtonData(query.data ?? '');
    const message = query.message;
    if (!data || !message) return;
    const { api, markup: m } = this.host;
    if (!this.host.isAllowed(message.chat)) {
      this.host.warn(`ignored a button press from chat ${message.chat.id} (${message.chat.type}), which is not in allowedChatIds`);
      return;
    }
    const from = userRef(query.from);
    if (!this.host.isAllowedUser(from)) {
      // Only the presser sees this answer: no noise in the chat, however often they press.
      await api.answerCallbackQuery({
        callback_query_id: query.id,
        text: 'Only the users in allowedUserIds may command the runs on this bot.',
      });
      return;
    }
    if (data.kind === 'stop') {
      const forwarded: Forwarded = {
        kind: 'button',
        queryId: query.id,
        data: query.data ?? '',
        chat: chatRef(message.chat),
        messageId: message.message_id,
        from,
      };
      if (!(await this.host.directory.sendTo(data.runId, { ...forwarded })))
        await api.answerCallbackQuery({ callback_query_id: query.id, text: 'That question belongs to a run that has ended.' });
      return;
    }
    // A run picked from the keyboard: forward the command as if the user had named the run.
    const runs = await this.host.directory.runs();
    const run = runs.find((r) => r.id === data.runId);
    if (!run) {
      await api.answerCallbackQuery({ callback_query_id: query.id, text: 'That run has ended.' });
      return;
    }
    const threadId = topicOf(message);
    await api.answerCallbackQuery({ callback_query_id: query.id, text: `/${data.command} → ${run.name}`.slice(0, 190) });
    try {
      // The choice is made: the keyboard goes, so it cannot be pressed twice by accident.
      await this.host.paced(() =>
        api.editMessageText({
          chat_id: message.chat.id,
          message_id: message.message_id,
          text: `${m.text(`/${data.command}${data.arg ? ` ${data.arg}` : ''} → `)}${m.bold(`${run.name} (${run.id})`)}`,
          parse_mode: m.mode,
        }),
      );
    } catch {
      // Deleted or too old to edit: the command is forwarded all the same.
    }
    const replyTo = ('reply_to_message' in message ? message.reply_to_message?.message_id : undefined) ?? message.message_id;
    const forwarded: Forwarded = {
      kind: 'command',
      command: data.command,
      args: data.arg,
      chat: chatRef(message.chat),
      // Whoever picked the run sends the command: it is their permission that counts.
      from,
      replyTo,
      ...inTopicOf(threadId),
    };
    if (!(await this.host.directory.sendTo(run.id, { ...forwarded })))
      await this.sendTo({ chat: message.chat, replyTo, threadId }, m.text(`${run.name} (${run.id}) has just ended.`));
  }

  private async reply(message: Message, text: string): Promise<void> {
    await this.sendTo({ chat: message.chat, replyTo: message.message_id, threadId: topicOf(message) }, text);
  }

  /** An answer to the message `at.replyTo`, in its forum topic if it has one. */
  private async sendTo(at: Place, text: string, keyboard?: { text: string; callback_data: string }[][]): Promise<void> {
    await this.host.paced(() =>
      this.host.api.sendMessage({
        chat_id: at.chat.id,
        text,
        parse_mode: this.host.markup.mode,
        reply_parameters: { message_id: at.replyTo, allow_sending_without_reply: true },
        ...inThread(at.threadId),
        ...(keyboard ? { reply_markup: { inline_keyboard: keyboard } } : {}),
      }),
    );
  }
}

/** Where a command was sent, and so where its answer goes. */
interface Place {
  chat: Chat;
  replyTo: number;
  /** The forum topic, if any. */
  threadId: number | undefined;
}

function inTopicOf(threadId: number | undefined): { threadId?: number } {
  return threadId === undefined ? {} : { threadId };
}

function pickKeyboard(runs: readonly RunRecord[], command: RunCommand, arg: string): { text: string; callback_data: string }[][] {
  const buttons = runs
    .slice(0, 24)
    .map((r) => ({ text: `${r.name} (${r.id})`.slice(0, 60), callback_data: pickButtonData(r.id, command, arg) }));
  const rows: { text: string; callback_data: string }[][] = [];
  for (let i = 0; i < buttons.length; i += 2) rows.push(buttons.slice(i, i + 2));
  return rows;
}

/**
 * The person who sent `message`. One posted on behalf of a chat (an anonymous group admin, a linked
 * channel) has none: its `from` is a placeholder account shared by everyone posting that way.
 */
function senderOf(message: Message): UserRef | undefined {
  return message.from && !message.sender_chat ? userRef(message.from) : undefined;
}
