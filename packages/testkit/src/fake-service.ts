/**
 * The fake-service HTTP base: what every testkit HTTP server (Telegram, Slack, webhook) is built
 * on, exported so that a plugin author can fake a new service in a few dozen lines.
 *
 * It owns the request pipeline, the same for every service: listen on 127.0.0.1 (ephemeral port),
 * read the body (bounded), parse it as the real services do (query string, then a JSON, urlencoded
 * or multipart body), record the call, delay it by `faults.latencyMs`, take the next queued fault
 * for the call's name and apply it (hang and reset here; 429, 5xx and 401 in the service's own
 * wire format), and only then route the call. `close()` ends pending and hung requests, timers
 * and sockets. A service supplies four things: how to name a call, what to record of it, how to
 * answer each fault in its wire format, and its routes.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { takeFault } from './faults.js';
import {
  BadBodyError,
  type BodyEncoding,
  HttpHost,
  type ParsedBody,
  parseBody,
  type ReceivedFile,
  readBody,
  resetConnection,
  sendJson,
  sendText,
} from './http.js';
import { RecordingServer, type ServiceRecord } from './record-log.js';

/** What arrived: the request, its name and its parameters, parsed as the real service would. */
export interface ServiceRequest {
  readonly req: IncomingMessage;
  /** The request URL, resolved against the server's. */
  readonly url: URL;
  /** The call's name, as `callName` gave it: what fault scopes and `waitFor('…')` match. */
  readonly name: string;
  /** The raw body. */
  readonly body: Buffer;
  /** Query string and body fields. Form and multipart values are strings; JSON keeps its types. */
  readonly params: Record<string, unknown>;
  /** File parts of a multipart request. */
  readonly files: ReceivedFile[];
  readonly encoding: BodyEncoding;
  /** Why the body could not be parsed (bad JSON, a broken multipart body); `params` then stays empty. */
  readonly bodyError: string | undefined;
}

/**
 * A call being answered: what arrived, its record, and the ways to answer it. Each answer sets the
 * record's `status` (waiters on it wake up); an answer to a call already answered, or whose client
 * went away, does nothing.
 */
export interface ServiceCall<R extends ServiceRecord> extends ServiceRequest {
  readonly record: R;
  readonly res: ServerResponse;
  /** Whether an answer was sent, or the connection is gone. */
  readonly answered: boolean;
  json(status: number, body: unknown, headers?: Record<string, string>): void;
  text(status: number, text: string, headers?: Record<string, string>): void;
  /** An answer without a body, such as 204 No Content. */
  empty(status: number, headers?: Record<string, string>): void;
}

/** A fault the service answers in its own wire format (the base itself hangs and resets). */
export type AnsweredFault =
  | { kind: 'rateLimit'; retryAfterSec: number }
  | { kind: 'serverError'; status: number }
  | { kind: 'unauthorized' };

/**
 * A local HTTP server playing a service. Subclass it, implement the four hooks, and start it with
 * `await new MyFake().listen()`; it then has `url`, `received`, `faults`, `waitFor`,
 * `waitForCount`, `clearReceived` and `close` like every testkit server.
 */
export abstract class FakeService<R extends ServiceRecord> extends RecordingServer<R> {
  #host: HttpHost | undefined;

  /** Starts listening on 127.0.0.1, on an ephemeral port. */
  async listen(): Promise<this> {
    this.#host ??= await HttpHost.start((req, res) => this.#handle(req, res));
    return this;
  }

  /** `http://127.0.0.1:<port>`. */
  get url(): string {
    return this.#started().url;
  }

  async close(): Promise<void> {
    this.log.close();
    await this.#host?.close();
  }

  /**
   * The call's name (`sendMessage`, `chat.postMessage`, `execute`…), or `undefined` for a path the
   * service does not serve: that request is answered by `notFound` and not recorded.
   */
  protected abstract callName(req: IncomingMessage, url: URL): string | undefined;

  /** The service's record of a call; the base adds `status`, `fault` and `at`. */
  protected abstract newRecord(request: ServiceRequest): Omit<R, keyof ServiceRecord>;

  /** Answers a 429, 5xx or 401 fault as the service does (its body, its retry-after). */
  protected abstract answerFault(call: ServiceCall<R>, fault: AnsweredFault): void;

  /** Answers a call that got through latency and faults. */
  protected abstract route(call: ServiceCall<R>): void | Promise<void>;

  /** Answers a request for a path the service does not serve. Default: 404, text. */
  protected notFound(res: ServerResponse): void {
    sendText(res, 404, 'Not Found');
  }

  /**
   * Answers, at once, a call whose body could not be parsed, as a service that parses before
   * anything else does (no latency, no fault). Without it, `route` gets the call with `bodyError`.
   */
  protected rejectBody?(call: ServiceCall<R>): void;

  /** A timer that `close()` cancels (long polls, throttles). Returns its cancel function. */
  protected setTimer(fn: () => void, ms: number): () => void {
    return this.#started().setTimer(fn, ms);
  }

  #started(): HttpHost {
    if (!this.#host) throw new Error('the fake service is not listening yet: await listen() first');
    return this.#host;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const host = this.#started();
    const url = new URL(req.url ?? '/', host.url);
    const name = this.callName(req, url);
    if (name === undefined) {
      this.notFound(res);
      return;
    }
    const body = await readBody(req);
    let parsed: ParsedBody = { params: {}, files: [], encoding: 'none' };
    let bodyError: string | undefined;
    try {
      parsed = await parseBody(req, body, url);
    } catch (error) {
      if (!(error instanceof BadBodyError)) throw error;
      bodyError = error.message;
    }
    const request: ServiceRequest = { req, url, name, body, ...parsed, bodyError };
    const record = Object.assign(this.newRecord(request), { status: null, at }) as R;
    const call = this.#call(request, record, res);
    this.log.push(record, name);
    if (bodyError !== undefined && this.rejectBody) {
      this.rejectBody(call);
      return;
    }

    if (!(await host.sleep(this.faults.latencyMs))) return;
    const fault = takeFault(this.faults, name);
    if (!fault) {
      await this.route(call);
      return;
    }
    record.fault = fault.kind;
    this.log.touch(record);
    if (fault.kind === 'reset') resetConnection(req);
    else if (fault.kind === 'serverError') this.answerFault(call, { kind: 'serverError', status: fault.status ?? 500 });
    else if (fault.kind !== 'hang') this.answerFault(call, fault);
  }

  #call(request: ServiceRequest, record: R, res: ServerResponse): ServiceCall<R> {
    const answer = (status: number, write: () => void): void => {
      if (res.writableEnded || res.destroyed) return;
      record.status = status;
      this.log.touch(record);
      write();
    };
    return {
      ...request,
      record,
      res,
      get answered() {
        return res.writableEnded || res.destroyed;
      },
      json: (status, body, headers = {}) => answer(status, () => sendJson(res, status, body, headers)),
      text: (status, text, headers = {}) => answer(status, () => sendText(res, status, text, headers)),
      empty: (status, headers = {}) =>
        answer(status, () => {
          res.writeHead(status, headers);
          res.end();
        }),
    };
  }
}
