/**
 * A local Slack server: the Web API at `/api/<method>` (HTTP 200 with `{ ok:false, error }`
 * for API errors, as Slack answers), the external file-upload flow, and an incoming webhook.
 */

import type { IncomingMessage } from 'node:http';
import { type AnsweredFault, FakeService, type ServiceCall, type ServiceRequest } from './fake-service.js';
import type { BodyEncoding, ReceivedFile } from './http.js';
import { jsonOrUndefined, str } from './params.js';
import type { LocalServer, ServiceRecord } from './record-log.js';
import { BOT_ID, BOT_USER, SlackApiError, type SlackFile, type SlackMessage, SlackWorkspace } from './slack-workspace.js';

/** One request as the server received it: a Web API method, `upload` (the upload URL) or `webhook`. */
export interface SlackCall extends ServiceRecord {
  method: string;
  /** Body fields (JSON values, or strings from forms); for the webhook, the JSON payload. */
  params: Record<string, unknown>;
  files: ReceivedFile[];
  encoding: BodyEncoding;
  /** Slack's `error` code when the call failed (`invalid_auth`, `channel_not_found`, `no_text`, …). */
  error?: string;
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

export interface SlackServer extends LocalServer<SlackCall> {
  /** Base URL of the server. */
  readonly url: string;
  /** For `new WebClient(token, { slackApiUrl: server.apiUrl })` (ends with `/api/`). */
  readonly apiUrl: string;
  /** An incoming-webhook URL, for `new IncomingWebhook(server.webhookUrl)`. */
  readonly webhookUrl: string;
  readonly token: string;
  /** Files created by files.getUploadURLExternal, with their uploaded bytes. */
  readonly files: readonly SlackFile[];
  /** Messages in a channel (ID or name), or in all channels, in their current state after edits. */
  messages(channel?: string): readonly SlackMessage[];
}

type Call = ServiceCall<SlackCall>;

const API_PATH = /^\/api\/([A-Za-z0-9_.]+)$/;
const UPLOAD_PATH = /^\/upload\/v1\/([A-Za-z0-9]+)$/;
const WEBHOOK_PATH = '/services/T0TEST000/B0TEST000/XXXXXXXXXXXXXXXXXXXXXXXX';

class SlackServerImpl extends FakeService<SlackCall> implements SlackServer {
  readonly token: string;
  readonly #workspace: SlackWorkspace;

  constructor(options: SlackServerOptions) {
    super((c, name) => `${name}(${c.error ?? c.status ?? c.fault ?? 'pending'})`);
    this.token = options.token ?? 'xoxb-test-token';
    this.#workspace = new SlackWorkspace(options.channels);
  }

  get apiUrl(): string {
    return `${this.url}/api/`;
  }
  get webhookUrl(): string {
    return `${this.url}${WEBHOOK_PATH}`;
  }
  get files(): readonly SlackFile[] {
    return this.#workspace.files;
  }

  messages(channel?: string): readonly SlackMessage[] {
    return this.#workspace.messagesIn(channel);
  }

  protected callName(_req: IncomingMessage, url: URL): string | undefined {
    const api = API_PATH.exec(url.pathname);
    if (api) return api[1];
    if (UPLOAD_PATH.test(url.pathname)) return 'upload';
    return url.pathname.startsWith('/services/') ? 'webhook' : undefined;
  }

  protected newRecord({ name, params, files, encoding }: ServiceRequest): Omit<SlackCall, keyof ServiceRecord> {
    return { method: name, params, files, encoding };
  }

  /** The Web API answers in JSON; the webhook and the upload URL in plain text. */
  protected answerFault(call: Call, fault: AnsweredFault): void {
    const api = API_PATH.test(call.url.pathname);
    if (fault.kind === 'rateLimit') {
      const headers = { 'retry-after': String(fault.retryAfterSec) };
      if (api) this.#error(call, 'ratelimited', [], 429, headers);
      else this.#text(call, 429, 'rate_limited', headers);
    } else if (fault.kind === 'serverError') {
      const code = fault.status === 503 ? 'service_unavailable' : 'internal_error';
      if (api) this.#error(call, code, [], fault.status);
      else this.#text(call, fault.status, code);
    } else if (api) this.#error(call, 'invalid_auth');
    else this.#text(call, 403, 'invalid_token');
  }

  protected route(call: Call): void {
    const upload = UPLOAD_PATH.exec(call.url.pathname);
    if (call.url.pathname.startsWith('/services/')) this.#webhook(call);
    else if (upload) this.#upload(call, upload[1] ?? '');
    else this.#api(call);
  }

  #api(call: Call): void {
    try {
      if (call.bodyError !== undefined) throw new SlackApiError('invalid_form_data');
      this.#authenticate(call);
      this.#ok(call, this.#dispatch(call));
    } catch (error) {
      if (!(error instanceof SlackApiError)) throw error;
      this.#error(call, error.code, error.messages, error.status);
    }
  }

  #authenticate(call: Call): void {
    const header = call.req.headers.authorization;
    const bearer = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
    const token = bearer || str(call.params.token);
    if (!token) throw new SlackApiError('not_authed');
    if (token !== this.token) throw new SlackApiError('invalid_auth');
  }

  #dispatch(call: Call): Record<string, unknown> {
    const p = call.params;
    switch (call.name) {
      case 'api.test':
        return { args: p };
      case 'auth.test':
        return {
          url: 'https://epochcast-test.slack.com/',
          team: 'epochcast-test',
          user: 'epochcast-bot',
          team_id: 'T0TEST000',
          user_id: BOT_USER,
          bot_id: BOT_ID,
          is_enterprise_install: false,
        };
      case 'chat.postMessage':
        return this.#workspace.postMessage(p);
      case 'chat.update':
        return this.#workspace.update(p);
      case 'files.getUploadURLExternal':
        return this.#workspace.getUploadUrl(p, `${this.url}/upload/v1`);
      case 'files.completeUploadExternal':
        return this.#workspace.completeUpload(p);
      default:
        throw new SlackApiError('unknown_method', [], 404);
    }
  }

  /** The upload URL takes the bytes raw, or as the one file part of a multipart body. */
  #upload(call: Call, id: string): void {
    const part = call.files[0];
    const contentType = part?.contentType ?? call.req.headers['content-type'] ?? 'application/octet-stream';
    const file = this.#workspace.upload(id, part?.bytes ?? call.body, contentType);
    if (file) this.#text(call, 200, `OK - ${file.bytes?.length ?? 0}`);
    else this.#text(call, 404, 'file_not_found');
  }

  /** An incoming webhook takes a JSON body, or a form with the JSON in `payload`. */
  #webhook(call: Call): void {
    let payload: unknown = call.bodyError !== undefined ? undefined : call.params;
    if (call.encoding === 'form') payload = jsonOrUndefined(str(call.params.payload) ?? '');
    else if (call.encoding === 'raw') payload = jsonOrUndefined(call.body.toString('utf8'));
    if (call.url.pathname !== WEBHOOK_PATH) this.#text(call, 404, 'no_service');
    else if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) this.#text(call, 400, 'invalid_payload');
    else {
      call.record.params = payload as Record<string, unknown>;
      const error = this.#workspace.postWebhook(call.record.params);
      this.#text(call, error ? 400 : 200, error ?? 'ok');
    }
  }

  #ok(call: Call, result: Record<string, unknown>): void {
    call.json(200, { ok: true, ...result });
  }

  #error(call: Call, code: string, messages: string[] = [], status = 200, headers: Record<string, string> = {}): void {
    if (call.answered) return;
    call.record.error = code;
    call.json(status, { ok: false, error: code, ...(messages.length > 0 ? { response_metadata: { messages } } : {}) }, headers);
  }

  #text(call: Call, status: number, text: string, headers: Record<string, string> = {}): void {
    if (call.answered) return;
    if (status !== 200) call.record.error = text;
    call.text(status, text, headers);
  }
}

/** Start a Slack Web API + incoming-webhook server on 127.0.0.1 (ephemeral port). */
export function startSlackServer(options: SlackServerOptions = {}): Promise<SlackServer> {
  return new SlackServerImpl(options).listen();
}
