/**
 * A local Discord webhook endpoint on 127.0.0.1 that answers like discord.com does, for testing
 * DiscordCallback without a Discord server:
 *
 * - `GET  /api[/v10]/webhooks/<id>/<token>`: the webhook object; a wrong token 401, an unknown id 404.
 * - `POST /api[/v10]/webhooks/<id>/<token>[?wait=true][&thread_id=…]`: JSON only; 204 No Content
 *   (200 with the message object with `wait=true`); 400 `{ code: 50035, message: 'Invalid Form
 *   Body', errors }` for a payload over Discord's limits, exactly as Discord nests the errors.
 * - A rate-limit bucket per webhook (default 5 messages per 2 s, Discord's usual webhook bucket)
 *   with the `X-RateLimit-*` headers on every answer, and 429 `{ message, retry_after, global }`
 *   (seconds, fractional) plus `Retry-After` (rounded up) when it is exceeded.
 * - `faults` (testkit's `Faults`, so the conformance suite can drive it): rateLimit, serverError,
 *   unauthorized, hang, reset and latency; scope method `execute` is a POST, `get` a GET.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type Fault, Faults, takeFault } from '@epochcast/testkit';

export const DISCORD_LIMITS = {
  content: 2000,
  embeds: 10,
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  author: 256,
  embedTotal: 6000,
} as const;

export interface DiscordRequest {
  method: string;
  /** Path and query. */
  path: string;
  /** `execute` (POST) or `get` (GET), the names fault scopes use. */
  kind: 'execute' | 'get' | 'other';
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
  /** The answer's status; null while pending (or hung). */
  status: number | null;
  /** Discord's error body, when the answer was an error. */
  error?: { code: number; message: string; errors?: unknown; retry_after?: number; global?: boolean };
  fault?: Fault['kind'];
  at: number;
}

/** A message the channel received. */
export interface ReceivedMessage {
  id: string;
  content: string;
  embeds: Record<string, unknown>[];
  username: string | undefined;
  threadId: string | undefined;
  /** Content and every embed's text, one string: what the channel shows. */
  text: string;
}

export interface DiscordServerOptions {
  /** The webhook's id and token. Default a fixed pair. */
  id?: string;
  token?: string;
  /** The rate-limit bucket of the webhook; `false` for none. Default 5 per 2000 ms. */
  bucket?: { limit: number; resetAfterMs: number } | false;
}

export interface DiscordServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `http://127.0.0.1:<port>/api/webhooks/<id>/<token>`: what DISCORD_WEBHOOK_URL would hold. */
  readonly webhookUrl: string;
  readonly id: string;
  readonly token: string;
  readonly faults: Faults;
  readonly received: readonly DiscordRequest[];
  readonly messages: readonly ReceivedMessage[];
  /** Answer the next message 429 with this `retry_after` (seconds, may be fractional) in the body. */
  rateLimitNext(retryAfterSeconds: number, options?: { global?: boolean }): void;
  close(): Promise<void>;
}

const PATH = /^\/api(?:\/v\d+)?\/webhooks\/([^/]+)\/([^/]+)\/?$/;

class Bucket {
  #count = 0;
  #resetAt = 0;
  constructor(
    readonly limit: number,
    readonly resetAfterMs: number,
  ) {}

  /** Takes one request; how long to wait (ms) when there is none left. */
  take(now: number): { ok: boolean; remaining: number; resetAfterMs: number } {
    if (now >= this.#resetAt) {
      this.#count = 0;
      this.#resetAt = now + this.resetAfterMs;
    }
    const resetAfterMs = this.#resetAt - now;
    if (this.#count >= this.limit) return { ok: false, remaining: 0, resetAfterMs };
    this.#count += 1;
    return { ok: true, remaining: this.limit - this.#count, resetAfterMs };
  }

  headers(state: { remaining: number; resetAfterMs: number }, now: number): Record<string, string> {
    return {
      'x-ratelimit-limit': String(this.limit),
      'x-ratelimit-remaining': String(state.remaining),
      'x-ratelimit-reset': ((now + state.resetAfterMs) / 1000).toFixed(3),
      'x-ratelimit-reset-after': (state.resetAfterMs / 1000).toFixed(3),
      'x-ratelimit-bucket': 'local-webhook-bucket',
    };
  }
}

class DiscordServerImpl implements DiscordServer {
  readonly faults = new Faults();
  readonly received: DiscordRequest[] = [];
  readonly messages: ReceivedMessage[] = [];
  readonly id: string;
  readonly token: string;
  url = '';
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #bucket: Bucket | undefined;
  readonly #rateLimits: { retryAfter: number; global: boolean }[] = [];
  #nextId = 1_300_000_000_000_000_000n;

  constructor(options: DiscordServerOptions) {
    this.id = options.id ?? '1234567890123456789';
    this.token = options.token ?? 'local-Webhook-T0ken_abcdefghijklmnopqrstuvwxyz0123456789';
    const bucket = options.bucket ?? { limit: 5, resetAfterMs: 2000 };
    this.#bucket = bucket === false ? undefined : new Bucket(bucket.limit, bucket.resetAfterMs);
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) this.#json(res, 500, { message: String(error), code: 0 });
      });
    });
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  get webhookUrl(): string {
    return `${this.url}/api/webhooks/${this.id}/${this.token}`;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  rateLimitNext(retryAfterSeconds: number, options: { global?: boolean } = {}): void {
    this.#rateLimits.push({ retryAfter: retryAfterSeconds, global: options.global ?? false });
  }

  close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      for (const socket of this.#sockets) socket.destroy();
      this.#server.closeAllConnections();
    });
  }

  #sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, ms);
      this.#timers.add(timer);
    });
  }

  #json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const kind = method === 'POST' ? 'execute' : method === 'GET' ? 'get' : 'other';
    const request: DiscordRequest = {
      method,
      path: `${url.pathname}${url.search}`,
      kind,
      body: undefined,
      headers: req.headers,
      status: null,
      at: Date.now(),
    };
    this.received.push(request);
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      if (res.writableEnded || res.destroyed) return;
      request.status = status;
      if (status >= 400) request.error = body as DiscordRequest['error'];
      if (status === 204) {
        res.writeHead(204, headers);
        res.end();
      } else this.#json(res, status, body, headers);
    };

    await this.#sleep(this.faults.latencyMs);
    if (res.destroyed) return;

    const fault = takeFault(this.faults, kind);
    if (fault) {
      request.fault = fault.kind;
      switch (fault.kind) {
        case 'rateLimit':
          return reply(429, rateLimited(fault.retryAfterSec, false), { 'retry-after': String(fault.retryAfterSec) });
        case 'serverError': {
          const status = fault.status ?? 500;
          return reply(status, { message: `${status}: Internal Server Error`, code: 0 });
        }
        case 'unauthorized':
          return reply(401, { message: '401: Unauthorized', code: 0 });
        case 'reset':
          req.socket.resetAndDestroy();
          return;
        case 'hang':
          return;
      }
    }

    const match = PATH.exec(url.pathname);
    if (!match) return reply(404, { message: '404: Not Found', code: 0 });
    if (match[1] !== this.id) return reply(404, { message: 'Unknown Webhook', code: 10015 });
    if (match[2] !== this.token) return reply(401, { message: 'Invalid Webhook Token', code: 50027 });

    if (method === 'GET') {
      return reply(200, {
        type: 1,
        id: this.id,
        name: 'epochcast',
        avatar: null,
        channel_id: '555',
        guild_id: '777',
        application_id: null,
        token: this.token,
      });
    }
    if (method !== 'POST') return reply(405, { message: '405: Method Not Allowed', code: 0 });

    const forced = this.#rateLimits.shift();
    if (forced) {
      request.fault = 'rateLimit';
      return reply(429, rateLimited(forced.retryAfter, forced.global), {
        'retry-after': String(Math.ceil(forced.retryAfter)),
        ...(forced.global ? { 'x-ratelimit-global': 'true', 'x-ratelimit-scope': 'global' } : {}),
      });
    }
    const now = Date.now();
    const slot = this.#bucket?.take(now);
    const headers = this.#bucket && slot ? this.#bucket.headers(slot, now) : {};
    if (slot && !slot.ok) {
      const seconds = Math.round(slot.resetAfterMs) / 1000;
      return reply(429, rateLimited(seconds, false), {
        ...headers,
        'retry-after': String(Math.ceil(seconds)),
        'x-ratelimit-scope': 'user',
      });
    }

    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return reply(400, { message: 'The request body contains invalid JSON.', code: 50109 }, headers);
    }
    if (type !== 'application/json') return reply(400, { message: 'Cannot send an empty message', code: 50006 }, headers);
    request.body = body;
    const invalid = validateMessage(body);
    if (invalid === 'empty') return reply(400, { message: 'Cannot send an empty message', code: 50006 }, headers);
    if (invalid) return reply(400, { message: 'Invalid Form Body', code: 50035, errors: invalid }, headers);

    const payload = body as { content?: string; embeds?: Record<string, unknown>[]; username?: string };
    const id = String(this.#nextId++);
    const message: ReceivedMessage = {
      id,
      content: payload.content ?? '',
      embeds: payload.embeds ?? [],
      username: payload.username,
      threadId: url.searchParams.get('thread_id') ?? undefined,
      text: [payload.content ?? '', ...(payload.embeds ?? []).map(embedText)].filter(Boolean).join('\n'),
    };
    this.messages.push(message);
    if (url.searchParams.get('wait') === 'true') {
      return reply(
        200,
        {
          id,
          type: 0,
          channel_id: '555',
          content: message.content,
          embeds: message.embeds,
          webhook_id: this.id,
          timestamp: new Date().toISOString(),
        },
        headers,
      );
    }
    reply(204, undefined, headers);
  }
}

function rateLimited(retryAfter: number, global: boolean): { message: string; retry_after: number; global: boolean } {
  return { message: 'You are being rate limited.', retry_after: retryAfter, global };
}

function embedText(embed: Record<string, unknown>): string {
  const fields = Array.isArray(embed.fields) ? (embed.fields as { name?: unknown; value?: unknown }[]) : [];
  const footer = embed.footer as { text?: unknown } | undefined;
  return [embed.title, embed.description, ...fields.map((f) => `${String(f.name)}: ${String(f.value)}`), footer?.text]
    .filter((s) => typeof s === 'string' && s !== '')
    .join('\n');
}

type FormErrors = { [key: string]: FormErrors | { code: string; message: string }[] };

function maxLength(max: number) {
  return [{ code: 'BASE_TYPE_MAX_LENGTH', message: `Must be ${max} or fewer in length.` }];
}

/**
 * Checks a message as Discord does: 'empty', Discord's nested `errors` object, or undefined when
 * it is accepted. Lengths are counted in UTF-16 units, which is never less than Discord's count.
 */
export function validateMessage(body: unknown): FormErrors | 'empty' | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    return { _errors: [{ code: 'DICT_TYPE_CONVERT', message: 'Only dictionaries may be used in a DictType' }] };
  const { content, embeds } = body as { content?: unknown; embeds?: unknown };
  const errors: FormErrors = {};
  if (content !== undefined && content !== null) {
    if (typeof content !== 'string')
      errors.content = { _errors: [{ code: 'BASE_TYPE_STRING', message: 'Could not interpret the value as string.' }] };
    else if (content.length > DISCORD_LIMITS.content) errors.content = { _errors: maxLength(DISCORD_LIMITS.content) };
  }
  const list = Array.isArray(embeds) ? (embeds as unknown[]) : [];
  if (embeds !== undefined && !Array.isArray(embeds)) errors.embeds = { _errors: [{ code: 'BASE_TYPE_LIST', message: 'Must be a list.' }] };
  if (list.length > DISCORD_LIMITS.embeds) errors.embeds = { _errors: maxLength(DISCORD_LIMITS.embeds) };
  let total = 0;
  list.forEach((raw, i) => {
    const embed = (raw ?? {}) as Record<string, unknown>;
    const e: FormErrors = {};
    const text = (key: string, value: unknown, max: number, into: FormErrors = e): number => {
      if (value === undefined || value === null) return 0;
      if (typeof value !== 'string') {
        into[key] = { _errors: [{ code: 'BASE_TYPE_STRING', message: 'Could not interpret the value as string.' }] };
        return 0;
      }
      if (value.length > max) into[key] = { _errors: maxLength(max) };
      return value.length;
    };
    total += text('title', embed.title, DISCORD_LIMITS.title);
    total += text('description', embed.description, DISCORD_LIMITS.description);
    if (embed.footer) {
      const footer: FormErrors = {};
      total += text('text', (embed.footer as { text?: unknown }).text, DISCORD_LIMITS.footer, footer);
      if (Object.keys(footer).length) e.footer = footer;
    }
    if (embed.color !== undefined && (!Number.isInteger(embed.color) || (embed.color as number) < 0 || (embed.color as number) > 0xffffff))
      e.color = { _errors: [{ code: 'NUMBER_TYPE_MAX', message: 'int value should be less than or equal to 16777215.' }] };
    if (embed.timestamp !== undefined && Number.isNaN(Date.parse(String(embed.timestamp))))
      e.timestamp = { _errors: [{ code: 'DATE_TYPE_PARSE', message: 'Could not parse timestamp. Should be ISO8601.' }] };
    const fields = Array.isArray(embed.fields) ? (embed.fields as Record<string, unknown>[]) : [];
    if (fields.length > DISCORD_LIMITS.fields) e.fields = { _errors: maxLength(DISCORD_LIMITS.fields) };
    else {
      const fe: FormErrors = {};
      fields.forEach((field, j) => {
        const f: FormErrors = {};
        for (const [key, max] of [
          ['name', DISCORD_LIMITS.fieldName],
          ['value', DISCORD_LIMITS.fieldValue],
        ] as const) {
          const value = field[key];
          if (typeof value !== 'string' || value.length === 0)
            f[key] = { _errors: [{ code: 'BASE_TYPE_REQUIRED', message: 'This field is required' }] };
          else total += text(key, value, max, f);
        }
        if (Object.keys(f).length) fe[String(j)] = f;
      });
      if (Object.keys(fe).length) e.fields = fe;
    }
    if (Object.keys(e).length) errors.embeds = { ...(errors.embeds as FormErrors | undefined), [String(i)]: e };
  });
  if (total > DISCORD_LIMITS.embedTotal)
    errors.embeds = {
      ...(errors.embeds as FormErrors | undefined),
      _errors: [{ code: 'MAX_EMBED_SIZE_EXCEEDED', message: 'Embed size exceeds maximum size of 6000' }],
    };
  if (Object.keys(errors).length) return errors;
  const hasContent = typeof content === 'string' && content.trim() !== '';
  if (!hasContent && list.length === 0) return 'empty';
  return undefined;
}

/** Starts a Discord webhook endpoint on 127.0.0.1 (ephemeral port). */
export async function startDiscordServer(options: DiscordServerOptions = {}): Promise<DiscordServer> {
  const server = new DiscordServerImpl(options);
  await server.listen();
  return server;
}
