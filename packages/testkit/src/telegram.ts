/**
 * A local Telegram Bot API server: `/bot<token>/<method>` on 127.0.0.1, answering as the
 * official server (tdlib/telegram-bot-api) does — `{ ok, result }` envelopes, its error texts,
 * long polling with `offset`/`timeout`, and its getUpdates conflict rule.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { type AnsweredFault, FakeService, type ServiceCall, type ServiceRequest } from './fake-service.js';
import { type BodyEncoding, REASONS, type ReceivedFile, sendJson } from './http.js';
import { str } from './params.js';
import type { LocalServer, ServiceRecord } from './record-log.js';
import { TelegramChats } from './telegram-chats.js';
import { BotApiError, botParam } from './telegram-errors.js';
import { commandEntities } from './telegram-text.js';
import type { ForumRights, TopicRecord } from './telegram-topics.js';
import type { BotCommand, TgCallbackQuery, TgChat, TgForumTopic, TgMessage, TgUpdate, TgUser } from './telegram-types.js';
import { UpdateQueue } from './telegram-updates.js';

/** One Bot API call as the server received it. */
export interface TelegramCall extends ServiceRecord {
  /** As written in the URL (`sendMessage`); matching elsewhere is case-insensitive, as Telegram's is. */
  method: string;
  /** Query string and body fields. Form and multipart values are strings; JSON keeps its types. */
  params: Record<string, unknown>;
  /** File parts of a multipart request. */
  files: ReceivedFile[];
  encoding: BodyEncoding;
  /** The error `description` when the call failed. */
  description?: string;
}

export interface TelegramServerOptions {
  /** The bot token clients must use. Default `123456:TEST-token`; the number before `:` is the bot's user id. */
  token?: string;
  /** Chats the bot may write to; others answer `chat not found`. Default: any chat. `pushUpdate` adds its chat. */
  chats?: readonly number[];
  /** Reject an unescaped `&` in HTML (see `parseTelegramText`). Default true. */
  strictHtml?: boolean;
  /**
   * Telegram answers a second getUpdates conflict within 3 s only after a 3 s delay, so two
   * pollers flap at that pace. Default 3000.
   */
  conflictThrottleMs?: number;
  /**
   * Which of two concurrent getUpdates long polls is answered 409 "terminated by other getUpdates
   * request": `older` (default: api.telegram.org lets the newer request take over) or `newer` (the
   * second request is refused while the first is pending), to check a client copes with either.
   */
  conflictLoser?: 'older' | 'newer';
}

export interface PushUpdateInput {
  chatId: number;
  text: string;
  /** Overrides of the sending user (default: a user whose id is the chat id in private chats). */
  from?: Partial<TgUser>;
  /**
   * Posted on behalf of the group, as an anonymous admin posts: `sender_chat` is the group and
   * `from` Telegram's placeholder account @GroupAnonymousBot, the same for every such admin.
   */
  anonymousAdmin?: boolean;
  /** Written in this forum topic (`message_thread_id`, `is_topic_message`); default General, or the chat itself. */
  threadId?: number;
}

export interface PushCallbackQueryInput {
  chatId: number;
  /** The `callback_data` of the pressed button. */
  data: string;
  /** The bot message carrying the inline keyboard. */
  messageId: number;
  from?: Partial<TgUser>;
}

export interface TelegramServer extends LocalServer<TelegramCall> {
  /** The API root for clients: `new Api(token, { apiRoot: server.url })`. */
  readonly url: string;
  readonly token: string;
  readonly bot: TgUser;
  /** Updates not yet confirmed by a getUpdates `offset`. */
  readonly pendingUpdates: readonly TgUpdate[];
  /** Commands from the last setMyCommands. */
  readonly commands: readonly BotCommand[];
  /** The webhook URL set by setWebhook ('' when none). */
  readonly webhookUrl: string;
  /** The chat's messages (the bot's and pushed ones), in their current state after edits. */
  messages(chatId: number): readonly TgMessage[];
  /** Simulate a user writing to the bot; returns the update that getUpdates will deliver. */
  pushUpdate(input: PushUpdateInput): TgUpdate;
  /** Simulate a user pressing an inline keyboard button. */
  pushCallbackQuery(input: PushCallbackQueryInput): TgUpdate;
  /**
   * Sets a chat's title or public `@username` (`username: null` gives it up, so another chat may
   * take it), as getChat and the chat's later messages show them.
   */
  setChat(chatId: number, details: { title?: string; username?: string | null }): TgChat;
  /**
   * Makes `chatId` (a `-100…` supergroup) a forum, where the bot has `rights` (default: it may
   * manage topics and delete messages; `{ canManageTopics: false }` for a bot that is a plain member).
   * Called again, it changes the bot's rights; the topics stay.
   */
  createForum(chatId: number, rights?: ForumRights & { title?: string }): TgChat;
  /** A topic a member of the forum opened (not the bot: without the right, the bot may not rename or close it). */
  createTopic(chatId: number, name: string): TgForumTopic;
  /** The forum's topics in order of creation, deleted ones included, with their state and names. */
  topics(chatId: number): readonly TopicRecord[];
}

type Call = ServiceCall<TelegramCall>;

const PATH = /^\/bot([^/]*)\/([^/]+)$/;
/** Answered later (a long poll): not by the method's return value. */
const LATER = Symbol('answered later');

class TelegramServerImpl extends FakeService<TelegramCall> implements TelegramServer {
  readonly token: string;
  readonly bot: TgUser;
  readonly #chats: TelegramChats;
  readonly #updates: UpdateQueue;
  readonly #callbackIds = new Set<string>();
  #nextCallbackId = 1;
  #commands: BotCommand[] = [];

  constructor(options: TelegramServerOptions) {
    super();
    this.token = options.token ?? '123456:TEST-token';
    const botId = Number(this.token.split(':')[0]);
    this.bot = {
      id: Number.isSafeInteger(botId) && botId > 0 ? botId : 123456,
      is_bot: true,
      first_name: 'Epochcast Test Bot',
      username: 'epochcast_test_bot',
    };
    this.#chats = new TelegramChats({
      bot: this.bot,
      knownChats: options.chats ? new Set(options.chats) : undefined,
      strictHtml: options.strictHtml ?? true,
    });
    this.#updates = new UpdateQueue(
      {
        ok: (call, result) => this.#ok(call, result),
        fail: (call, code, description) => this.#fail(call, code, description),
        setTimer: (fn, ms) => this.setTimer(fn, ms),
      },
      { conflictThrottleMs: options.conflictThrottleMs ?? 3000, conflictLoser: options.conflictLoser ?? 'older' },
    );
  }

  get pendingUpdates(): readonly TgUpdate[] {
    return this.#updates.pending;
  }
  get commands(): readonly BotCommand[] {
    return this.#commands;
  }
  get webhookUrl(): string {
    return this.#updates.webhookUrl;
  }

  messages(chatId: number): readonly TgMessage[] {
    return this.#chats.messages(chatId);
  }

  pushUpdate({ chatId, text, from, anonymousAdmin, threadId }: PushUpdateInput): TgUpdate {
    const entities = commandEntities(text);
    const anonymous = anonymousAdmin ? this.#chats.anonymousAdmin(chatId) : undefined;
    const message = this.#chats.fromUser(
      chatId,
      { text, ...(entities.length > 0 ? { entities } : {}), ...(anonymous ? { sender_chat: anonymous.chat, from: anonymous.from } : {}) },
      from,
      threadId,
    );
    return this.#updates.push({ message });
  }

  pushCallbackQuery({ chatId, data, messageId, from }: PushCallbackQueryInput): TgUpdate {
    const message = this.#chats.find(chatId, messageId);
    if (!message) throw new Error(`pushCallbackQuery: chat ${chatId} has no message ${messageId}`);
    const id = String(this.#nextCallbackId++);
    this.#callbackIds.add(id);
    const query: TgCallbackQuery = { id, from: this.#chats.user(chatId, from), message, chat_instance: String(chatId), data };
    return this.#updates.push({ callback_query: query });
  }

  setChat(chatId: number, details: { title?: string; username?: string | null }): TgChat {
    return this.#chats.setChat(chatId, details);
  }

  createForum(chatId: number, rights: ForumRights & { title?: string } = {}): TgChat {
    const { title, ...granted } = rights;
    return this.#chats.makeForum(chatId, granted, title);
  }

  createTopic(chatId: number, name: string): TgForumTopic {
    return this.#chats.createForumTopic({ chat_id: chatId, name }, false);
  }

  topics(chatId: number): readonly TopicRecord[] {
    return this.#chats.topics(chatId);
  }

  override async close(): Promise<void> {
    this.#updates.close();
    await super.close();
  }

  protected callName(_req: IncomingMessage, url: URL): string | undefined {
    return PATH.exec(url.pathname)?.[2];
  }

  protected newRecord({ name, params, files, encoding }: ServiceRequest): Omit<TelegramCall, keyof ServiceRecord> {
    return { method: name, params, files, encoding };
  }

  protected override notFound(res: ServerResponse): void {
    sendJson(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
  }

  /** The Bot API parses the request before anything else. */
  protected override rejectBody(call: Call): void {
    this.#fail(call, 400, `Bad Request: ${call.bodyError}`);
  }

  protected answerFault(call: Call, fault: AnsweredFault): void {
    if (fault.kind === 'rateLimit') {
      const s = fault.retryAfterSec;
      this.#fail(call, 429, `Too Many Requests: retry after ${s}`, { retry_after: s }, { 'retry-after': String(s) });
    } else if (fault.kind === 'serverError') this.#fail(call, fault.status, REASONS[fault.status] ?? 'Internal Server Error');
    else this.#fail(call, 401, 'Unauthorized');
  }

  protected route(call: Call): void {
    const token = decodeURIComponent(PATH.exec(call.url.pathname)?.[1] ?? '');
    try {
      if (token !== this.token) throw new BotApiError(401, 'Unauthorized');
      const result = this.#dispatch(call, call.name.toLowerCase());
      if (result !== LATER) this.#ok(call, result);
    } catch (error) {
      if (!(error instanceof BotApiError)) throw error;
      this.#fail(call, error.code, error.description);
    }
  }

  #dispatch(call: Call, method: string): unknown {
    const p = call.params;
    switch (method) {
      case 'getme':
        return this.bot;
      case 'sendmessage':
        return this.#chats.sendMessage(p);
      case 'editmessagetext':
        return this.#chats.editMessageText(p);
      case 'sendphoto':
        return this.#chats.sendFile(p, call.files, 'photo');
      case 'senddocument':
        return this.#chats.sendFile(p, call.files, 'document');
      case 'getchat':
        return this.#chats.getChat(p);
      case 'sendchataction':
        return this.#chats.sendChatAction(p);
      case 'deletemessage':
        return this.#chats.deleteMessage(p);
      case 'createforumtopic':
        return this.#chats.createForumTopic(p);
      case 'editforumtopic':
        return this.#chats.editForumTopic(p);
      case 'closeforumtopic':
        return this.#chats.setForumTopicClosed(p, true);
      case 'reopenforumtopic':
        return this.#chats.setForumTopicClosed(p, false);
      case 'deleteforumtopic':
        return this.#chats.deleteForumTopic(p);
      case 'getupdates':
        this.#updates.getUpdates(call);
        return LATER;
      case 'answercallbackquery':
        if (!this.#callbackIds.delete(str(p.callback_query_id) ?? ''))
          throw new BotApiError(400, 'Bad Request: query is too old and response timeout expired or query ID is invalid');
        return true;
      case 'setmycommands':
        this.#commands = parseCommands(p.commands);
        return true;
      case 'getmycommands':
        return this.#commands;
      case 'deletemycommands':
        this.#commands = [];
        return true;
      case 'setwebhook':
        return this.#updates.setWebhook(p);
      case 'deletewebhook':
        return this.#updates.deleteWebhook(p);
      case 'getwebhookinfo':
        return { url: this.#updates.webhookUrl, has_custom_certificate: false, pending_update_count: this.#updates.pending.length };
      default:
        throw new BotApiError(404, 'Not Found');
    }
  }

  #ok(call: Call, result: unknown): void {
    call.json(200, { ok: true, result });
  }

  #fail(call: Call, code: number, description: string, parameters?: Record<string, number>, headers: Record<string, string> = {}): void {
    if (call.answered) return;
    call.record.description = description;
    call.json(code, { ok: false, error_code: code, description, ...(parameters ? { parameters } : {}) }, headers);
  }
}

function parseCommands(value: unknown): BotCommand[] {
  const commands = botParam(value, "Bad Request: can't parse commands JSON object");
  if (!Array.isArray(commands)) throw new BotApiError(400, 'Bad Request: expected an Array of BotCommand');
  return commands.map((c: unknown) => {
    const { command, description } = (c ?? {}) as Partial<Record<string, unknown>>;
    if (typeof command !== 'string' || !/^[a-z0-9_]{1,32}$/.test(command)) throw new BotApiError(400, 'Bad Request: BOT_COMMAND_INVALID');
    if (typeof description !== 'string' || description.length < 1 || description.length > 256) {
      throw new BotApiError(400, 'Bad Request: BOT_COMMAND_DESCRIPTION_INVALID');
    }
    return { command, description };
  });
}

/** Start a Telegram Bot API server on 127.0.0.1 (ephemeral port). */
export function startTelegramServer(options: TelegramServerOptions = {}): Promise<TelegramServer> {
  return new TelegramServerImpl(options).listen();
}
