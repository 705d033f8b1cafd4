/** HTTP plumbing under FakeService: the listening host, bounded body reading, parsing as services do, answers. */

import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import busboy from 'busboy';

/** A file part of a multipart request (or a raw upload body). */
export interface ReceivedFile {
  /** The form field the file came in (`photo`, `document`, …). */
  field: string;
  filename: string;
  contentType: string;
  bytes: Buffer;
}

/** How the client encoded its parameters — worth asserting on, since services accept several. */
export type BodyEncoding = 'json' | 'form' | 'multipart' | 'query' | 'raw' | 'none';

export interface ParsedBody {
  params: Record<string, unknown>;
  files: ReceivedFile[];
  encoding: BodyEncoding;
}

export class BadBodyError extends Error {
  override name = 'BadBodyError';
}

const MAX_BODY_BYTES = 64 * 1024 * 1024;

/**
 * Owns a listening `node:http` server and everything that could keep a process alive after
 * a test: sockets (keep-alive and hung ones), timers (long polls, latency, throttles).
 */
export class HttpHost {
  readonly server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #sleepers = new Set<() => void>();
  #closing: Promise<void> | undefined;
  url = '';
  port = 0;

  private constructor(handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>) {
    this.server = createServer((req, res) => {
      handler(req, res).catch((error: unknown) => {
        if (res.headersSent || res.destroyed) return;
        sendText(res, 500, `testkit internal error: ${error instanceof Error ? error.message : String(error)}`);
      });
    });
    this.server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    this.server.on('clientError', (_error, socket) => socket.destroy());
  }

  static async start(handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>): Promise<HttpHost> {
    const host = new HttpHost(handler);
    await new Promise<void>((resolve, reject) => {
      host.server.once('error', reject);
      host.server.listen(0, '127.0.0.1', () => {
        host.server.off('error', reject);
        resolve();
      });
    });
    const { port } = host.server.address() as AddressInfo;
    host.port = port;
    host.url = `http://127.0.0.1:${port}`;
    return host;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** A timer that `close()` cancels. Returns its own cancel function. */
  setTimer(fn: () => void, ms: number): () => void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
    return () => {
      clearTimeout(timer);
      this.#timers.delete(timer);
    };
  }

  /** Resolves `true` after `ms`, or `false` as soon as the server closes. */
  sleep(ms: number): Promise<boolean> {
    if (ms <= 0) return Promise.resolve(!this.closed);
    return new Promise((resolve) => {
      const wake = (): void => {
        this.#sleepers.delete(wake);
        cancel();
        resolve(false);
      };
      const cancel = this.setTimer(() => {
        this.#sleepers.delete(wake);
        resolve(true);
      }, ms);
      this.#sleepers.add(wake);
    });
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      for (const timer of this.#timers) clearTimeout(timer);
      this.#timers.clear();
      for (const wake of [...this.#sleepers]) wake();
      this.server.close(() => resolve());
      // Hung requests, pending long polls and idle keep-alive connections would otherwise
      // hold server.close() open until the clients time out.
      for (const socket of this.#sockets) socket.destroy();
      this.server.closeAllConnections();
    });
    return this.#closing;
  }
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BadBodyError('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function mediaType(headers: IncomingHttpHeaders): string {
  return (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/**
 * Parse a request the way the real services do: query string, then a JSON, urlencoded or
 * multipart body on top. Form values stay strings, as they arrive on the wire.
 */
export async function parseBody(req: IncomingMessage, body: Buffer, url: URL): Promise<ParsedBody> {
  const params: Record<string, unknown> = Object.fromEntries(url.searchParams);
  let encoding: BodyEncoding = url.searchParams.size > 0 ? 'query' : 'none';
  const files: ReceivedFile[] = [];
  if (body.length === 0) return { params, files, encoding };

  const type = mediaType(req.headers);
  if (type === 'application/json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw new BadBodyError("can't parse JSON body");
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new BadBodyError('JSON body must be an object');
    Object.assign(params, parsed);
    encoding = 'json';
  } else if (type === 'application/x-www-form-urlencoded') {
    Object.assign(params, Object.fromEntries(new URLSearchParams(body.toString('utf8'))));
    encoding = 'form';
  } else if (type === 'multipart/form-data') {
    const parts = await parseMultipart(req.headers, body);
    Object.assign(params, parts.fields);
    files.push(...parts.files);
    encoding = 'multipart';
  } else {
    encoding = 'raw';
  }
  return { params, files, encoding };
}

function parseMultipart(headers: IncomingHttpHeaders, body: Buffer): Promise<{ fields: Record<string, string>; files: ReceivedFile[] }> {
  return new Promise((resolve, reject) => {
    const fields: Record<string, string> = {};
    const files: ReceivedFile[] = [];
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers, defParamCharset: 'utf8', limits: { fieldSize: MAX_BODY_BYTES, fileSize: MAX_BODY_BYTES } });
    } catch (error) {
      reject(new BadBodyError(error instanceof Error ? error.message : 'bad multipart body'));
      return;
    }
    parser.on('field', (name, value) => {
      fields[name] = value;
    });
    parser.on('file', (field, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        files.push({ field, filename: info.filename ?? field, contentType: info.mimeType, bytes: Buffer.concat(chunks) });
      });
    });
    parser.on('close', () => resolve({ fields, files }));
    parser.on('error', (error: unknown) => reject(new BadBodyError(error instanceof Error ? error.message : 'bad multipart body')));
    parser.end(body);
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Drop the connection with a TCP RST, so the client reads ECONNRESET rather than a clean close. */
export function resetConnection(req: IncomingMessage): void {
  req.socket.resetAndDestroy();
}

export function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

export const REASONS: Record<number, string> = {
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};
