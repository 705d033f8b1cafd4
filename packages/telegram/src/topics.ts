/**
 * Forum topics: a run's messages can go into one topic of a forum group (`messageThreadId`), or
 * each run into a topic of its own, created at its first message and renamed and closed with its
 * outcome at the end (`topicPerRun`). Where the topic cannot be had — the group is not a forum, the
 * bot may not manage topics, someone deleted or closed the topic — the messages go to the chat
 * itself after one warning: nothing is lost for want of a topic.
 *
 * A run registers its topic with the runs sharing the bot (`RunRecord.thread`), so that the poller,
 * whichever run's process it lives in, routes a command sent in the topic to that run.
 */
import { ConfigError } from '@epochcast/core/errors';
import type { Notification, RunInfo, SendContext } from '@epochcast/notify';
import { type Api, type MaybeInaccessibleMessage, type Message, TelegramApiError } from 'node-telegram-bot-api';
import { describeError } from './client.js';
import { toNotifierError } from './errors.js';

/** Telegram's limit on a topic's name, in characters. */
export const TOPIC_NAME_MAX = 128;

/** How a run's topic is named while it trains, then by how it ended. */
const MARKS: Readonly<Record<string, string>> = {
  running: '⏳',
  completed: '✅',
  failed: '❌',
  stopped: '⏹',
  interrupted: '⏹',
};

// The official server's texts for a topic that is gone or closed (tdlib/telegram-bot-api), and
// the MTProto names it may pass on: the run then carries on in the chat itself.
const TOPIC_LOST = /message thread not found|TOPIC_CLOSED|TOPIC_DELETED|TOPIC_ID_INVALID/i;
const NOT_A_FORUM = /not a forum|FORUM_MISSING/i;
const NO_RIGHTS = /not enough rights|ADMIN_REQUIRED|RIGHT_FORBIDDEN|TOPIC_CREATE_FORBIDDEN/i;

export interface TopicSettings {
  /** The one topic every message goes to. */
  messageThreadId: number | undefined;
  /** A topic per run, created at its first message. */
  topicPerRun: boolean;
}

/** `messageThreadId` / `TELEGRAM_THREAD_ID` and `topicPerRun`, checked: a positive integer, and not both. */
export function resolveTopicSettings(where: string, options: { messageThreadId?: number; topicPerRun?: boolean }): TopicSettings {
  const fromEnv = options.messageThreadId === undefined ? process.env.TELEGRAM_THREAD_ID || undefined : undefined;
  const raw: unknown = options.messageThreadId ?? fromEnv;
  const name = fromEnv === undefined ? 'messageThreadId' : 'TELEGRAM_THREAD_ID';
  let messageThreadId: number | undefined;
  if (raw !== undefined) {
    // The environment holds text; the option must be a number.
    const value = fromEnv !== undefined && /^\s*\d{1,15}\s*$/.test(fromEnv) ? Number(fromEnv) : raw;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
      throw new ConfigError(
        `${where}: ${name} must be a positive integer, the id of a forum topic; received ${JSON.stringify(String(raw).slice(0, 40))}. ` +
          'It is the number after the chat in a link to the topic (t.me/c/<chat>/<topic id>).',
      );
    messageThreadId = value;
  }
  const topicPerRun = options.topicPerRun ?? false;
  if (typeof topicPerRun !== 'boolean')
    throw new ConfigError(`${where}: topicPerRun must be true or false; received ${JSON.stringify(topicPerRun)}.`);
  if (topicPerRun && messageThreadId !== undefined)
    throw new ConfigError(
      `${where}: topicPerRun and ${name} both say where messages go: a topic per run, or every run in topic ${messageThreadId}. ` +
        `Set one of them${name === 'TELEGRAM_THREAD_ID' ? ' (unset TELEGRAM_THREAD_ID for topicPerRun)' : ''}.`,
    );
  return { messageThreadId, topicPerRun };
}

/** How a forum topic is known across runs: `<chat id>/<topic id>`. */
export function topicKey(chatId: number, threadId: number): string {
  return `${chatId}/${threadId}`;
}

/** The forum topic a received message was sent in; undefined in General or outside forums (a reply thread is no topic). */
export function topicOf(message: Message | MaybeInaccessibleMessage): number | undefined {
  return 'is_topic_message' in message && message.is_topic_message ? message.message_thread_id : undefined;
}

/** `message_thread_id` for a send, when there is a topic. */
export function inThread(threadId: number | undefined): { message_thread_id?: number } {
  return threadId === undefined ? {} : { message_thread_id: threadId };
}

/** `✅ mnist-mlp`, cut to Telegram's limit. */
export function topicName(status: string, runName: string): string {
  const name = `${MARKS[status] ?? '⏹'} ${runName.trim() || 'run'}`;
  const chars = [...name];
  return chars.length <= TOPIC_NAME_MAX ? name : `${chars.slice(0, TOPIC_NAME_MAX - 1).join('')}…`;
}

export interface RunTopicsHost {
  readonly api: Api;
  readonly chatId: number | string;
  readonly settings: TopicSettings;
  warn(line: string): void;
  /** Tells the runs sharing the bot where this run's messages go (undefined: the chat itself). */
  register(thread: string | undefined): void;
}

/** Where the current run's messages go, and its topic's life when it has one of its own. */
export class RunTopics {
  /** The run the thread is for; `threadId` undefined: the chat itself. */
  private current: { runId: string; threadId: number | undefined; registered: boolean } | undefined;
  private fallbackWarned = false;

  constructor(private readonly host: RunTopicsHost) {}

  /** The topic for `run`'s messages: opens the run's own topic on its first message. */
  async threadFor(run: RunInfo, context: SendContext): Promise<number | undefined> {
    const { settings } = this.host;
    if (this.current?.runId === run.id) return this.current.threadId;
    if (!settings.topicPerRun) {
      this.current = { runId: run.id, threadId: settings.messageThreadId, registered: false };
      return this.current.threadId;
    }
    const threadId = await this.open(run, context.signal);
    this.current = { runId: run.id, threadId, registered: false };
    // The start message follows the topic's creation: it keeps the chat's pace too.
    if (threadId !== undefined) await context.pace();
    return threadId;
  }

  /** A message of the run went out: the first one in its topic tells the other runs where it is. */
  sent(message: Message): void {
    const current = this.current;
    if (!current || current.registered || current.threadId === undefined || topicOf(message) !== current.threadId) return;
    current.registered = true;
    this.host.register(topicKey(message.chat.id, current.threadId));
  }

  /**
   * A send into the run's topic failed: when the topic is gone or closed, the run carries on in the
   * chat (one warning) and the caller sends again there — true; any other failure is the caller's.
   */
  lost(error: unknown): boolean {
    const current = this.current;
    if (current?.threadId === undefined || !(error instanceof TelegramApiError) || !TOPIC_LOST.test(error.description)) return false;
    this.host.warn(
      `the topic of this run (${current.threadId}) refused its messages (${describeError(error)}): it was deleted or closed; the run's messages go to the chat itself from now on`,
    );
    current.threadId = undefined;
    if (current.registered) this.host.register(undefined);
    current.registered = false;
    return true;
  }

  /** After the run's last message: its own topic is renamed with the outcome (`✅ name`) and closed. */
  async finish(n: Notification, context: SendContext): Promise<void> {
    const threadId = this.current?.runId === n.run.id ? this.current.threadId : undefined;
    if (!this.host.settings.topicPerRun || threadId === undefined) return;
    const { api, chatId } = this.host;
    await context.optionalStep('the topic’s new name', async () => {
      await context.pace();
      await unlessUnchanged(() =>
        api.editForumTopic({ chat_id: chatId, message_thread_id: threadId, name: topicName(n.status, n.run.name) }, context.signal),
      );
      await context.pace();
      await unlessUnchanged(() => api.closeForumTopic({ chat_id: chatId, message_thread_id: threadId }, context.signal));
    });
  }

  /** Creates the run's topic; undefined (after one warning) when this chat cannot have one. */
  private async open(run: RunInfo, signal: AbortSignal): Promise<number | undefined> {
    const { api, chatId } = this.host;
    try {
      const topic = await api.createForumTopic({ chat_id: chatId, name: topicName('running', run.name) }, signal);
      return topic.message_thread_id;
    } catch (error) {
      // Only a refusal of the topic itself sends the run to the chat. Unreachable, 5xx, 429: the
      // send is retried, the topic with it; a bad token or chat fails as any message would.
      if (!(error instanceof TelegramApiError) || error.errorCode !== 400 || /chat not found/i.test(error.description))
        throw toNotifierError(error);
      if (!this.fallbackWarned) {
        this.fallbackWarned = true;
        this.host.warn(`could not create a topic for run ${run.name} (${describeError(error)}): ${fix(error.description)}`);
      }
      return undefined;
    }
  }
}

function fix(description: string): string {
  const then = "until then each run's messages go to the chat itself";
  if (NOT_A_FORUM.test(description))
    return `topicPerRun needs a group with topics: turn on Topics in the group's settings (it becomes a forum); ${then}.`;
  if (NO_RIGHTS.test(description)) return `make the bot an administrator of the group with the "Manage topics" right; ${then}.`;
  return `topicPerRun needs a forum group where the bot may manage topics; ${then}.`;
}

/** Renaming to the same name, or closing a closed topic, is done already. */
async function unlessUnchanged(request: () => Promise<unknown>): Promise<void> {
  try {
    await request();
  } catch (error) {
    if (error instanceof TelegramApiError && /TOPIC_NOT_MODIFIED/i.test(error.description)) return;
    throw toNotifierError(error);
  }
}
