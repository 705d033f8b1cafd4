/**
 * Forum topics of the local Telegram server: a supergroup with `is_forum` keeps its messages in
 * topics, each opened by a `forum_topic_created` service message whose id is the topic's
 * `message_thread_id`. The bot creates, renames, closes, reopens and deletes topics with the
 * rights the test gave it, and may write in a closed topic only when it can manage topics.
 *
 * Error texts: "message thread not found" and "TOPIC_CLOSED" are the official server's (seen in
 * tdlib/telegram-bot-api#472 and in bots' reports); TOPIC_NOT_MODIFIED is the MTProto error the
 * server passes on. The texts for a chat that is not a forum, for missing rights and for a bad
 * name or colour are best guesses at its wording: a client should match them loosely.
 */

import { int, str } from './params.js';
import { BotApiError } from './telegram-errors.js';
import type { TgForumTopic, TgMessage } from './telegram-types.js';

export const THREAD_NOT_FOUND = 'Bad Request: message thread not found';
export const TOPIC_CLOSED = 'Bad Request: TOPIC_CLOSED';
export const TOPIC_NOT_MODIFIED = 'Bad Request: TOPIC_NOT_MODIFIED';
/** Best guess (MTProto: CHANNEL_FORUM_MISSING). */
export const NOT_A_FORUM = 'Bad Request: the chat is not a forum';
/** Best guess (MTProto: CHAT_ADMIN_REQUIRED). */
export const NO_RIGHT_TO_CREATE = 'Bad Request: not enough rights to create a topic';
/** Best guess (MTProto: CHAT_ADMIN_REQUIRED). */
export const NO_RIGHT_TO_MANAGE = 'Bad Request: not enough rights to manage topics';
/** Best guess (MTProto: TOPIC_TITLE_EMPTY, or a title over 128 characters). */
export const TOPIC_NAME_INVALID = 'Bad Request: TOPIC_NAME_INVALID';
/** Best guess. */
export const ICON_COLOR_INVALID = 'Bad Request: TOPIC_ICON_COLOR_INVALID';

/** The colours createForumTopic accepts (RGB). */
export const TOPIC_ICON_COLORS = [0x6fb9f0, 0xffd67e, 0xcb86db, 0x8eee98, 0xff93b2, 0xfb6f5f] as const;
/** Topic names are 1 to 128 characters. */
export const TOPIC_NAME_MAX = 128;

/** What the bot may do in a forum: an administrator's "Manage topics" and "Delete messages" rights. */
export interface ForumRights {
  /** Create, rename, close and reopen topics, and write in closed ones. Default true. */
  canManageTopics?: boolean;
  /** Delete topics (and their messages). Default: the same as canManageTopics. */
  canDeleteMessages?: boolean;
}

/** A topic as the test sees it: its current state and what happened to it. */
export interface TopicRecord extends TgForumTopic {
  closed: boolean;
  deleted: boolean;
  /** Whether the bot created it (the creator may rename and close it without the right). */
  createdByBot: boolean;
  /** Every name it had, first to last. */
  names: readonly string[];
}

interface Topic {
  topic: TgForumTopic;
  closed: boolean;
  deleted: boolean;
  createdByBot: boolean;
  names: string[];
}

/** Stores a service message in the chat and returns it; `id` is the message id it will get. */
export type StoreService = (content: Partial<TgMessage>) => TgMessage;

export class Forum {
  #rights: Required<ForumRights> = { canManageTopics: true, canDeleteMessages: true };
  readonly #topics = new Map<number, Topic>();

  constructor(rights: ForumRights = {}) {
    this.grant(rights);
  }

  /** Sets the bot's rights (an administrator changed them); the topics stay. */
  grant(rights: ForumRights): void {
    const canManageTopics = rights.canManageTopics ?? true;
    this.#rights = { canManageTopics, canDeleteMessages: rights.canDeleteMessages ?? canManageTopics };
  }

  records(): TopicRecord[] {
    return [...this.#topics.values()].map((t) => ({
      ...t.topic,
      closed: t.closed,
      deleted: t.deleted,
      createdByBot: t.createdByBot,
      names: [...t.names],
    }));
  }

  /**
   * Where a bot's message goes: the topic `message_thread_id` names (it must exist, and be open
   * unless the bot manages topics), else the topic of the message it replies to, else General.
   */
  threadOf(p: Record<string, unknown>, replied: TgMessage | undefined): Partial<TgMessage> {
    const raw = p.message_thread_id;
    if (raw === undefined || raw === '') return replied?.is_topic_message ? inTopic(replied.message_thread_id ?? 0) : {};
    const topic = this.#live(int(raw, 0));
    if (topic.closed && !this.#rights.canManageTopics) throw new BotApiError(400, TOPIC_CLOSED);
    return inTopic(topic.topic.message_thread_id);
  }

  /** A user's message in topic `threadId` (a test's mistake when there is no such topic). */
  userThread(threadId: number): Partial<TgMessage> {
    const topic = this.#topics.get(threadId);
    if (!topic || topic.deleted) throw new Error(`pushUpdate: the forum has no topic ${threadId}`);
    return inTopic(threadId);
  }

  create(p: Record<string, unknown>, byBot: boolean, store: StoreService, nextId: number): TgForumTopic {
    if (byBot && !this.#rights.canManageTopics) throw new BotApiError(400, NO_RIGHT_TO_CREATE);
    const name = checkName(str(p.name) ?? '');
    const color = p.icon_color === undefined ? TOPIC_ICON_COLORS[0] : int(p.icon_color, -1);
    if (!(TOPIC_ICON_COLORS as readonly number[]).includes(color)) throw new BotApiError(400, ICON_COLOR_INVALID);
    const emoji = str(p.icon_custom_emoji_id);
    const topic: TgForumTopic = { message_thread_id: nextId, name, icon_color: color, ...(emoji ? { icon_custom_emoji_id: emoji } : {}) };
    const { message_thread_id: _id, ...created } = topic;
    store({ ...inTopic(nextId), forum_topic_created: created });
    this.#topics.set(nextId, { topic, closed: false, deleted: false, createdByBot: byBot, names: [name] });
    return topic;
  }

  edit(p: Record<string, unknown>, store: StoreService): true {
    const topic = this.#managed(p);
    const name = p.name === undefined ? undefined : checkName(str(p.name) ?? '');
    const emoji = str(p.icon_custom_emoji_id);
    const renamed = name !== undefined && name !== topic.topic.name;
    const newIcon = emoji !== undefined && emoji !== (topic.topic.icon_custom_emoji_id ?? '');
    if (!renamed && !newIcon) throw new BotApiError(400, TOPIC_NOT_MODIFIED);
    if (renamed) {
      topic.topic = { ...topic.topic, name };
      topic.names.push(name);
    }
    if (newIcon) topic.topic = { ...topic.topic, icon_custom_emoji_id: emoji };
    store({
      ...inTopic(topic.topic.message_thread_id),
      forum_topic_edited: { ...(renamed ? { name } : {}), ...(newIcon ? { icon_custom_emoji_id: emoji } : {}) },
    });
    return true;
  }

  setClosed(p: Record<string, unknown>, closed: boolean, store: StoreService): true {
    const topic = this.#managed(p);
    if (topic.closed === closed) throw new BotApiError(400, TOPIC_NOT_MODIFIED);
    topic.closed = closed;
    store({ ...inTopic(topic.topic.message_thread_id), ...(closed ? { forum_topic_closed: {} } : { forum_topic_reopened: {} }) });
    return true;
  }

  /** Deletes the topic; the caller removes its messages. */
  delete(p: Record<string, unknown>): number {
    const topic = this.#live(int(p.message_thread_id, 0));
    if (!this.#rights.canDeleteMessages) throw new BotApiError(400, NO_RIGHT_TO_MANAGE);
    topic.deleted = true;
    return topic.topic.message_thread_id;
  }

  /** A topic the bot may change: it manages topics, or created this one. */
  #managed(p: Record<string, unknown>): Topic {
    const topic = this.#live(int(p.message_thread_id, 0));
    if (!this.#rights.canManageTopics && !topic.createdByBot) throw new BotApiError(400, NO_RIGHT_TO_MANAGE);
    return topic;
  }

  #live(id: number): Topic {
    const topic = this.#topics.get(id);
    if (!topic || topic.deleted) throw new BotApiError(400, THREAD_NOT_FOUND);
    return topic;
  }
}

function inTopic(threadId: number): Partial<TgMessage> {
  return { message_thread_id: threadId, is_topic_message: true };
}

/** 1 to 128 characters (counted as code points). */
function checkName(name: string): string {
  const length = [...name].length;
  if (length < 1 || length > TOPIC_NAME_MAX) throw new BotApiError(400, TOPIC_NAME_INVALID);
  return name;
}
