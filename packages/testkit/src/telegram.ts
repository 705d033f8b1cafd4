/**
 * A local Telegram Bot API server: `/bot<token>/<method>` on 127.0.0.1, answering as the
 * official server (tdlib/telegram-bot-api) does — `{ ok, result }` envelopes, its error texts,
 * long polling with `offset`/`timeout`, and its getUpdates conflict rule.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Fault, type FaultKind, Faults, takeFault } from './faults.js';
import {
  BadBodyError,
  type BodyEncoding,
  HttpHost,
  parseBody,
  REASONS,
  type ReceivedFile,
  readBody,
  resetConnection,
  sendJson,
} from './http.js';
import { DEFAULT_WAIT_MS, describeMatch, type Match, RecordLog, toPredicate } from './record-log.js';
import { commandEntities, type ParseMode, parseTelegramText, type TgMessageEntity, visibleLength } from './telegram-text.js';

export interface TgUser {
  id: number;
  is_bot: boolean;
  first_name: string;
  last_name?: string;
  username?: string;
  language_code?: string;
}

export interface TgChat {
  id: number;
  type: 'private' | 'group' | 'supergroup';
  title?: string;
  first_name?: string;
  last_name?: string;
  username?: string;
}

export interface TgPhotoSize {
  file_id: string;
  file_unique_id: string;
  width: number;
  height: number;
  file_size: number;
}

export interface TgDocument {
  file_id: string;
  file_unique_id: string;
  file_name?: string;
  mime_type?: string;
  file_size: number;
}

/** A message as the Bot API returns it (the fields this server produces). */
export interface TgMessage {
  message_id: number;
  from?: TgUser;
  chat: TgChat;
  date: number;
  edit_date?: number;
  text?: string;
  entities?: TgMessageEntity[];
  caption?: string;
  caption_entities?: TgMessageEntity[];
  photo?: TgPhotoSize[];
  document?: TgDocument;
  reply_markup?: unknown;
  /** The message this one answers (from `reply_parameters`), without its own `reply_to_message`, as Telegram nests one level. */
  reply_to_message?: TgMessage;
}

export interface TgCallbackQuery {
  id: string;
  from: TgUser;
  message: TgMessage;
  chat_instance: string;
  data: string;
}

export interface TgUpdate {
  update_id: number;
  message?: TgMessage;
  callback_query?: TgCallbackQuery;
}

export interface BotCommand {
  command: string;
  description: string;
}

/** One Bot API call as the server received it. */
export interface TelegramCall {
  /** As written in the URL (`sendMessage`); matching elsewhere is case-insensitive, as Telegram's is. */
  method: string;
  /** Query string and body fields. Form and multipart values are strings; JSON keeps its types. */
  params: Record<string, unknown>;
  /** File parts of a multipart request. */
  files: ReceivedFile[];
  encoding: BodyEncoding;
  /** HTTP status answered; `null` while pending, and for ever after a hang or reset. */
  status: number | null;
  /** The error `description` when the call failed. */
  description?: string;
  fault?: FaultKind;
  /** `Date.now()` on arrival. */
  at: number;
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
}

export interface PushCallbackQueryInput {
  chatId: number;
  /** The `callback_data` of the pressed button. */
  data: string;
  /** The bot message carrying the inline keyboard. */
  messageId: number;
  from?: Partial<TgUser>;
}

export interface TelegramServer {
  /** The API root for clients: `new Api(token, { apiRoot: server.url })`. */
  readonly url: string;
  readonly token: string;
  readonly bot: TgUser;
  /** Every call received, in arrival order (the live array). */
  readonly received: readonly TelegramCall[];
  readonly faults: Faults;
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
  /** The first call (already received or still to come) matching a method name or predicate. */
  waitFor(match?: Match<TelegramCall>, timeoutMs?: number): Promise<TelegramCall>;
  /** The first `count` matching calls. */
  waitForCount(match: Match<TelegramCall> | undefined, count: number, timeoutMs?: number): Promise<TelegramCall[]>;
  clearReceived(): void;
  /** Stop listening, end long polls and hung requests, destroy every socket. */
  close(): Promise<void>;
}

const NOT_MODIFIED =
  'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message';
const CONFLICT_GET_UPDATES = 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running';
const CONFLICT_WEBHOOK = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first";
const TEXT_LIMIT = 4096;
const CAPTION_LIMIT = 1024;
const LONG_POLL_MAX_TIMEOUT_SEC = 50;
// Telegram's default: every update type except chat_member, message_reaction and message_reaction_count.
const NOT_DEFAULT_UPDATES = new Set(['chat_member', 'message_reaction', 'message_reaction_count']);

interface Ctx {
  call: TelegramCall;
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, unknown>;
}

interface ChatState {
  chat: TgChat;
  messages: Map<number, { message: TgMessage; fromBot: boolean }>;
  nextMessageId: number;
}

interface LongPoll {
  ctx: Ctx;
  limit: number;
  cancelTimer: () => void;
}

class Failed extends Error {
  constructor(
    readonly code: number,
    readonly description: string,
  ) {
    super(description);
  }
}

function str(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function int(value: unknown, fallback: number): number {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  const s = str(value)?.trim();
  return s !== undefined && /^-?\d+$/.test(s) ? Number(s) : fallback;
}

function bool(value: unknown): boolean {
  return value === true || value === 1 || value === 'true' || value === '1';
}

/** A structured parameter: JSON text in forms, a value in JSON bodies. */
function structured(value: unknown, error: string): unknown {
  if (typeof value !== 'string') return value;
  if (value === '') return undefined;
  try {
    return JSON.parse(value);
  } catch {
    throw new Failed(400, error);
  }
}

function pngSize(bytes: Buffer): { width: number; height: number } {
  const isPng = bytes.length >= 24 && bytes.readUInt32BE(0) === 0x89504e47 && bytes.toString('latin1', 12, 16) === 'IHDR';
  return isPng ? { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) } : { width: 0, height: 0 };
}

const now = (): number => Math.floor(Date.now() / 1000);
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

class TelegramServerImpl implements TelegramServer {
  readonly faults = new Faults();
  readonly token: string;
  readonly bot: TgUser;
  readonly #host: HttpHost;
  readonly #log = new RecordLog<TelegramCall>((c) => `${c.method}(${c.status ?? c.fault ?? 'pending'})`);
  readonly #strictHtml: boolean;
  readonly #conflictThrottleMs: number;
  readonly #conflictLoser: 'older' | 'newer';
  readonly #knownChats: Set<number> | undefined;
  readonly #chats = new Map<number, ChatState>();
  readonly #callbackIds = new Set<string>();
  #updates: TgUpdate[] = [];
  #nextUpdateId = 1;
  #nextCallbackId = 1;
  #allowedUpdates: Set<string> | undefined;
  #poll: LongPoll | undefined;
  #nextConflictAt = 0;
  #commands: BotCommand[] = [];
  #webhookUrl = '';

  constructor(host: HttpHost, options: TelegramServerOptions) {
    this.#host = host;
    this.token = options.token ?? '123456:TEST-token';
    this.#strictHtml = options.strictHtml ?? true;
    this.#conflictThrottleMs = options.conflictThrottleMs ?? 3000;
    this.#conflictLoser = options.conflictLoser ?? 'older';
    this.#knownChats = options.chats ? new Set(options.chats) : undefined;
    const botId = Number(this.token.split(':')[0]);
    this.bot = {
      id: Number.isSafeInteger(botId) && botId > 0 ? botId : 123456,
      is_bot: true,
      first_name: 'Epochcast Test Bot',
      username: 'epochcast_test_bot',
    };
  }

  get url(): string {
    return this.#host.url;
  }
  get received(): readonly TelegramCall[] {
    return this.#log.items;
  }
  get pendingUpdates(): readonly TgUpdate[] {
    return this.#updates;
  }
  get commands(): readonly BotCommand[] {
    return this.#commands;
  }
  get webhookUrl(): string {
    return this.#webhookUrl;
  }

  messages(chatId: number): readonly TgMessage[] {
    return [...(this.#chats.get(chatId)?.messages.values() ?? [])].map((m) => m.message);
  }

  async waitFor(match?: Match<TelegramCall>, timeoutMs = DEFAULT_WAIT_MS): Promise<TelegramCall> {
    const [call] = await this.#log.waitFor(toPredicate(match), 1, timeoutMs, describeMatch(match));
    return call as TelegramCall;
  }

  waitForCount(match: Match<TelegramCall> | undefined, count: number, timeoutMs = DEFAULT_WAIT_MS): Promise<TelegramCall[]> {
    return this.#log.waitFor(toPredicate(match), count, timeoutMs, describeMatch(match));
  }

  clearReceived(): void {
    this.#log.clear();
  }

  pushUpdate({ chatId, text, from }: PushUpdateInput): TgUpdate {
    const state = this.#chatState(chatId);
    const entities = commandEntities(text);
    const message: TgMessage = {
      message_id: state.nextMessageId++,
      from: this.#user(chatId, from),
      chat: state.chat,
      date: now(),
      text,
      ...(entities.length > 0 ? { entities } : {}),
    };
    state.messages.set(message.message_id, { message, fromBot: false });
    return this.#enqueue({ update_id: this.#nextUpdateId++, message });
  }

  pushCallbackQuery({ chatId, data, messageId, from }: PushCallbackQueryInput): TgUpdate {
    const stored = this.#chats.get(chatId)?.messages.get(messageId);
    if (!stored) throw new Error(`pushCallbackQuery: chat ${chatId} has no message ${messageId}`);
    const id = String(this.#nextCallbackId++);
    this.#callbackIds.add(id);
    const query: TgCallbackQuery = { id, from: this.#user(chatId, from), message: stored.message, chat_instance: String(chatId), data };
    return this.#enqueue({ update_id: this.#nextUpdateId++, callback_query: query });
  }

  async close(): Promise<void> {
    this.#poll = undefined;
    this.#log.close();
    await this.#host.close();
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.#host.url);
    const match = /^\/bot([^/]*)\/([^/]+)$/.exec(url.pathname);
    if (!match) {
      sendJson(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
      return;
    }
    const token = decodeURIComponent(match[1] ?? '');
    const method = match[2] ?? '';
    const body = await readBody(req);
    const call: TelegramCall = { method, params: {}, files: [], encoding: 'none', status: null, at: Date.now() };
    const ctx: Ctx = { call, req, res, params: call.params };
    try {
      const parsed = await parseBody(req, body, url);
      Object.assign(call, { params: parsed.params, files: parsed.files, encoding: parsed.encoding });
      ctx.params = parsed.params;
    } catch (error) {
      if (!(error instanceof BadBodyError)) throw error;
      this.#log.push(call);
      this.#fail(ctx, 400, `Bad Request: ${error.message}`);
      return;
    }
    this.#log.push(call);

    if (!(await this.#host.sleep(this.faults.latencyMs))) return;
    const fault = takeFault(this.faults, method);
    if (fault) {
      call.fault = fault.kind;
      this.#log.touch(call);
      this.#applyFault(ctx, fault);
      return;
    }
    try {
      if (token !== this.token) throw new Failed(401, 'Unauthorized');
      this.#dispatch(ctx, method.toLowerCase());
    } catch (error) {
      if (!(error instanceof Failed)) throw error;
      this.#fail(ctx, error.code, error.description);
    }
  }

  #dispatch(ctx: Ctx, method: string): void {
    const p = ctx.params;
    switch (method) {
      case 'getme':
        this.#ok(ctx, this.bot);
        return;
      case 'sendmessage':
        this.#sendMessage(ctx);
        return;
      case 'editmessagetext':
        this.#editMessageText(ctx);
        return;
      case 'sendphoto':
        this.#sendFile(ctx, 'photo');
        return;
      case 'senddocument':
        this.#sendFile(ctx, 'document');
        return;
      case 'getupdates':
        this.#getUpdates(ctx);
        return;
      case 'answercallbackquery': {
        const id = str(p.callback_query_id) ?? '';
        if (!this.#callbackIds.delete(id))
          throw new Failed(400, 'Bad Request: query is too old and response timeout expired or query ID is invalid');
        this.#ok(ctx, true);
        return;
      }
      case 'setmycommands':
        this.#commands = this.#parseCommands(p.commands);
        this.#ok(ctx, true);
        return;
      case 'getmycommands':
        this.#ok(ctx, this.#commands);
        return;
      case 'deletemycommands':
        this.#commands = [];
        this.#ok(ctx, true);
        return;
      case 'setwebhook':
        this.#webhookUrl = str(p.url) ?? '';
        if (this.#webhookUrl) this.#abortPoll('Conflict: terminated by setWebhook request');
        if (bool(p.drop_pending_updates)) this.#updates = [];
        this.#ok(ctx, true);
        return;
      case 'deletewebhook':
        this.#webhookUrl = '';
        if (bool(p.drop_pending_updates)) this.#updates = [];
        this.#ok(ctx, true);
        return;
      case 'getwebhookinfo':
        this.#ok(ctx, { url: this.#webhookUrl, has_custom_certificate: false, pending_update_count: this.#updates.length });
        return;
      case 'sendchataction':
        this.#resolveChat(p.chat_id);
        this.#ok(ctx, true);
        return;
      case 'deletemessage': {
        const state = this.#resolveChat(p.chat_id);
        if (!state.messages.delete(int(p.message_id, 0))) throw new Failed(400, 'Bad Request: message to delete not found');
        this.#ok(ctx, true);
        return;
      }
      default:
        throw new Failed(404, 'Not Found');
    }
  }

  #sendMessage(ctx: Ctx): void {
    const state = this.#resolveChat(ctx.params.chat_id);
    const raw = str(ctx.params.text) ?? '';
    if (raw === '') throw new Failed(400, 'Bad Request: message text is empty');
    const { text, entities } = this.#format(ctx.params, raw, TEXT_LIMIT, 'message is too long');
    if (text === '') throw new Failed(400, 'Bad Request: message text is empty');
    const markup = this.#markup(ctx.params.reply_markup);
    const message = this.#store(state, {
      ...this.#replyTo(state, ctx.params),
      text,
      ...(entities.length > 0 ? { entities } : {}),
      ...(markup !== undefined ? { reply_markup: markup } : {}),
    });
    this.#ok(ctx, message);
  }

  #editMessageText(ctx: Ctx): void {
    const p = ctx.params;
    if (p.inline_message_id !== undefined) throw new Failed(400, 'Bad Request: MESSAGE_ID_INVALID');
    const state = this.#resolveChat(p.chat_id);
    const stored = state.messages.get(int(p.message_id, 0));
    if (!stored) throw new Failed(400, 'Bad Request: message to edit not found');
    if (!stored.fromBot) throw new Failed(400, "Bad Request: message can't be edited");
    if (stored.message.text === undefined) throw new Failed(400, 'Bad Request: there is no text in the message to edit');
    const raw = str(p.text) ?? '';
    if (raw === '') throw new Failed(400, 'Bad Request: message text is empty');
    const { text, entities } = this.#format(p, raw, TEXT_LIMIT, 'message is too long');
    if (text === '') throw new Failed(400, 'Bad Request: message text is empty');
    const markup = this.#markup(p.reply_markup);
    const old = stored.message;
    if (old.text === text && same(old.entities ?? [], entities) && same(old.reply_markup, markup)) throw new Failed(400, NOT_MODIFIED);
    const { entities: _e, reply_markup: _m, ...rest } = old;
    stored.message = {
      ...rest,
      text,
      edit_date: now(),
      ...(entities.length > 0 ? { entities } : {}),
      ...(markup !== undefined ? { reply_markup: markup } : {}),
    };
    this.#ok(ctx, stored.message);
  }

  #sendFile(ctx: Ctx, kind: 'photo' | 'document'): void {
    const p = ctx.params;
    const state = this.#resolveChat(p.chat_id);
    const file = ctx.call.files.find((f) => f.field === kind);
    const reference = str(p[kind]);
    if (!file && !reference) throw new Failed(400, `Bad Request: there is no ${kind} in the request`);
    if (file && file.bytes.length === 0) throw new Failed(400, 'Bad Request: file must be non-empty');
    const rawCaption = str(p.caption) ?? '';
    const caption =
      rawCaption === '' ? { text: '', entities: [] } : this.#format(p, rawCaption, CAPTION_LIMIT, 'message caption is too long');
    const markup = this.#markup(p.reply_markup);
    const messageId = state.nextMessageId;
    const fileId = reference && !file ? reference : `${kind}-${state.chat.id}-${messageId}`;
    const size = file?.bytes.length ?? 0;
    const media: Partial<TgMessage> =
      kind === 'photo'
        ? { photo: [{ file_id: fileId, file_unique_id: `u-${fileId}`, ...pngSize(file?.bytes ?? Buffer.alloc(0)), file_size: size }] }
        : {
            document: {
              file_id: fileId,
              file_unique_id: `u-${fileId}`,
              ...(file ? { file_name: file.filename, mime_type: file.contentType } : {}),
              file_size: size,
            },
          };
    const message = this.#store(state, {
      ...this.#replyTo(state, p),
      ...media,
      ...(caption.text ? { caption: caption.text } : {}),
      ...(caption.entities.length > 0 ? { caption_entities: caption.entities } : {}),
      ...(markup !== undefined ? { reply_markup: markup } : {}),
    });
    this.#ok(ctx, message);
  }

  #getUpdates(ctx: Ctx): void {
    const p = ctx.params;
    if (this.#webhookUrl) {
      this.#conflict(ctx, CONFLICT_WEBHOOK);
      return;
    }
    const offset = int(p.offset, 0);
    const limit = Math.min(Math.max(int(p.limit, 100), 1), 100);
    const timeout = Math.min(Math.max(int(p.timeout, 0), 0), LONG_POLL_MAX_TIMEOUT_SEC);
    const allowed = structured(p.allowed_updates, "Bad Request: can't parse allowed_updates JSON object");
    if (Array.isArray(allowed) && allowed.length > 0) this.#allowedUpdates = new Set(allowed.map(String));

    // A negative offset keeps only the last -offset updates; a positive one confirms all before it.
    if (offset < 0) this.#updates = this.#updates.slice(offset);
    else if (offset > 0) this.#updates = this.#updates.filter((u) => u.update_id >= offset);
    this.#updates = this.#updates.filter((u) => this.#isAllowed(u));
    const available = this.#updates.slice(0, limit);

    if (timeout === 0 || available.length > 0) {
      this.#ok(ctx, available);
      return;
    }

    if (this.#conflictLoser === 'newer' && this.#poll) {
      this.#conflict(ctx, CONFLICT_GET_UPDATES);
      return;
    }
    // As the official server does: the new long poll takes over and the pending one is
    // terminated with 409, so the poller that was there first is the one told to stop.
    this.#abortPoll(CONFLICT_GET_UPDATES);
    const poll: LongPoll = {
      ctx,
      limit,
      cancelTimer: this.#host.setTimer(() => this.#answerPoll(poll), timeout * 1000),
    };
    this.#poll = poll;
    ctx.res.once('close', () => {
      if (this.#poll === poll) {
        poll.cancelTimer();
        this.#poll = undefined;
      }
    });
  }

  #answerPoll(poll: LongPoll): void {
    if (this.#poll !== poll) return;
    this.#poll = undefined;
    poll.cancelTimer();
    this.#updates = this.#updates.filter((u) => this.#isAllowed(u));
    this.#ok(poll.ctx, this.#updates.slice(0, poll.limit));
  }

  #abortPoll(description: string): void {
    const previous = this.#poll;
    if (!previous) return;
    this.#poll = undefined;
    previous.cancelTimer();
    this.#conflict(previous.ctx, description);
  }

  #conflict(ctx: Ctx, description: string): void {
    const t = Date.now();
    if (t >= this.#nextConflictAt) {
      this.#nextConflictAt = t + this.#conflictThrottleMs;
      this.#fail(ctx, 409, description);
    } else {
      this.#host.setTimer(() => this.#fail(ctx, 409, description), this.#conflictThrottleMs);
    }
  }

  #enqueue(update: TgUpdate): TgUpdate {
    this.#updates.push(update);
    if (this.#poll && this.#isAllowed(update)) this.#answerPoll(this.#poll);
    return update;
  }

  #isAllowed(update: TgUpdate): boolean {
    const type = Object.keys(update).find((k) => k !== 'update_id') ?? '';
    return this.#allowedUpdates ? this.#allowedUpdates.has(type) : !NOT_DEFAULT_UPDATES.has(type);
  }

  #format(p: Record<string, unknown>, raw: string, limit: number, tooLong: string): { text: string; entities: TgMessageEntity[] } {
    const modeArg = (str(p.parse_mode) ?? '').toLowerCase();
    const modes: Record<string, ParseMode | undefined> = {
      '': undefined,
      none: undefined,
      html: 'HTML',
      markdownv2: 'MarkdownV2',
      markdown: 'Markdown',
    };
    if (!(modeArg in modes)) throw new Failed(400, 'Bad Request: unsupported parse_mode');
    const parsed = parseTelegramText(raw, modes[modeArg], { strictHtml: this.#strictHtml });
    if (!parsed.ok) throw new Failed(400, parsed.description);
    let entities = parsed.entities;
    const explicit =
      modes[modeArg] === undefined
        ? structured(p.entities ?? p.caption_entities, "Bad Request: can't parse entities JSON object")
        : undefined;
    if (Array.isArray(explicit)) entities = explicit as TgMessageEntity[];
    if (visibleLength(parsed.text) > limit) throw new Failed(400, `Bad Request: ${tooLong}`);
    return { text: parsed.text, entities };
  }

  #markup(value: unknown): unknown {
    const markup = structured(value, "Bad Request: can't parse reply keyboard markup JSON object");
    if (markup !== undefined && (markup === null || typeof markup !== 'object' || Array.isArray(markup))) {
      throw new Failed(400, 'Bad Request: object expected as reply markup');
    }
    return markup;
  }

  #parseCommands(value: unknown): BotCommand[] {
    const commands = structured(value, "Bad Request: can't parse commands JSON object");
    if (!Array.isArray(commands)) throw new Failed(400, 'Bad Request: expected an Array of BotCommand');
    return commands.map((c: unknown) => {
      const { command, description } = (c ?? {}) as Partial<Record<string, unknown>>;
      if (typeof command !== 'string' || !/^[a-z0-9_]{1,32}$/.test(command)) throw new Failed(400, 'Bad Request: BOT_COMMAND_INVALID');
      if (typeof description !== 'string' || description.length < 1 || description.length > 256) {
        throw new Failed(400, 'Bad Request: BOT_COMMAND_DESCRIPTION_INVALID');
      }
      return { command, description };
    });
  }

  #resolveChat(value: unknown): ChatState {
    const raw = str(value)?.trim() ?? '';
    if (raw === '') throw new Failed(400, 'Bad Request: chat_id is empty');
    if (!/^-?\d+$/.test(raw)) throw new Failed(400, 'Bad Request: chat not found');
    const id = Number(raw);
    if (this.#knownChats && !this.#knownChats.has(id) && !this.#chats.has(id)) throw new Failed(400, 'Bad Request: chat not found');
    return this.#chatState(id);
  }

  #chatState(id: number): ChatState {
    let state = this.#chats.get(id);
    if (!state) {
      const chat: TgChat =
        id > 0
          ? { id, type: 'private', first_name: 'Test', last_name: 'User', username: 'test_user' }
          : { id, type: String(id).startsWith('-100') ? 'supergroup' : 'group', title: 'Test Group' };
      state = { chat, messages: new Map(), nextMessageId: 1 };
      this.#chats.set(id, state);
    }
    return state;
  }

  #user(chatId: number, overrides: Partial<TgUser> | undefined): TgUser {
    return {
      id: chatId > 0 ? chatId : 1001,
      is_bot: false,
      first_name: 'Test',
      last_name: 'User',
      username: 'test_user',
      language_code: 'en',
      ...overrides,
    };
  }

  /** `reply_parameters` (or the older `reply_to_message_id`) resolved to the message answered. */
  #replyTo(state: ChatState, params: Record<string, unknown>): Partial<TgMessage> {
    const parameters = structured(params.reply_parameters, "Bad Request: can't parse reply parameters JSON object") as
      | { message_id?: unknown; allow_sending_without_reply?: unknown }
      | undefined;
    const id = Number(parameters?.message_id ?? params.reply_to_message_id ?? Number.NaN);
    if (!Number.isInteger(id)) return {};
    const replied = state.messages.get(id)?.message;
    if (replied) {
      const { reply_to_message: _nested, ...flat } = replied;
      return { reply_to_message: flat };
    }
    const lenient = parameters?.allow_sending_without_reply === true || parameters?.allow_sending_without_reply === 'true';
    if (!lenient) throw new Failed(400, 'Bad Request: message to be replied not found');
    return {};
  }

  #store(state: ChatState, content: Partial<TgMessage>): TgMessage {
    const message: TgMessage = { message_id: state.nextMessageId++, from: this.bot, chat: state.chat, date: now(), ...content };
    state.messages.set(message.message_id, { message, fromBot: true });
    return message;
  }

  #applyFault(ctx: Ctx, fault: Fault): void {
    switch (fault.kind) {
      case 'rateLimit': {
        const s = fault.retryAfterSec;
        this.#fail(ctx, 429, `Too Many Requests: retry after ${s}`, { retry_after: s }, { 'retry-after': String(s) });
        return;
      }
      case 'serverError': {
        const status = fault.status ?? 500;
        this.#fail(ctx, status, REASONS[status] ?? 'Internal Server Error');
        return;
      }
      case 'unauthorized':
        this.#fail(ctx, 401, 'Unauthorized');
        return;
      case 'reset':
        resetConnection(ctx.req);
        return;
      case 'hang':
        return;
    }
  }

  #ok(ctx: Ctx, result: unknown): void {
    if (ctx.res.writableEnded || ctx.res.destroyed) return;
    ctx.call.status = 200;
    this.#log.touch(ctx.call);
    sendJson(ctx.res, 200, { ok: true, result });
  }

  #fail(ctx: Ctx, code: number, description: string, parameters?: Record<string, number>, headers: Record<string, string> = {}): void {
    if (ctx.res.writableEnded || ctx.res.destroyed) return;
    ctx.call.status = code;
    ctx.call.description = description;
    this.#log.touch(ctx.call);
    sendJson(ctx.res, code, { ok: false, error_code: code, description, ...(parameters ? { parameters } : {}) }, headers);
  }
}

/** Start a Telegram Bot API server on 127.0.0.1 (ephemeral port). */
export async function startTelegramServer(options: TelegramServerOptions = {}): Promise<TelegramServer> {
  let server: TelegramServerImpl | undefined;
  const host = await HttpHost.start((req, res) => (server as TelegramServerImpl).handle(req, res));
  server = new TelegramServerImpl(host, options);
  return server;
}
