/**
 * A recording HTTP proxy on 127.0.0.1, for testing that a client goes through a proxy (and only
 * through it): it forwards absolute-form requests (`GET http://host/path`, how clients send plain
 * http:// through a proxy) and tunnels `CONNECT host:port` (https://, SMTP), recording each. It can
 * demand a login (407 with `Proxy-Authenticate`) or refuse everything (403), as company proxies do.
 */

import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { DEFAULT_WAIT_MS, type Match, RecordLog } from './record-log.js';

/** One request the proxy received. Holds the user name given, never the password. */
export interface ProxyRequest {
  /** `CONNECT` for a tunnel, else the forwarded request's method. */
  method: string;
  /** `host:port` the request was for. */
  target: string;
  /** Path and query of a forwarded request; undefined for a tunnel. */
  path: string | undefined;
  /** The user name in `Proxy-Authorization: Basic …`, when one was given. */
  user: string | undefined;
  /** `none` (no credentials given), `valid` or `invalid` (against `auth`; any given credentials are `valid` without `auth`). */
  auth: 'none' | 'valid' | 'invalid';
  /** What the proxy answered: 200 for a tunnel opened, 407, 403, 502, or the forwarded request's answer. `null` while pending. */
  status: number | null;
  /** `Date.now()` on arrival. */
  at: number;
}

export interface ProxyServerOptions {
  /** Demand this login (`Proxy-Authorization: Basic`): anything else gets 407 with `Proxy-Authenticate`. */
  auth?: { user: string; password: string };
  /** Answer 403 to everything, as a proxy whose policy forbids the destination. Default false. */
  refuse?: boolean;
}

export interface ProxyServer {
  /** `http://127.0.0.1:<port>`, without credentials. */
  readonly url: string;
  readonly port: number;
  /** Every request, in arrival order (the live array). */
  readonly received: readonly ProxyRequest[];
  /** `http://user:password@127.0.0.1:<port>`, percent-encoded. */
  urlWith(user: string, password: string): string;
  /** The first record (received or still to come) matching a predicate, or a method (`CONNECT`, `POST`). */
  waitFor(match?: Match<ProxyRequest>, timeoutMs?: number): Promise<ProxyRequest>;
  waitForCount(match: Match<ProxyRequest> | undefined, count: number, timeoutMs?: number): Promise<ProxyRequest[]>;
  clearReceived(): void;
  /** Stop listening and destroy every connection and tunnel, both ends. */
  close(): Promise<void>;
}

const MAX_HEADER_BYTES = 16 * 1024;
/** Headers for this hop only: not passed on to the destination. */
const HOP_HEADERS = new Set(['proxy-authorization', 'proxy-connection', 'connection', 'keep-alive', 'te', 'trailer', 'upgrade']);

/** Starts a proxy on 127.0.0.1 at a free port. */
export async function startProxyServer(options: ProxyServerOptions = {}): Promise<ProxyServer> {
  const proxy = new RecordingProxy(options);
  await proxy.listen();
  return proxy;
}

class RecordingProxy implements ProxyServer {
  url = '';
  port = 0;
  readonly #options: ProxyServerOptions;
  readonly #server: Server;
  readonly #log = new RecordLog<ProxyRequest>((r) => `${r.method} ${r.target}${r.path ?? ''} (${r.status ?? 'pending'})`);
  /** Client connections and the upstream connections opened for them: close() ends them all. */
  readonly #sockets = new Set<Duplex>();
  #closing: Promise<void> | undefined;

  constructor(options: ProxyServerOptions) {
    this.#options = options;
    this.#server = createServer({ maxHeaderSize: MAX_HEADER_BYTES }, (req, res) => this.forward(req, res));
    this.#server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.tunnel(req, socket, head));
    this.#server.on('connection', (socket: Socket) => this.track(socket));
    this.#server.on('clientError', (_error, socket) => socket.destroy());
  }

  get received(): readonly ProxyRequest[] {
    return this.#log.items;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.#server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${this.port}`;
  }

  urlWith(user: string, password: string): string {
    return `http://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${this.port}`;
  }

  async waitFor(match?: Match<ProxyRequest>, timeoutMs = DEFAULT_WAIT_MS): Promise<ProxyRequest> {
    const [record] = await this.#log.waitFor(match, 1, timeoutMs);
    return record as ProxyRequest;
  }

  waitForCount(match: Match<ProxyRequest> | undefined, count: number, timeoutMs = DEFAULT_WAIT_MS): Promise<ProxyRequest[]> {
    return this.#log.waitFor(match, count, timeoutMs);
  }

  clearReceived(): void {
    this.#log.clear();
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#log.close();
      this.#server.close(() => resolve());
      for (const socket of this.#sockets) socket.destroy();
      this.#server.closeAllConnections();
    });
    return this.#closing;
  }

  private track(socket: Duplex): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  }

  /** The record of a request, with its credentials checked; the status of a refusal, else undefined. */
  private admit(req: IncomingMessage, target: string, path: string | undefined): { record: ProxyRequest; refusal?: 403 | 407 } {
    const { user, password } = basicCredentials(req.headers['proxy-authorization']);
    const wanted = this.#options.auth;
    const auth = user === undefined ? 'none' : !wanted || (user === wanted.user && password === wanted.password) ? 'valid' : 'invalid';
    const record: ProxyRequest = { method: req.method ?? '', target, path, user, auth, status: null, at: Date.now() };
    this.#log.push(record, record.method);
    if (this.#options.refuse) return { record, refusal: 403 };
    if (wanted && auth !== 'valid') return { record, refusal: 407 };
    return { record };
  }

  private answered(record: ProxyRequest, status: number): void {
    record.status = status;
    this.#log.touch(record);
  }

  /** `GET http://host:port/path`: passed on to the destination, its answer passed back. */
  private forward(req: IncomingMessage, res: ServerResponse): void {
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('absolute-form request expected (GET http://host/path)');
      return;
    }
    const target = `${url.hostname}:${url.port || 80}`;
    const { record, refusal } = this.admit(req, target, `${url.pathname}${url.search}`);
    if (refusal) {
      this.answered(record, refusal);
      res.writeHead(refusal, refusalHeaders(refusal)).end(refusal === 407 ? 'proxy login required' : 'forbidden by proxy policy');
      return;
    }
    if (url.protocol !== 'http:') {
      this.answered(record, 400);
      res.writeHead(400, { 'content-type': 'text/plain' }).end('only http:// is forwarded; use CONNECT for https://');
      return;
    }
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined && !HOP_HEADERS.has(name)) headers[name] = value;
    const upstream = httpRequest({ host: url.hostname, port: url.port || 80, method: req.method, path: record.path, headers }, (answer) => {
      this.answered(record, answer.statusCode ?? 502);
      const back: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined && !HOP_HEADERS.has(name)) back[name] = value;
      res.writeHead(answer.statusCode ?? 502, back);
      answer.pipe(res);
    });
    upstream.on('socket', (socket) => this.track(socket));
    upstream.on('error', () => {
      this.answered(record, 502);
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end('could not reach the destination');
      else res.destroy();
    });
    req.pipe(upstream);
  }

  /** `CONNECT host:port`: a TCP tunnel to the destination. */
  private tunnel(req: IncomingMessage, client: Duplex, head: Buffer): void {
    this.track(client);
    const target = req.url ?? '';
    const { record, refusal } = this.admit(req, target, undefined);
    const match = /^(.+):(\d{1,5})$/.exec(target);
    if (refusal || !match) {
      const status = refusal ?? 400;
      this.answered(record, status);
      const lines = Object.entries(refusalHeaders(status)).map(([name, value]) => `${name}: ${value}\r\n`);
      client.end(
        `HTTP/1.1 ${status} ${status === 407 ? 'Proxy Authentication Required' : status === 403 ? 'Forbidden' : 'Bad Request'}\r\n${lines.join('')}content-length: 0\r\n\r\n`,
      );
      return;
    }
    const host = (match[1] as string).replace(/^\[|\]$/g, '');
    const upstream = connect(Number(match[2]), host);
    this.track(upstream);
    upstream.once('connect', () => {
      this.answered(record, 200);
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.once('error', () => {
      if (record.status === null) {
        this.answered(record, 502);
        client.end('HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n');
      } else client.destroy();
    });
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  }
}

/**
 * A 407 asks for a login; a 403 says so in RFC 9209's `Proxy-Status`, so a client can tell the
 * proxy's refusal from the destination's own 403.
 */
function refusalHeaders(status: number): Record<string, string> {
  if (status === 407) return { 'proxy-authenticate': 'Basic realm="epochcast testkit proxy"' };
  if (status === 403) return { 'proxy-status': 'epochcast-testkit; error=http_request_denied' };
  return {};
}

function basicCredentials(header: string | undefined): { user?: string; password?: string } {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) return {};
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? { user: decoded } : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
