/**
 * A local ntfy server: publishing by POST/PUT to `/<topic>` with ntfy's headers (and their query
 * forms), JSON publishing to `/`, attachments (a PUT body with `Filename`), a message over the
 * limit turned into an `attachment.txt` attachment as ntfy does, its answer and error JSON, optional
 * credentials (a `tk_…` token or a user and password), and the attachment size limit (413).
 */

import { type AnsweredFault, FakeService, type ServiceCall, type ServiceRequest } from './fake-service.js';
import { flattenHeaders } from './http.js';
import { jsonOrUndefined, str } from './params.js';
import type { LocalServer, ServiceRecord } from './record-log.js';

/** An attachment as ntfy stored it. */
export interface NtfyAttachment {
  name: string;
  /** The Content-Type the client sent (ntfy would sniff it), else `application/octet-stream`. */
  type: string;
  size: number;
  bytes: Buffer;
}

/** One publish as the server received and read it. Every publish is the call `publish` (fault scopes, `waitFor`). */
export interface NtfyPublish extends ServiceRecord {
  method: string;
  /** Request path, query included. */
  path: string;
  /** `json`: a JSON body to `/`; `headers`: a body and headers (or query parameters) to `/<topic>`. */
  via: 'json' | 'headers';
  topic: string | undefined;
  title: string | undefined;
  /** The message as ntfy keeps it: `You received a file: <name>` for an attachment without one. */
  message: string;
  /** 1 (min) to 5 (max); 3 when none was given. */
  priority: number;
  tags: string[];
  click: string | undefined;
  markdown: boolean;
  attachment?: NtfyAttachment;
  /** Which credentials came: none, a Bearer token or basic auth (checked or not). */
  auth: 'none' | 'bearer' | 'basic';
  /** Header names lowercased; repeated headers joined with `, `. */
  headers: Record<string, string>;
  /** ntfy's `error` when the publish was refused (`unauthorized`, `attachment too large…`). */
  error?: string;
}

export interface NtfyServerOptions {
  /** Require this access token (`Authorization: Bearer tk_…`). */
  token?: string;
  /** Require basic auth with this user and password (beside the token, if both are set). */
  user?: { username: string; password: string };
  /** ntfy's `message-size-limit`: a longer message becomes the attachment `attachment.txt`. Default 4096 bytes. */
  messageLimitBytes?: number;
  /** ntfy's `attachment-file-size-limit`: a larger attachment is refused with 413. Default 15 MiB. */
  attachmentLimitBytes?: number;
  /**
   * Whether a `faults.rateLimit` 429 carries `Retry-After`. Default true; ntfy.sh's own 429 has none,
   * so `false` plays it: the client must back off on its own.
   */
  retryAfterHeader?: boolean;
}

export interface NtfyServer extends LocalServer<NtfyPublish> {
  /** The server's base URL (`http://127.0.0.1:<port>`); a topic URL is `${url}/<topic>`. */
  readonly url: string;
  /** The accepted messages of a topic (or of every topic), in order. */
  messages(topic?: string): NtfyPublish[];
}

interface Refusal {
  http: number;
  code: number;
  error: string;
}

const TOPIC = /^[-_A-Za-z0-9]{1,64}$/;
const PRIORITIES: Record<string, number> = {
  '0': 0,
  '1': 1,
  '2': 2,
  '3': 3,
  '4': 4,
  '5': 5,
  min: 1,
  low: 2,
  default: 3,
  high: 4,
  urgent: 5,
  max: 5,
};
const DOCS = 'https://ntfy.sh/docs/publish/';
/** ntfy's headers, each with the aliases (headers, then query parameters) it reads. */
const FIELDS = {
  title: ['x-title', 'title', 'ti', 't'],
  priority: ['x-priority', 'priority', 'prio', 'p'],
  tags: ['x-tags', 'tags', 'tag', 'ta'],
  click: ['x-click', 'click'],
  markdown: ['x-markdown', 'markdown', 'md'],
  filename: ['x-filename', 'filename', 'file', 'f'],
  attach: ['x-attach', 'attach', 'a'],
  message: ['x-message', 'message', 'm'],
} as const;

class NtfyServerImpl extends FakeService<NtfyPublish> implements NtfyServer {
  readonly #options: NtfyServerOptions;
  #nextId = 1;

  constructor(options: NtfyServerOptions) {
    super((r) => `publish ${r.topic ?? '?'}(${r.error ?? r.status ?? r.fault ?? 'pending'})`);
    this.#options = options;
  }

  messages(topic?: string): NtfyPublish[] {
    return this.received.filter((r) => r.status === 200 && (topic === undefined || r.topic === topic));
  }

  protected callName(req: { method?: string | undefined }, url: URL): string | undefined {
    if (req.method !== 'POST' && req.method !== 'PUT') return undefined;
    return url.pathname === '/' || /^\/[^/]+\/?$/.test(url.pathname) ? 'publish' : undefined;
  }

  protected newRecord({ req, url, body, params }: ServiceRequest): Omit<NtfyPublish, keyof ServiceRecord> {
    const headers = flattenHeaders(req.headers);
    const authorization = headers.authorization ?? '';
    const auth = /^bearer\s/i.test(authorization) ? 'bearer' : /^basic\s/i.test(authorization) ? 'basic' : 'none';
    const common = { method: req.method ?? 'POST', path: req.url ?? '/', headers, auth } as const;
    if (url.pathname === '/') {
      const json = (Object.keys(params).length > 0 ? params : jsonOrUndefined(body.toString('utf8'))) as
        | Record<string, unknown>
        | undefined;
      return { ...common, via: 'json', ...fromJson(json ?? {}) };
    }
    const read = (names: readonly string[]): string | undefined => {
      for (const name of names) {
        const value = headers[name] === undefined ? undefined : decodeRfc2047(headers[name]);
        // A proxy's RFC 9218 `Priority: u=3, i` is not ntfy's: ntfy skips it, and so does this.
        if (value !== undefined && !(name === 'priority' && /^u=\d/.test(value.trim()))) return value;
      }
      for (const name of names) if (url.searchParams.has(name)) return url.searchParams.get(name) ?? undefined;
      return undefined;
    };
    const topic = decodeURIComponent(url.pathname.replace(/^\/|\/$/g, ''));
    const filename = read(FIELDS.filename);
    const explicit = read(FIELDS.message);
    const markdown = /^(yes|true|1)$/i.test(read(FIELDS.markdown) ?? '') || headers['content-type']?.startsWith('text/markdown') === true;
    const text = filename === undefined ? utf8(body) : undefined;
    const record = {
      ...common,
      via: 'headers' as const,
      topic,
      title: read(FIELDS.title),
      // ntfy trims a message sent as the body, not one given in a header.
      message: explicit ?? text?.trim() ?? '',
      priority: priorityOf(read(FIELDS.priority)) ?? 0,
      tags: splitTags(read(FIELDS.tags)),
      click: read(FIELDS.click),
      markdown,
    };
    // A file, or a body that is no text: an attachment, the message from the header.
    if (body.length > 0 && text === undefined) return { ...record, attachment: attachment(filename ?? 'attachment', headers, body) };
    return record;
  }

  protected answerFault(call: ServiceCall<NtfyPublish>, fault: AnsweredFault): void {
    if (fault.kind === 'rateLimit')
      this.#refuse(
        call,
        { http: 429, code: 42901, error: 'limit reached: too many requests' },
        this.#options.retryAfterHeader === false ? {} : { 'retry-after': String(fault.retryAfterSec) },
      );
    else if (fault.kind === 'serverError')
      this.#refuse(call, { http: fault.status, code: fault.status * 100 + 1, error: 'internal server error' });
    else this.#refuse(call, { http: 401, code: 40101, error: 'unauthorized' });
  }

  protected route(call: ServiceCall<NtfyPublish>): void {
    const refusal = this.#authRefusal(call.record) ?? this.#check(call.record);
    if (refusal) {
      this.#refuse(call, refusal);
      return;
    }
    const r = call.record;
    const limit = this.#options.messageLimitBytes ?? 4096;
    // ntfy keeps a message over its limit as a text attachment, and says so in the message.
    if (!r.attachment && Buffer.byteLength(r.message) > limit) {
      r.attachment = {
        name: 'attachment.txt',
        type: 'text/plain; charset=utf-8',
        size: Buffer.byteLength(r.message),
        bytes: Buffer.from(r.message),
      };
      r.message = '';
    }
    if (r.attachment && r.message === '') r.message = `You received a file: ${r.attachment.name}`;
    if (r.message === '') r.message = 'triggered';
    if (r.priority === 0) r.priority = 3;
    const id = `msg${String(this.#nextId++).padStart(9, '0')}`;
    const time = Math.floor(Date.now() / 1000);
    call.json(200, {
      id,
      time,
      expires: time + 12 * 3600,
      event: 'message',
      topic: r.topic,
      message: r.message,
      ...(r.title !== undefined ? { title: r.title } : {}),
      ...(r.tags.length > 0 ? { tags: r.tags } : {}),
      ...(r.priority !== 3 ? { priority: r.priority } : {}),
      ...(r.click !== undefined ? { click: r.click } : {}),
      ...(r.attachment
        ? { attachment: { name: r.attachment.name, type: r.attachment.type, size: r.attachment.size, url: `${this.url}/file/${id}` } }
        : {}),
    });
  }

  /** Missing credentials where some are required: 403, as ntfy answers anonymous writes it denies; wrong ones: 401. */
  #authRefusal(r: NtfyPublish): Refusal | undefined {
    const { token, user } = this.#options;
    if (token === undefined && user === undefined) return undefined;
    const given = r.headers.authorization ?? '';
    const ok =
      (token !== undefined && given === `Bearer ${token}`) ||
      (user !== undefined && given === `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`);
    if (ok) return undefined;
    return given === '' ? { http: 403, code: 40301, error: 'forbidden' } : { http: 401, code: 40101, error: 'unauthorized' };
  }

  #check(r: NtfyPublish): Refusal | undefined {
    if (r.topic === undefined || !TOPIC.test(r.topic)) return { http: 400, code: 40009, error: 'invalid request: topic invalid' };
    if (Number.isNaN(r.priority)) return { http: 400, code: 40007, error: 'invalid priority' };
    const limit = this.#options.attachmentLimitBytes ?? 15 * 1024 * 1024;
    if (r.attachment && r.attachment.size > limit)
      return { http: 413, code: 41301, error: 'invalid request: attachment too large, or bandwidth limit reached' };
    return undefined;
  }

  #refuse(call: ServiceCall<NtfyPublish>, refusal: Refusal, headers: Record<string, string> = {}): void {
    call.record.error = refusal.error;
    call.json(refusal.http, { ...refusal, link: DOCS }, headers);
  }
}

/** A JSON publish's fields, as ntfy reads them (`priority` a number, `tags` a list). */
function fromJson(body: Record<string, unknown>): Omit<NtfyPublish, keyof ServiceRecord | 'method' | 'path' | 'headers' | 'auth' | 'via'> {
  const filename = str(body.filename);
  const attach = str(body.attach);
  const priority = body.priority === undefined ? 0 : priorityOf(str(body.priority));
  return {
    topic: str(body.topic),
    title: str(body.title),
    message: str(body.message) ?? '',
    priority: priority ?? Number.NaN,
    tags: Array.isArray(body.tags) ? body.tags.map((t) => String(t)) : [],
    click: str(body.click),
    markdown: body.markdown === true,
    ...(attach !== undefined
      ? { attachment: { name: filename ?? 'attachment', type: 'application/octet-stream', size: 0, bytes: Buffer.alloc(0) } }
      : {}),
  };
}

function priorityOf(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return 0;
  return PRIORITIES[value.trim().toLowerCase()] ?? Number.NaN;
}

function splitTags(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

function attachment(name: string, headers: Record<string, string>, bytes: Buffer): NtfyAttachment {
  return { name, type: headers['content-type'] ?? 'application/octet-stream', size: bytes.length, bytes };
}

/** The body as text when it is valid UTF-8 (ntfy's test for a message rather than a file). */
function utf8(body: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return undefined;
  }
}

/** RFC 2047 encoded words (`=?UTF-8?B?…?=`, `=?UTF-8?Q?…?=`) decoded, as ntfy decodes its headers; other text as is. */
export function decodeRfc2047(value: string): string {
  return value.replace(/(\?=)\s+(?==\?)/g, '$1').replace(/=\?utf-8\?([bq])\?([^?]*)\?=/gi, (_all, encoding: string, text: string) =>
    encoding.toLowerCase() === 'b'
      ? Buffer.from(text, 'base64').toString('utf8')
      : Buffer.from(
          text.replace(/_/g, ' ').replace(/=([0-9a-f]{2})/gi, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
          'latin1',
        ).toString('utf8'),
  );
}

/** Start an ntfy server on 127.0.0.1 (ephemeral port). */
export function startNtfyServer(options: NtfyServerOptions = {}): Promise<NtfyServer> {
  return new NtfyServerImpl(options).listen();
}
