/**
 * A local Slack server: the Web API at `/api/<method>` (HTTP 200 with `{ ok:false, error }`
 * for API errors, as Slack answers), the external file-upload flow, and an incoming webhook.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Fault, type FaultKind, Faults, takeFault } from './faults.js';
import {
  BadBodyError,
  type BodyEncoding,
  HttpHost,
  parseBody,
  type ReceivedFile,
  readBody,
  resetConnection,
  sendJson,
  sendText,
} from './http.js';
import { DEFAULT_WAIT_MS, describeMatch, type Match, RecordLog, toPredicate } from './record-log.js';
import { parseBlocks } from './slack-blocks.js';

/** One request as the server received it: a Web API method, `upload` (the upload URL) or `webhook`. */
export interface SlackCall {
  method: string;
  /** Body fields (JSON values, or strings from forms); for the webhook, the JSON payload. */
  params: Record<string, unknown>;
  files: ReceivedFile[];
  encoding: BodyEncoding;
  /** HTTP status answered; `null` while pending, and for ever after a hang or reset. */
  status: number | null;
  /** Slack's `error` code when the call failed (`invalid_auth`, `channel_not_found`, `no_text`, …). */
  error?: string;
  fault?: FaultKind;
  at: number;
}

export interface SlackMessage {
  channel: string;
  ts: string;
  text: string;
  blocks?: unknown[];
  thread_ts?: string;
  reply_broadcast?: boolean;
  user: string;
  bot_id: string;
  edited?: { user: string; ts: string };
  files?: { id: string; name: string; title?: string }[];
  /** How it was posted. */
  via: 'api' | 'webhook' | 'file';
}

export interface SlackFile {
  id: string;
  name: string;
  /** The `length` declared to files.getUploadURLExternal. */
  length: number;
  /** The bytes POSTed to the upload URL (undefined until then). */
  bytes?: Buffer;
  contentType?: string;
  title?: string;
  /** Set by files.completeUploadExternal. */
  completed: boolean;
  channel?: string;
  threadTs?: string;
  initialComment?: string;
}

export interface SlackServerOptions {
  /** The token clients must send (Bearer header or `token` field). Default `xoxb-test-token`. */
  token?: string;
  /**
   * Channels that exist: IDs (`C123ABC`), names (`#training`, given a made-up ID) or both
   * (`{ id: 'C123ABC', name: 'training' }`); anything else answers `channel_not_found`.
   * Default: any channel.
   */
  channels?: readonly (string | { id: string; name: string })[];
}

export interface SlackServer {
  /** Base URL of the server. */
  readonly url: string;
  /** For `new WebClient(token, { slackApiUrl: server.apiUrl })` (ends with `/api/`). */
  readonly apiUrl: string;
  /** An incoming-webhook URL, for `new IncomingWebhook(server.webhookUrl)`. */
  readonly webhookUrl: string;
  readonly token: string;
  readonly received: readonly SlackCall[];
  readonly faults: Faults;
  /** Files created by files.getUploadURLExternal, with their uploaded bytes. */
  readonly files: readonly SlackFile[];
  /** Messages in a channel (ID or name), or in all channels, in their current state after edits. */
  messages(channel?: string): readonly SlackMessage[];
  waitFor(match?: Match<SlackCall>, timeoutMs?: number): Promise<SlackCall>;
  waitForCount(match: Match<SlackCall> | undefined, count: number, timeoutMs?: number): Promise<SlackCall[]>;
  clearReceived(): void;
  close(): Promise<void>;
}

const TEXT_MAX = 40_000;
const BOT_USER = 'U0TESTBOT';
const BOT_ID = 'B0TESTBOT';
const WEBHOOK_PATH = '/services/T0TEST000/B0TEST000/XXXXXXXXXXXXXXXXXXXXXXXX';
const WEBHOOK_CHANNEL = 'C0WEBHOOK';
const ID_PATTERN = /^[CGD][A-Z0-9]{2,}$/;

interface Ctx {
  call: SlackCall;
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, unknown>;
}

class ApiError extends Error {
  constructor(
    readonly code: string,
    readonly messages: string[] = [],
    readonly status = 200,
  ) {
    super(code);
  }
}

function str(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

const bool = (value: unknown): boolean => value === true || value === 'true' || value === '1' || value === 1;

class SlackServerImpl implements SlackServer {
  readonly faults = new Faults();
  readonly token: string;
  readonly #host: HttpHost;
  readonly #log = new RecordLog<SlackCall>((c) => `${c.method}(${c.error ?? c.status ?? c.fault ?? 'pending'})`);
  readonly #restricted: boolean;
  readonly #ids = new Set<string>();
  readonly #names = new Map<string, string>();
  readonly #messages: SlackMessage[] = [];
  readonly #files: SlackFile[] = [];
  #seq = 0;
  #nextId = 1;

  constructor(host: HttpHost, options: SlackServerOptions) {
    this.#host = host;
    this.token = options.token ?? 'xoxb-test-token';
    this.#restricted = options.channels !== undefined;
    for (const channel of options.channels ?? []) {
      if (typeof channel !== 'string') {
        this.#ids.add(channel.id);
        this.#names.set(channel.name.replace(/^#/, '').toLowerCase(), channel.id);
      } else if (ID_PATTERN.test(channel)) this.#ids.add(channel);
      else this.#nameToId(channel);
    }
  }

  get url(): string {
    return this.#host.url;
  }
  get apiUrl(): string {
    return `${this.#host.url}/api/`;
  }
  get webhookUrl(): string {
    return `${this.#host.url}${WEBHOOK_PATH}`;
  }
  get received(): readonly SlackCall[] {
    return this.#log.items;
  }
  get files(): readonly SlackFile[] {
    return this.#files;
  }

  messages(channel?: string): readonly SlackMessage[] {
    if (channel === undefined) return this.#messages;
    const id = this.#names.get(channel.replace(/^#/, '').toLowerCase()) ?? channel;
    return this.#messages.filter((m) => m.channel === id);
  }

  async waitFor(match?: Match<SlackCall>, timeoutMs = DEFAULT_WAIT_MS): Promise<SlackCall> {
    const [call] = await this.#log.waitFor(toPredicate(match), 1, timeoutMs, describeMatch(match));
    return call as SlackCall;
  }

  waitForCount(match: Match<SlackCall> | undefined, count: number, timeoutMs = DEFAULT_WAIT_MS): Promise<SlackCall[]> {
    return this.#log.waitFor(toPredicate(match), count, timeoutMs, describeMatch(match));
  }

  clearReceived(): void {
    this.#log.clear();
  }

  async close(): Promise<void> {
    this.#log.close();
    await this.#host.close();
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.#host.url);
    const api = /^\/api\/([A-Za-z0-9_.]+)$/.exec(url.pathname);
    const upload = /^\/upload\/v1\/([A-Za-z0-9]+)$/.exec(url.pathname);
    const webhook = url.pathname.startsWith('/services/');
    if (!api && !upload && !webhook) {
      sendText(res, 404, 'Not Found');
      return;
    }
    const method = api ? (api[1] ?? '') : upload ? 'upload' : 'webhook';
    const body = await readBody(req);
    const call: SlackCall = { method, params: {}, files: [], encoding: 'none', status: null, at: Date.now() };
    const ctx: Ctx = { call, req, res, params: call.params };
    let bodyError: string | undefined;
    try {
      const parsed = await parseBody(req, body, url);
      Object.assign(call, { params: parsed.params, files: parsed.files, encoding: parsed.encoding });
      ctx.params = parsed.params;
    } catch (error) {
      if (!(error instanceof BadBodyError)) throw error;
      bodyError = error.message;
    }
    this.#log.push(call);

    if (!(await this.#host.sleep(this.faults.latencyMs))) return;
    const fault = takeFault(this.faults, method);
    if (fault) {
      call.fault = fault.kind;
      this.#log.touch(call);
      this.#applyFault(ctx, fault, Boolean(api));
      return;
    }

    if (webhook) return this.#webhook(ctx, url.pathname, body, bodyError);
    if (upload) return this.#upload(ctx, upload[1] ?? '', body);
    try {
      if (bodyError) throw new ApiError('invalid_form_data');
      this.#authenticate(ctx);
      this.#dispatch(ctx, method);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      this.#error(ctx, error.code, error.messages, error.status);
    }
  }

  #authenticate(ctx: Ctx): void {
    const header = ctx.req.headers.authorization;
    const bearer = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
    const token = bearer || str(ctx.params.token);
    if (!token) throw new ApiError('not_authed');
    if (token !== this.token) throw new ApiError('invalid_auth');
  }

  #dispatch(ctx: Ctx, method: string): void {
    const p = ctx.params;
    switch (method) {
      case 'api.test':
        this.#ok(ctx, { args: p });
        return;
      case 'auth.test':
        this.#ok(ctx, {
          url: 'https://epochcast-test.slack.com/',
          team: 'epochcast-test',
          user: 'epochcast-bot',
          team_id: 'T0TEST000',
          user_id: BOT_USER,
          bot_id: BOT_ID,
          is_enterprise_install: false,
        });
        return;
      case 'chat.postMessage':
        this.#postMessage(ctx);
        return;
      case 'chat.update':
        this.#update(ctx);
        return;
      case 'files.getUploadURLExternal':
        this.#getUploadUrl(ctx);
        return;
      case 'files.completeUploadExternal':
        this.#completeUpload(ctx);
        return;
      default:
        throw new ApiError('unknown_method', [], 404);
    }
  }

  #postMessage(ctx: Ctx): void {
    const p = ctx.params;
    const channel = this.#channel(p.channel);
    const { text, blocks } = this.#content(p);
    const threadTs = str(p.thread_ts);
    const message: SlackMessage = {
      channel,
      ts: this.#ts(),
      text,
      ...(blocks ? { blocks } : {}),
      ...(threadTs ? { thread_ts: threadTs } : {}),
      ...(threadTs && bool(p.reply_broadcast) ? { reply_broadcast: true } : {}),
      user: BOT_USER,
      bot_id: BOT_ID,
      via: 'api',
    };
    this.#messages.push(message);
    this.#ok(ctx, { channel, ts: message.ts, message: this.#wire(message) });
  }

  #update(ctx: Ctx): void {
    const p = ctx.params;
    const channel = this.#channel(p.channel);
    const ts = str(p.ts);
    const index = this.#messages.findIndex((m) => m.channel === channel && m.ts === ts);
    const old = this.#messages[index];
    if (!ts || !old) throw new ApiError('message_not_found');
    if (old.via === 'webhook') throw new ApiError('cant_update_message');
    const { text, blocks } = this.#content(p);
    const { blocks: _old, ...rest } = old;
    const message: SlackMessage = { ...rest, text, ...(blocks ? { blocks } : {}), edited: { user: BOT_USER, ts: this.#ts() } };
    this.#messages[index] = message;
    this.#ok(ctx, { channel, ts: message.ts, text, message: this.#wire(message) });
  }

  #getUploadUrl(ctx: Ctx): void {
    const filename = str(ctx.params.filename);
    const length = Number(str(ctx.params.length));
    if (!filename) throw new ApiError('invalid_arguments', ['[ERROR] missing required field: filename']);
    if (!Number.isInteger(length) || length < 0) throw new ApiError('invalid_arguments', ['[ERROR] missing required field: length']);
    const id = `F0${String(this.#nextId++).padStart(8, '0')}`;
    this.#files.push({ id, name: filename, length, completed: false });
    this.#ok(ctx, { upload_url: `${this.#host.url}/upload/v1/${id}`, file_id: id });
  }

  #upload(ctx: Ctx, id: string, body: Buffer): void {
    const file = this.#files.find((f) => f.id === id);
    if (!file) {
      this.#text(ctx, 404, 'file_not_found');
      return;
    }
    const part = ctx.call.files[0];
    file.bytes = part ? part.bytes : body;
    file.contentType = part ? part.contentType : (ctx.req.headers['content-type'] ?? 'application/octet-stream');
    this.#text(ctx, 200, `OK - ${file.bytes.length}`);
  }

  #completeUpload(ctx: Ctx): void {
    const p = ctx.params;
    let entries = p.files;
    if (typeof entries === 'string') {
      try {
        entries = JSON.parse(entries);
      } catch {
        throw new ApiError('invalid_arguments', ['[ERROR] invalid JSON [json-pointer:/files]']);
      }
    }
    if (!Array.isArray(entries) || entries.length === 0) throw new ApiError('invalid_arguments', ['[ERROR] missing required field: files']);
    const channelArg = str(p.channel_id) ?? str(p.channels)?.split(',')[0];
    const channel = channelArg ? this.#channel(channelArg) : undefined;
    const threadTs = str(p.thread_ts);
    const initialComment = str(p.initial_comment);
    const files = entries.map((entry: unknown) => {
      const { id, title } = (entry ?? {}) as Partial<Record<string, unknown>>;
      const file = this.#files.find((f) => f.id === id);
      if (!file?.bytes) throw new ApiError('file_not_found');
      return { file, title: typeof title === 'string' ? title : undefined };
    });
    for (const { file, title } of files) {
      file.completed = true;
      if (title) file.title = title;
      if (channel) file.channel = channel;
      if (threadTs) file.threadTs = threadTs;
      if (initialComment) file.initialComment = initialComment;
    }
    if (channel) {
      this.#messages.push({
        channel,
        ts: this.#ts(),
        text: initialComment ?? '',
        ...(threadTs ? { thread_ts: threadTs } : {}),
        user: BOT_USER,
        bot_id: BOT_ID,
        files: files.map(({ file }) => ({ id: file.id, name: file.name, ...(file.title ? { title: file.title } : {}) })),
        via: 'file',
      });
    }
    this.#ok(ctx, {
      files: files.map(({ file }) => ({
        id: file.id,
        name: file.name,
        title: file.title ?? file.name,
        mimetype: file.contentType ?? 'application/octet-stream',
        size: file.bytes?.length ?? 0,
      })),
    });
  }

  #webhook(ctx: Ctx, path: string, body: Buffer, bodyError: string | undefined): void {
    if (path !== WEBHOOK_PATH) {
      this.#text(ctx, 404, 'no_service');
      return;
    }
    let payload: unknown = bodyError ? undefined : ctx.params;
    if (ctx.call.encoding === 'form') {
      try {
        payload = JSON.parse(str(ctx.params.payload) ?? '');
      } catch {
        payload = undefined;
      }
    } else if (ctx.call.encoding === 'raw') {
      try {
        payload = JSON.parse(body.toString('utf8'));
      } catch {
        payload = undefined;
      }
    }
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      this.#text(ctx, 400, 'invalid_payload');
      return;
    }
    const fields = payload as Record<string, unknown>;
    ctx.call.params = fields;
    const blocks = parseBlocks(fields.blocks);
    if ('error' in blocks) {
      this.#text(ctx, 400, 'invalid_blocks');
      return;
    }
    const text = str(fields.text) ?? '';
    if (text === '' && !blocks.blocks && fields.attachments === undefined) {
      this.#text(ctx, 400, 'no_text');
      return;
    }
    if (text.length > TEXT_MAX) {
      this.#text(ctx, 400, 'msg_too_long');
      return;
    }
    // Incoming webhooks post where they were installed: channel, username and icon overrides are ignored.
    this.#messages.push({
      channel: WEBHOOK_CHANNEL,
      ts: this.#ts(),
      text,
      ...(blocks.blocks ? { blocks: blocks.blocks } : {}),
      user: BOT_USER,
      bot_id: BOT_ID,
      via: 'webhook',
    });
    this.#text(ctx, 200, 'ok');
  }

  #content(p: Record<string, unknown>): { text: string; blocks: unknown[] | undefined } {
    const parsed = parseBlocks(p.blocks);
    if ('error' in parsed) throw new ApiError(parsed.error, parsed.messages);
    const text = str(p.text) ?? '';
    if (text === '' && !parsed.blocks && p.attachments === undefined) throw new ApiError('no_text');
    if (text.length > TEXT_MAX) throw new ApiError('msg_too_long');
    return { text, blocks: parsed.blocks };
  }

  #channel(value: unknown): string {
    const raw = str(value)?.trim() ?? '';
    if (raw === '') throw new ApiError('channel_not_found');
    if (ID_PATTERN.test(raw)) {
      if (this.#restricted && !this.#ids.has(raw)) throw new ApiError('channel_not_found');
      return raw;
    }
    const name = raw.replace(/^#/, '').toLowerCase();
    const id = this.#names.get(name);
    if (id) return id;
    if (this.#restricted) throw new ApiError('channel_not_found');
    return this.#nameToId(name);
  }

  #nameToId(channel: string): string {
    const name = channel.replace(/^#/, '').toLowerCase();
    const existing = this.#names.get(name);
    if (existing) return existing;
    const id = `C0${String(this.#nextId++).padStart(8, '0')}`;
    this.#names.set(name, id);
    this.#ids.add(id);
    return id;
  }

  /** Slack timestamps are unique per workspace and increase: seconds, then a sequence. */
  #ts(): string {
    this.#seq += 1;
    return `${Math.floor(Date.now() / 1000)}.${String(this.#seq % 1_000_000).padStart(6, '0')}`;
  }

  #wire(message: SlackMessage): Record<string, unknown> {
    const { via: _via, channel: _channel, ...rest } = message;
    return { type: 'message', ...rest };
  }

  #applyFault(ctx: Ctx, fault: Fault, api: boolean): void {
    switch (fault.kind) {
      case 'rateLimit': {
        const headers = { 'retry-after': String(fault.retryAfterSec) };
        if (api) this.#error(ctx, 'ratelimited', [], 429, headers);
        else this.#text(ctx, 429, 'rate_limited', headers);
        return;
      }
      case 'serverError': {
        const status = fault.status ?? 500;
        const code = status === 503 ? 'service_unavailable' : 'internal_error';
        if (api) this.#error(ctx, code, [], status);
        else this.#text(ctx, status, code);
        return;
      }
      case 'unauthorized':
        if (api) this.#error(ctx, 'invalid_auth');
        else this.#text(ctx, 403, 'invalid_token');
        return;
      case 'reset':
        resetConnection(ctx.req);
        return;
      case 'hang':
        return;
    }
  }

  #ok(ctx: Ctx, result: Record<string, unknown>): void {
    if (ctx.res.writableEnded || ctx.res.destroyed) return;
    ctx.call.status = 200;
    this.#log.touch(ctx.call);
    sendJson(ctx.res, 200, { ok: true, ...result });
  }

  #error(ctx: Ctx, code: string, messages: string[] = [], status = 200, headers: Record<string, string> = {}): void {
    if (ctx.res.writableEnded || ctx.res.destroyed) return;
    ctx.call.status = status;
    ctx.call.error = code;
    this.#log.touch(ctx.call);
    sendJson(ctx.res, status, { ok: false, error: code, ...(messages.length > 0 ? { response_metadata: { messages } } : {}) }, headers);
  }

  #text(ctx: Ctx, status: number, text: string, headers: Record<string, string> = {}): void {
    if (ctx.res.writableEnded || ctx.res.destroyed) return;
    ctx.call.status = status;
    if (status !== 200) ctx.call.error = text;
    this.#log.touch(ctx.call);
    sendText(ctx.res, status, text, headers);
  }
}

/** Start a Slack Web API + incoming-webhook server on 127.0.0.1 (ephemeral port). */
export async function startSlackServer(options: SlackServerOptions = {}): Promise<SlackServer> {
  let server: SlackServerImpl | undefined;
  const host = await HttpHost.start((req, res) => (server as SlackServerImpl).handle(req, res));
  server = new SlackServerImpl(host, options);
  return server;
}
