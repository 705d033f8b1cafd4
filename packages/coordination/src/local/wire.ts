/**
 * The hub's wire protocol: one JSON object per line, in both directions.
 *
 *   client → hub  {op:'join', rid, v, record, token, proc, leader, until}   reply: {}
 *                 {op:'update', record}                                     no reply
 *                 {op:'list', rid}                                          reply: RunRecord[]
 *                 {op:'send', rid, to, message}                             reply: boolean
 *                 {op:'reserve', rid, intervalMs}                           reply: {wait, at}
 *                 {op:'resign'}: no longer a candidate for leader              no reply
 *                 {op:'leave', rid}                                         reply: {}
 *   hub → client  {op:'reply', rid, ok, value | error}, {op:'message', message}, {op:'elected'},
 *                 {op:'budget', until}: after each reservation, how far the shared budget is booked
 *
 * The hub answers a request that carries a `rid`. Both sides check every message they read, as the
 * peer may be broken or of another version: an unknown or malformed message is refused or ignored,
 * never thrown.
 */
import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import { isJsonObject, isRunRecord, type JsonObject, parseJsonObject } from '../json.js';
import type { RunRecord, ScopeMessage } from '../types.js';

/** Raised on any change of the messages: a hub refuses clients of another epochcast version instead of misreading them. */
export const PROTOCOL = 1;

/** Tells this process's memberships apart from others at the hub, which prefers a leader in its own process. */
export const PROCESS_KEY = randomBytes(8).toString('hex');

/** A peer that sends this much without a newline is broken (or hostile): drop it rather than buffer forever. */
const MAX_LINE_CHARS = 4 * 1024 * 1024;

export interface JoinRequest {
  readonly op: 'join';
  readonly rid?: number;
  readonly v: typeof PROTOCOL;
  readonly record: RunRecord;
  /** Tells a re-join of the same membership (same token) from another run claiming its id. */
  readonly token: string;
  /** The client's PROCESS_KEY. */
  readonly proc: unknown;
  /** Competes for the leader role. */
  readonly leader: boolean;
  /** Wall-clock end of the latest send slot the client knows of, so that a new hub keeps the old one's pace. */
  readonly until?: number;
}

/** What a client may ask of the hub. */
export type ClientRequest =
  | JoinRequest
  | { readonly op: 'update'; readonly rid?: number; readonly record: RunRecord }
  | { readonly op: 'list'; readonly rid?: number }
  | { readonly op: 'send'; readonly rid?: number; readonly to: string; readonly message: ScopeMessage }
  | { readonly op: 'reserve'; readonly rid?: number; readonly intervalMs: number }
  | { readonly op: 'resign'; readonly rid?: number }
  | { readonly op: 'leave'; readonly rid?: number };

/** A message the hub cannot act on, and the reason it gives the client. */
export interface Refusal {
  readonly refused: string;
}

export type HubMessage =
  | { readonly op: 'reply'; readonly rid: number; readonly ok: true; readonly value: unknown }
  | { readonly op: 'reply'; readonly rid: number; readonly ok: false; readonly error: string }
  | { readonly op: 'message'; readonly message: ScopeMessage }
  | { readonly op: 'elected' }
  | { readonly op: 'budget'; readonly until: number };

/** A client's message as the hub reads it. */
export function readClientRequest(message: JsonObject): ClientRequest | Refusal {
  const rid = typeof message.rid === 'number' ? message.rid : undefined;
  switch (message.op) {
    case 'join': {
      const { record, token } = message;
      if (message.v !== PROTOCOL)
        return { refused: `protocol ${String(message.v)} is not ${PROTOCOL}: mixed epochcast versions on one machine` };
      if (!isRunRecord(record) || typeof token !== 'string') return { refused: 'join needs a record with an id and a token' };
      const until = typeof message.until === 'number' ? message.until : undefined;
      return { op: 'join', rid, v: PROTOCOL, record, token, proc: message.proc, leader: message.leader === true, until };
    }
    case 'update':
      return isRunRecord(message.record) ? { op: 'update', rid, record: message.record } : { refused: 'update needs a record with an id' };
    case 'send':
      if (typeof message.to !== 'string' || !isJsonObject(message.message)) return { refused: 'send needs a run id and an object' };
      return { op: 'send', rid, to: message.to, message: message.message };
    case 'reserve': {
      const interval = message.intervalMs;
      if (typeof interval !== 'number' || !Number.isFinite(interval) || interval < 0) return { refused: 'intervalMs must be a number ≥ 0' };
      return { op: 'reserve', rid, intervalMs: interval };
    }
    case 'list':
    case 'resign':
    case 'leave':
      return { op: message.op, rid };
    default:
      return { refused: `unknown op ${JSON.stringify(message.op)}` };
  }
}

/** The hub's message as a client reads it; undefined for one it has no use for. */
export function readHubMessage(message: JsonObject): HubMessage | undefined {
  switch (message.op) {
    case 'reply':
      if (typeof message.rid !== 'number') return undefined;
      return message.ok === true
        ? { op: 'reply', rid: message.rid, ok: true, value: message.value }
        : { op: 'reply', rid: message.rid, ok: false, error: String(message.error) };
    case 'message':
      return isJsonObject(message.message) ? { op: 'message', message: message.message } : undefined;
    case 'elected':
      return { op: 'elected' };
    case 'budget':
      return typeof message.until === 'number' ? { op: 'budget', until: message.until } : undefined;
    default:
      return undefined;
  }
}

/** Writes one message, or a line already serialized, unless the socket is closing. */
export function writeMessage(socket: net.Socket, message: ClientRequest | HubMessage | string): void {
  if (!socket.destroyed && socket.writable) socket.write(`${typeof message === 'string' ? message : JSON.stringify(message)}\n`);
}

/**
 * Calls `onMessage` with each line that is a JSON object, `onMalformed` with the first that is not
 * (one warning per connection is enough); gives up on a peer whose line never ends.
 */
export function readMessages(socket: net.Socket, onMessage: (message: JsonObject) => void, onMalformed: () => void): void {
  let buffer = '';
  let malformed = false;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    let newline = buffer.indexOf('\n');
    while (newline >= 0 && !socket.destroyed) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (line.trim() !== '') {
        const message = parseJsonObject(line);
        if (message) onMessage(message);
        else if (!malformed) {
          malformed = true;
          onMalformed();
        }
      }
      newline = buffer.indexOf('\n');
    }
    if (buffer.length > MAX_LINE_CHARS) socket.destroy();
  });
}
