/**
 * The hub's wire protocol: one JSON object per line, in both directions.
 *
 *   client → hub  {op:'join', rid, v, record, token, proc, leader, until, nonce, proof}  reply: {proof}
 *                 {op:'update', record}                                     no reply
 *                 {op:'list', rid}                                          reply: RunRecord[]
 *                 {op:'send', rid, to, message}                             reply: boolean
 *                 {op:'reserve', rid, intervalMs}                           reply: {wait, at}
 *                 {op:'resign'}: no longer a candidate for leader              no reply
 *                 {op:'leave', rid}                                         reply: {}
 *   hub → client  {op:'reply', rid, ok, value | error}, {op:'message', message}, {op:'elected'},
 *                 {op:'budget', until}: after each reservation, how far the shared budget is booked
 *
 * In a scope with a key (`authKey`), `proof` on a join is the client's MAC over its run id, token
 * and `nonce`, and the hub's reply carries its own MAC over the same: each side proves it holds
 * the key before the other trusts it.
 *
 * The hub answers a request that carries a `rid`. Both sides check every message they read, as the
 * peer may be broken, of another version or hostile: lines are bounded in bytes, fields in type and
 * length, and an unknown or malformed message is refused or ignored, never thrown.
 */
import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import { isJsonObject, type JsonObject, parseJsonObject } from '../json.js';
import { isRunId, readRunRecord } from '../records.js';
import type { RunRecord, ScopeMessage } from '../types.js';

/** Raised on any change of the messages: a hub refuses clients of another epochcast version instead of misreading them. */
export const PROTOCOL = 2;

/** Tells this process's memberships apart from others at the hub, which prefers a leader in its own process. */
export const PROCESS_KEY = randomBytes(8).toString('hex');

/** The longest line the hub reads: a request (a record, a forwarded command) is well under 4 KB. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** The longest line a client reads: the list of up to MAX_MEMBERS records. */
export const MAX_HUB_LINE_BYTES = 1024 * 1024;
/** Members per hub: more runs of one account on one machine than anyone runs, few enough that a list fits a line. */
export const MAX_MEMBERS = 256;
/** Longest token, nonce, process key or proof: all are short random strings or MACs. */
const MAX_SHORT = 64;

export interface JoinRequest {
  readonly op: 'join';
  readonly rid?: number;
  readonly v: typeof PROTOCOL;
  readonly record: RunRecord;
  /** Tells a re-join of the same membership (same token) from another run claiming its id. */
  readonly token: string;
  /** The client's PROCESS_KEY. */
  readonly proc: string | undefined;
  /** Competes for the leader role. */
  readonly leader: boolean;
  /** Wall-clock end of the latest send slot the client knows of, so that a new hub keeps the old one's pace. */
  readonly until?: number;
  /** With a key: the client's challenge to the hub, and its MAC over run id, token and nonce. */
  readonly nonce?: string;
  readonly proof?: string;
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

const isShort = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && value.length <= MAX_SHORT;
const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const ridOf = (value: unknown): number | undefined =>
  Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : undefined;

/** A client's message as the hub reads it: every field checked, records read into fresh objects. */
export function readClientRequest(message: JsonObject): ClientRequest | Refusal {
  const rid = ridOf(message.rid);
  switch (message.op) {
    case 'join': {
      const { token, nonce, proof, until } = message;
      if (message.v !== PROTOCOL)
        return { refused: `protocol ${String(message.v).slice(0, 20)} is not ${PROTOCOL}: mixed epochcast versions on one machine` };
      const record = readRunRecord(message.record);
      if (!record || !isShort(token)) return { refused: 'join needs a valid record (see RunRecord) and a token' };
      if ((nonce !== undefined && !isShort(nonce)) || (proof !== undefined && !isShort(proof))) return { refused: 'malformed proof' };
      return {
        op: 'join',
        rid,
        v: PROTOCOL,
        record,
        token,
        proc: isShort(message.proc) ? message.proc : undefined,
        leader: message.leader === true,
        ...(isFiniteNumber(until) ? { until } : {}),
        ...(nonce !== undefined ? { nonce } : {}),
        ...(proof !== undefined ? { proof } : {}),
      };
    }
    case 'update': {
      const record = readRunRecord(message.record);
      return record ? { op: 'update', rid, record } : { refused: 'update needs a valid record (see RunRecord)' };
    }
    case 'send':
      if (!isRunId(message.to) || !isJsonObject(message.message)) return { refused: 'send needs a run id and an object' };
      return { op: 'send', rid, to: message.to, message: message.message };
    case 'reserve': {
      const interval = message.intervalMs;
      if (!isFiniteNumber(interval) || interval < 0) return { refused: 'intervalMs must be a number ≥ 0' };
      return { op: 'reserve', rid, intervalMs: interval };
    }
    case 'list':
    case 'resign':
    case 'leave':
      return { op: message.op, rid };
    default:
      return { refused: `unknown op ${JSON.stringify(String(message.op).slice(0, 20))}` };
  }
}

/** The hub's message as a client reads it; undefined for one it has no use for. */
export function readHubMessage(message: JsonObject): HubMessage | undefined {
  switch (message.op) {
    case 'reply': {
      const rid = ridOf(message.rid);
      if (rid === undefined) return undefined;
      return message.ok === true
        ? { op: 'reply', rid, ok: true, value: message.value }
        : { op: 'reply', rid, ok: false, error: String(message.error).slice(0, 200) };
    }
    case 'message':
      return isJsonObject(message.message) ? { op: 'message', message: message.message } : undefined;
    case 'elected':
      return { op: 'elected' };
    case 'budget':
      return isFiniteNumber(message.until) ? { op: 'budget', until: message.until } : undefined;
    default:
      return undefined;
  }
}

/** Writes one message, or a line already serialized, unless the socket is closing. */
export function writeMessage(socket: net.Socket, message: ClientRequest | HubMessage | string): void {
  if (!socket.destroyed && socket.writable) socket.write(`${typeof message === 'string' ? message : JSON.stringify(message)}\n`);
}

const NEWLINE = 0x0a;

/**
 * Calls `onMessage` with each line that is a JSON object, `onMalformed` with the first that is not
 * (one warning per connection is enough). A line longer than `maxLineBytes` ends the connection
 * (`onOversize`) before it is ever parsed: nothing a peer sends is buffered without bound.
 */
export function readMessages(
  socket: net.Socket,
  maxLineBytes: number,
  onMessage: (message: JsonObject) => void,
  onMalformed: () => void,
  onOversize: () => void = () => {},
): void {
  // The bytes of the line under way, without its newline, in the chunks they came in.
  let partial: Buffer[] = [];
  let partialBytes = 0;
  let malformed = false;
  const deliver = (line: Buffer) => {
    const text = line.toString('utf8');
    if (text.trim() === '') return;
    const message = parseJsonObject(text);
    if (message) onMessage(message);
    else if (!malformed) {
      malformed = true;
      onMalformed();
    }
  };
  socket.on('data', (chunk: Buffer | string) => {
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    for (let newline = data.indexOf(NEWLINE); newline >= 0 && !socket.destroyed; newline = data.indexOf(NEWLINE, start)) {
      if (partialBytes + newline - start > maxLineBytes) break;
      const piece = data.subarray(start, newline);
      const line = partial.length === 0 ? piece : Buffer.concat([...partial, piece]);
      partial = [];
      partialBytes = 0;
      start = newline + 1;
      deliver(line);
    }
    if (socket.destroyed) return;
    const rest = data.subarray(start);
    if (partialBytes + rest.length > maxLineBytes || data.indexOf(NEWLINE, start) >= 0) {
      partial = [];
      socket.destroy();
      onOversize();
      return;
    }
    if (rest.length > 0) {
      // A copy: a subarray would keep the whole chunk alive.
      partial.push(Buffer.from(rest));
      partialBytes += rest.length;
    }
    // One chunk per turn of the event loop: a peer that wrote megabytes while this process waited
    // for a core would otherwise have them all read, split and parsed before the next timer runs
    // (seen: 100 ms of the loop under load). The rest waits in the socket's buffer.
    socket.pause();
    setImmediate(() => {
      if (!socket.destroyed) socket.resume();
    });
  });
}
