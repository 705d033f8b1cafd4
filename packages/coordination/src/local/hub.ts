/**
 * The hub of one scope on this machine: it lists the members, elects the leader and books the
 * shared send budget. Whichever process binds the scope's address first hosts it (see host.ts); it
 * keeps nothing that the members cannot give the next hub when they re-join.
 */

import { utimes } from 'node:fs/promises';
import type net from 'node:net';
import type { ScopeAuth } from '../auth.js';
import { bookedInterval, MAX_BACKLOG_MS } from '../budget.js';
import type { Warn } from '../callbacks.js';
import { describeError } from '../errors.js';
import type { JsonObject } from '../json.js';
import type { RunRecord } from '../types.js';
import { type HubAddress, socketInode } from './address.js';
import {
  type ClientRequest,
  type HubMessage,
  type JoinRequest,
  MAX_MEMBERS,
  MAX_REQUEST_BYTES,
  PROCESS_KEY,
  readClientRequest,
  readMessages,
  writeMessage,
} from './wire.js';

/** How often a hub at a socket file checks that the file is still its own. */
const FILE_CHECK_MS = 30_000;
/**
 * What the hub holds for one connection that does not read: two lists of the most members. A
 * peer further behind is dropped, so a client that asks and never reads cannot grow the hub's
 * process (a training run) without bound.
 */
export const MAX_UNREAD_BYTES = 2 * 1024 * 1024;
/** Connections beyond the members a hub takes, for the ones joining or re-joining. */
const MAX_CONNECTIONS = MAX_MEMBERS + 64;

interface Member {
  readonly runId: string;
  readonly token: string;
  /** Joined from the hub's own process. */
  readonly own: boolean;
  wantsLeader: boolean;
  /** Order of arrival at this hub, the tie-break between equal start times. */
  readonly seq: number;
  readonly socket: net.Socket;
  record: RunRecord;
}

/** A hub's answer to a request; undefined for a message that takes none. */
type Outcome = { ok: true; value: unknown } | { ok: false; error: string } | undefined;

function answer(value: unknown): Outcome {
  return { ok: true, value };
}

function refuse(error: string): Outcome {
  return { ok: false, error };
}

export class Hub {
  private readonly connections = new Set<net.Socket>();
  private readonly members = new Map<string, Member>();
  private readonly bySocket = new Map<net.Socket, Member>();
  private leader: string | undefined;
  private seq = 0;
  /** performance.now() of the scope's next free send slot: a monotonic clock, so a wall-clock jump cannot stall sends. */
  private nextFree = 0;
  private closed = false;
  /** Each kind of misbehaving peer is warned about once per hub. */
  private readonly warned = new Set<string>();

  /** The socket file's inode, for a hub at a socket file: how it tells its file from a successor's. */
  private readonly inode: number | undefined;
  private readonly watch: NodeJS.Timeout | undefined;

  constructor(
    private readonly server: net.Server,
    private readonly address: HubAddress,
    private readonly warn: Warn,
    /** The scope's key, when it has one: then only clients that prove it may join. */
    private readonly auth?: ScopeAuth,
  ) {
    server.unref();
    server.on('connection', (socket) => this.accept(socket));
    server.on('error', (error) => {
      this.warn(`epochcast: the coordination hub stopped (${describeError(error)}); runs re-join`);
      this.close();
    });
    if (address.file) {
      this.inode = socketInode(address.path);
      this.watch = setInterval(() => this.checkFile(), FILE_CHECK_MS);
      this.watch.unref();
    }
  }

  /** What the hub holds, written but not yet read, for all its connections together. */
  unreadBytes(): number {
    let total = 0;
    for (const socket of this.connections) total += socket.writableLength;
    return total;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.watch);
    // Stop listening before dropping the connections, so clients re-joining cannot land here again.
    // Closing a server unlinks its socket file (libuv does), which must never hit a successor's file:
    // a hub whose file is no longer its own keeps its listener (unref'd) and refuses what comes in.
    if (this.inode === undefined || socketInode(this.address.path) === this.inode) this.server.close();
    for (const socket of this.connections) socket.destroy();
    this.connections.clear();
    this.members.clear();
    this.bySocket.clear();
    this.leader = undefined;
  }

  /**
   * A socket file can vanish under a live hub (a temp-dir cleaner): then runs arriving later would
   * start a second hub. Touching the file keeps age-based cleaners off it; a hub whose file is gone
   * or replaced closes, and its runs re-join whoever holds the path now.
   */
  private checkFile(): void {
    const inode = socketInode(this.address.path);
    if (inode === this.inode) {
      const now = new Date();
      utimes(this.address.path, now, now).catch(() => {});
      return;
    }
    this.warn('epochcast: the coordination socket file was removed or replaced; runs re-join');
    this.close();
  }

  private accept(socket: net.Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    if (this.connections.size >= MAX_CONNECTIONS) {
      this.warnOnce('connections', `epochcast: the coordination hub refused a connection: it has ${MAX_CONNECTIONS} already`);
      socket.destroy();
      return;
    }
    socket.unref();
    this.connections.add(socket);
    // A peer's socket error is followed by 'close', which is where the member is dropped.
    socket.on('error', () => {});
    socket.on('close', () => this.drop(socket));
    readMessages(
      socket,
      MAX_REQUEST_BYTES,
      (message) => this.handle(socket, message),
      () => this.warn('epochcast: the coordination hub ignored a malformed line from a client'),
      () => this.warnOnce('oversize', `epochcast: the coordination hub dropped a client that sent a line over ${MAX_REQUEST_BYTES} bytes`),
    );
  }

  /**
   * Writes to a peer, and drops a peer that has more unread than MAX_UNREAD_BYTES: an honest client
   * reads as it goes, so one that far behind is stuck or hostile.
   */
  private post(socket: net.Socket, message: HubMessage): void {
    writeMessage(socket, message);
    if (socket.writableLength <= MAX_UNREAD_BYTES) return;
    this.warnOnce('unread', `epochcast: the coordination hub dropped a client that left over ${MAX_UNREAD_BYTES} bytes unread`);
    socket.destroy();
  }

  private warnOnce(kind: string, line: string): void {
    if (this.warned.has(kind)) return;
    this.warned.add(kind);
    this.warn(line);
  }

  private handle(socket: net.Socket, message: JsonObject): void {
    const request = readClientRequest(message);
    let outcome: Outcome;
    if ('refused' in request) {
      // The reply, if any, goes to the rid the client sent, even when the rest of the line was refused.
      const rid = Number.isSafeInteger(message.rid) && (message.rid as number) >= 0 ? (message.rid as number) : undefined;
      if (rid !== undefined) this.post(socket, { op: 'reply', rid, ok: false, error: request.refused });
      return;
    }
    if (request.op === 'join') outcome = this.join(socket, request);
    else outcome = this.serve(socket, request);
    if (outcome && request.rid !== undefined) this.post(socket, { op: 'reply', rid: request.rid, ...outcome });
    // After the reply, so a client always knows it joined before it hears it was elected.
    if (request.op === 'join' && outcome?.ok) this.elect();
  }

  private serve(socket: net.Socket, request: Exclude<ClientRequest, JoinRequest>): Outcome {
    const member = this.bySocket.get(socket);
    if (!member) return refuse('not joined');
    switch (request.op) {
      case 'update':
        member.record = { ...request.record, id: member.runId };
        return undefined;
      case 'list':
        return answer(this.ordered().map((m) => m.record));
      case 'send': {
        const target = this.members.get(request.to);
        if (target) this.post(target.socket, { op: 'message', message: request.message });
        return answer(target !== undefined);
      }
      case 'reserve':
        return answer(this.book(socket, request.intervalMs));
      case 'resign':
        member.wantsLeader = false;
        if (this.leader === member.runId) {
          this.leader = undefined;
          this.elect();
        }
        return undefined;
      case 'leave':
        this.remove(member);
        return answer({});
    }
  }

  /**
   * Books the scope's next send slot for the member at `socket`: at most MAX_BOOKING_MS long, and
   * never more than MAX_BACKLOG_MS ahead, whatever others booked before.
   */
  private book(socket: net.Socket, intervalMs: number): { wait: number; at: number } {
    const now = performance.now();
    const slot = Math.min(Math.max(now, this.nextFree), now + MAX_BACKLOG_MS);
    this.nextFree = slot + bookedInterval(intervalMs);
    const wait = slot - now;
    // Every member learns how far the budget is booked, so whichever of them hosts the next hub
    // (this one may die with its process) keeps the pace, whoever had made the bookings.
    const until = Date.now() + (this.nextFree - now);
    for (const other of this.members.values()) if (other.socket !== socket) this.post(other.socket, { op: 'budget', until });
    // `at` lets the client take off the time the reply spent in transit (both read the same wall clock).
    return { wait, at: Date.now() + wait };
  }

  private join(socket: net.Socket, request: JoinRequest): Outcome {
    const { record, token } = request;
    if (this.bySocket.has(socket)) return refuse('already joined on this connection');
    // With a key, a client proves it holds it, and the hub proves it back in its reply.
    let proof: string | undefined;
    if (this.auth) {
      const { nonce } = request;
      if (nonce === undefined || !this.auth.verify(request.proof, 'join', record.id, token, nonce)) {
        this.warnOnce('proof', "epochcast: the coordination hub refused a join without a valid proof of the scope's key");
        return refuse("this scope takes only runs that hold its key (the account's secret)");
      }
      proof = this.auth.mac('hub', record.id, token, nonce);
    }
    const existing = this.members.get(record.id);
    if (existing && existing.token !== token) return refuse(`run id ${record.id} is already a member of this scope`);
    if (!existing && this.members.size >= MAX_MEMBERS) return refuse(`this scope has ${MAX_MEMBERS} members already`);
    // The same membership re-joining before this hub saw its old connection close: the old one is dead.
    if (existing) {
      this.remove(existing);
      existing.socket.destroy();
    }
    const member: Member = {
      runId: record.id,
      token,
      own: request.proc === PROCESS_KEY,
      wantsLeader: request.leader,
      seq: this.seq++,
      socket,
      record,
    };
    this.members.set(member.runId, member);
    this.bySocket.set(socket, member);
    // A new hub starts where the old one left off: members say how far ahead their slots were booked.
    if (request.until !== undefined) {
      const ahead = Math.min(request.until - Date.now(), MAX_BACKLOG_MS);
      if (ahead > 0) this.nextFree = Math.max(this.nextFree, performance.now() + ahead);
    }
    return answer(proof === undefined ? {} : { proof });
  }

  private drop(socket: net.Socket): void {
    this.connections.delete(socket);
    const member = this.bySocket.get(socket);
    if (member) this.remove(member);
  }

  private remove(member: Member): void {
    this.bySocket.delete(member.socket);
    if (this.members.get(member.runId) !== member) return;
    this.members.delete(member.runId);
    if (this.leader === member.runId) {
      this.leader = undefined;
      this.elect();
    }
  }

  /** Oldest first: by start time, so the order survives a hub move (where everyone re-joins in random order). */
  private ordered(): Member[] {
    const started = (m: Member) => (Number.isFinite(m.record.startedAt) ? m.record.startedAt : Number.POSITIVE_INFINITY);
    return [...this.members.values()].sort((a, b) => started(a) - started(b) || a.seq - b.seq);
  }

  private elect(): void {
    if (this.closed || this.leader !== undefined) return;
    const candidates = this.ordered().filter((m) => m.wantsLeader);
    // A leader in the hub's own process lives exactly as long as the hub: no extra hand-over when either ends.
    const chosen = candidates.find((m) => m.own) ?? candidates[0];
    if (!chosen) return;
    this.leader = chosen.runId;
    this.post(chosen.socket, { op: 'elected' });
  }
}
