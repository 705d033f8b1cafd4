/**
 * A local Discord webhook endpoint on 127.0.0.1 that answers like discord.com does, for testing
 * DiscordCallback without a Discord server. Built on the testkit's `FakeService`, which does the
 * HTTP plumbing (body, records, latency, faults); what is here is Discord's:
 *
 * - `GET  /api[/v10]/webhooks/<id>/<token>`: the webhook object; a wrong token 401, an unknown id 404.
 * - `POST /api[/v10]/webhooks/<id>/<token>[?wait=true][&thread_id=…]`: JSON only; 204 No Content
 *   (200 with the message object with `wait=true`); 400 `{ code: 50035, message: 'Invalid Form
 *   Body', errors }` for a payload over Discord's limits, exactly as Discord nests the errors.
 * - A rate-limit bucket per webhook (default 5 messages per 2 s, Discord's usual webhook bucket)
 *   with the `X-RateLimit-*` headers on every answer, and 429 `{ message, retry_after, global }`
 *   (seconds, fractional) plus `Retry-After` (rounded up) when it is exceeded.
 * - Faults answered in Discord's format; a fault scope's method is `execute` for a POST, `get` for a GET.
 */
import type { IncomingMessage } from 'node:http';
import {
  type AnsweredFault,
  FakeService,
  type LocalServer,
  type ServiceCall,
  type ServiceRecord,
  type ServiceRequest,
} from '@epochcast/testkit';
import { DISCORD_LIMITS } from '../src/index.js';

export interface DiscordRequest extends ServiceRecord {
  method: string;
  /** Path and query. */
  path: string;
  /** `execute` (POST) or `get` (GET), the names fault scopes use. */
  kind: 'execute' | 'get' | 'other';
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
  /** Discord's error body, when the answer was an error. */
  error?: { code: number; message: string; errors?: unknown; retry_after?: number; global?: boolean };
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

export interface DiscordServer extends LocalServer<DiscordRequest> {
  /** `http://127.0.0.1:<port>/api/webhooks/<id>/<token>`: what DISCORD_WEBHOOK_URL would hold. */
  readonly webhookUrl: string;
  readonly id: string;
  readonly token: string;
  readonly messages: readonly ReceivedMessage[];
  /** Answer the next message 429 with this `retry_after` (seconds, may be fractional) in the body. */
  rateLimitNext(retryAfterSeconds: number, options?: { global?: boolean }): void;
}

type Call = ServiceCall<DiscordRequest>;
type Answer = [status: number, body: unknown, headers?: Record<string, string>];

const PATH = /^\/api(?:\/v\d+)?\/webhooks\/([^/]+)\/([^/]+)\/?$/;

class DiscordServerImpl extends FakeService<DiscordRequest> implements DiscordServer {
  readonly messages: ReceivedMessage[] = [];
  readonly id: string;
  readonly token: string;
  readonly #bucket: { limit: number; resetAfterMs: number } | false;
  readonly #rateLimits: { retryAfter: number; global: boolean }[] = [];
  #bucketCount = 0;
  #bucketResetAt = 0;
  #nextId = 1_300_000_000_000_000_000n;

  constructor(options: DiscordServerOptions) {
    super();
    this.id = options.id ?? '1234567890123456789';
    this.token = options.token ?? 'local-Webhook-T0ken_abcdefghijklmnopqrstuvwxyz0123456789';
    this.#bucket = options.bucket ?? { limit: 5, resetAfterMs: 2000 };
  }

  get webhookUrl(): string {
    return `${this.url}/api/webhooks/${this.id}/${this.token}`;
  }

  rateLimitNext(retryAfterSeconds: number, options: { global?: boolean } = {}): void {
    this.#rateLimits.push({ retryAfter: retryAfterSeconds, global: options.global ?? false });
  }

  protected callName(req: IncomingMessage): string {
    return req.method === 'POST' ? 'execute' : req.method === 'GET' ? 'get' : 'other';
  }

  protected newRecord({ req, url, name }: ServiceRequest): Omit<DiscordRequest, keyof ServiceRecord> {
    const kind = name as DiscordRequest['kind'];
    return { method: req.method ?? 'GET', path: `${url.pathname}${url.search}`, kind, body: undefined, headers: req.headers };
  }

  protected answerFault(call: Call, fault: AnsweredFault): void {
    if (fault.kind === 'rateLimit')
      reply(call, [429, rateLimited(fault.retryAfterSec, false), { 'retry-after': String(fault.retryAfterSec) }]);
    else if (fault.kind === 'serverError') reply(call, [fault.status, { message: `${fault.status}: Internal Server Error`, code: 0 }]);
    else reply(call, [401, { message: '401: Unauthorized', code: 0 }]);
  }

  protected route(call: Call): void {
    const match = PATH.exec(call.url.pathname);
    if (!match) reply(call, [404, { message: '404: Not Found', code: 0 }]);
    else if (match[1] !== this.id) reply(call, [404, { message: 'Unknown Webhook', code: 10015 }]);
    else if (match[2] !== this.token) reply(call, [401, { message: 'Invalid Webhook Token', code: 50027 }]);
    else if (call.record.method === 'GET') reply(call, [200, this.#webhookObject()]);
    else if (call.record.method !== 'POST') reply(call, [405, { message: '405: Method Not Allowed', code: 0 }]);
    else reply(call, this.#execute(call));
  }

  /** A POST: the rate limits first, then the body, as Discord checks them. */
  #execute(call: Call): Answer {
    const forced = this.#rateLimits.shift();
    if (forced) {
      call.record.fault = 'rateLimit';
      const global: Record<string, string> = forced.global ? { 'x-ratelimit-global': 'true', 'x-ratelimit-scope': 'global' } : {};
      return [429, rateLimited(forced.retryAfter, forced.global), { 'retry-after': String(Math.ceil(forced.retryAfter)), ...global }];
    }
    const { ok, headers, resetAfterMs } = this.#takeFromBucket();
    const seconds = Math.round(resetAfterMs) / 1000;
    if (!ok)
      return [429, rateLimited(seconds, false), { ...headers, 'retry-after': String(Math.ceil(seconds)), 'x-ratelimit-scope': 'user' }];
    let body: unknown;
    try {
      body = JSON.parse(call.body.toString('utf8'));
    } catch {
      return [400, { message: 'The request body contains invalid JSON.', code: 50109 }, headers];
    }
    const type = (call.req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json') return [400, { message: 'Cannot send an empty message', code: 50006 }, headers];
    call.record.body = body;
    const invalid = validateMessage(body);
    if (invalid === 'empty') return [400, { message: 'Cannot send an empty message', code: 50006 }, headers];
    if (invalid) return [400, { message: 'Invalid Form Body', code: 50035, errors: invalid }, headers];

    const payload = body as { content?: string; embeds?: Record<string, unknown>[]; username?: string };
    const content = payload.content ?? '';
    const embeds = payload.embeds ?? [];
    const id = String(this.#nextId++);
    const threadId = call.url.searchParams.get('thread_id') ?? undefined;
    const text = [content, ...embeds.map(embedText)].filter(Boolean).join('\n');
    this.messages.push({ id, content, embeds, username: payload.username, threadId, text });
    if (call.url.searchParams.get('wait') !== 'true') return [204, undefined, headers];
    const timestamp = new Date().toISOString();
    return [200, { id, type: 0, channel_id: '555', content, embeds, webhook_id: this.id, timestamp }, headers];
  }

  #webhookObject(): Record<string, unknown> {
    return {
      type: 1,
      id: this.id,
      name: 'epochcast',
      avatar: null,
      channel_id: '555',
      guild_id: '777',
      application_id: null,
      token: this.token,
    };
  }

  /** Takes one message from the webhook's bucket; the `X-RateLimit-*` headers after it. */
  #takeFromBucket(): { ok: boolean; headers: Record<string, string>; resetAfterMs: number } {
    if (!this.#bucket) return { ok: true, headers: {}, resetAfterMs: 0 };
    const now = Date.now();
    if (now >= this.#bucketResetAt) [this.#bucketCount, this.#bucketResetAt] = [0, now + this.#bucket.resetAfterMs];
    const ok = this.#bucketCount < this.#bucket.limit;
    if (ok) this.#bucketCount += 1;
    const resetAfterMs = this.#bucketResetAt - now;
    const headers = {
      'x-ratelimit-limit': String(this.#bucket.limit),
      'x-ratelimit-remaining': String(this.#bucket.limit - this.#bucketCount),
      'x-ratelimit-reset': (this.#bucketResetAt / 1000).toFixed(3),
      'x-ratelimit-reset-after': (resetAfterMs / 1000).toFixed(3),
      'x-ratelimit-bucket': 'local-webhook-bucket',
    };
    return { ok, headers, resetAfterMs };
  }
}

/** Discord answers errors as `{ message, code }`; 204 has no body. */
function reply(call: Call, [status, body, headers = {}]: Answer): void {
  if (status >= 400 && !call.answered) call.record.error = body as DiscordRequest['error'];
  if (status === 204) call.empty(status, headers);
  else call.json(status, body, headers);
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

const error = (code: string, message: string): FormErrors => ({ _errors: [{ code, message }] });
const tooLong = (max: number): FormErrors => error('BASE_TYPE_MAX_LENGTH', `Must be ${max} or fewer in length.`);
const hasKeys = (errors: FormErrors): boolean => Object.keys(errors).length > 0;

/** Puts the error of an optional string over `max` at `into[key]`; returns its length toward the embeds' total. */
function checkText(into: FormErrors, key: string, value: unknown, max: number): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'string') into[key] = error('BASE_TYPE_STRING', 'Could not interpret the value as string.');
  else if (value.length > max) into[key] = tooLong(max);
  return typeof value === 'string' ? value.length : 0;
}

/** An embed's errors (none: `{}`) and its length toward the total of 6000. */
function checkEmbed(embed: Record<string, unknown>): { errors: FormErrors; length: number } {
  const e: FormErrors = {};
  let length = checkText(e, 'title', embed.title, DISCORD_LIMITS.title);
  length += checkText(e, 'description', embed.description, DISCORD_LIMITS.description);
  if (embed.footer) {
    const footer: FormErrors = {};
    length += checkText(footer, 'text', (embed.footer as { text?: unknown }).text, DISCORD_LIMITS.footer);
    if (hasKeys(footer)) e.footer = footer;
  }
  const color = embed.color;
  if (color !== undefined && (!Number.isInteger(color) || (color as number) < 0 || (color as number) > 0xffffff))
    e.color = error('NUMBER_TYPE_MAX', 'int value should be less than or equal to 16777215.');
  if (embed.timestamp !== undefined && Number.isNaN(Date.parse(String(embed.timestamp))))
    e.timestamp = error('DATE_TYPE_PARSE', 'Could not parse timestamp. Should be ISO8601.');
  const fields = Array.isArray(embed.fields) ? (embed.fields as Record<string, unknown>[]) : [];
  const fieldErrors: FormErrors = {};
  if (fields.length > DISCORD_LIMITS.fields) e.fields = tooLong(DISCORD_LIMITS.fields);
  else
    fields.forEach((field, j) => {
      const f: FormErrors = {};
      for (const [key, max] of [
        ['name', DISCORD_LIMITS.fieldName],
        ['value', DISCORD_LIMITS.fieldValue],
      ] as const) {
        const value = field[key];
        if (typeof value !== 'string' || value.length === 0) f[key] = error('BASE_TYPE_REQUIRED', 'This field is required');
        else length += checkText(f, key, value, max);
      }
      if (hasKeys(f)) fieldErrors[String(j)] = f;
    });
  if (hasKeys(fieldErrors)) e.fields = fieldErrors;
  return { errors: e, length };
}

/**
 * Checks a message as Discord does: 'empty', Discord's nested `errors` object, or undefined when
 * it is accepted. Lengths are counted in UTF-16 units, which is never less than Discord's count.
 */
export function validateMessage(body: unknown): FormErrors | 'empty' | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    return error('DICT_TYPE_CONVERT', 'Only dictionaries may be used in a DictType');
  const { content, embeds } = body as { content?: unknown; embeds?: unknown };
  const errors: FormErrors = {};
  checkText(errors, 'content', content, DISCORD_LIMITS.content);
  const list = Array.isArray(embeds) ? (embeds as unknown[]) : [];
  if (embeds !== undefined && !Array.isArray(embeds)) errors.embeds = error('BASE_TYPE_LIST', 'Must be a list.');
  if (list.length > DISCORD_LIMITS.embeds) errors.embeds = tooLong(DISCORD_LIMITS.embeds);
  let total = 0;
  list.forEach((raw, i) => {
    const embed = checkEmbed((raw ?? {}) as Record<string, unknown>);
    total += embed.length;
    if (hasKeys(embed.errors)) errors.embeds = { ...(errors.embeds as FormErrors | undefined), [String(i)]: embed.errors };
  });
  if (total > DISCORD_LIMITS.embedTotal)
    errors.embeds = {
      ...(errors.embeds as FormErrors | undefined),
      ...error('MAX_EMBED_SIZE_EXCEEDED', 'Embed size exceeds maximum size of 6000'),
    };
  if (hasKeys(errors)) return errors;
  const hasContent = typeof content === 'string' && content.trim() !== '';
  return !hasContent && list.length === 0 ? 'empty' : undefined;
}

/** Starts a Discord webhook endpoint on 127.0.0.1 (ephemeral port). */
export function startDiscordServer(options: DiscordServerOptions = {}): Promise<DiscordServer> {
  return new DiscordServerImpl(options).listen();
}
