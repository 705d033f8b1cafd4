/**
 * One run's membership of a scope on this machine: one client connection to the scope's hub,
 * re-established whenever the hub moves.
 *
 * A leader is never deposed by a message: it stops being the leader when it leaves or when its
 * connection to the hub closes, both of which it sees itself, and it steps down (onDeposed) before it
 * tells the hub it leaves or re-joins. (A leader whose event loop is blocked when its hub dies learns
 * it late, as late as it learns anything; the hub that replaces the old one cannot know.)
 *
 * What keeps the process alive: an idle membership nothing (its socket, the hub's server and the
 * re-join timer are unref'd), but a call the caller awaits (join, a request, leave) does, up to its
 * bound, so that e.g. a last notification's reserve() is not cut off by the process exiting under it.
 */
import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Inbox, nonce, type ScopeAuth, sealMessage } from '../auth.js';
import { MAX_BACKLOG_MS } from '../budget.js';
import { callHandler, LeaderCallbacks, safeWarn, type Warn } from '../callbacks.js';
import { describeError, errorCode } from '../errors.js';
import { isJsonObject, type JsonObject } from '../json.js';
import { ownRecord, readRunRecord } from '../records.js';
import { backoffDelay } from '../timing.js';
import type { JoinOptions, Membership, RunRecord, ScopeMessage } from '../types.js';
import { type HubAddress, prepareDirectory } from './address.js';
import { closeUnusedHub, openHub, releaseHub } from './host.js';
import { MAX_HUB_LINE_BYTES, PROCESS_KEY, PROTOCOL, readHubMessage, readMessages, writeMessage } from './wire.js';

/** How long a request waits for the hub, re-joins included, before it fails. */
const REQUEST_TIMEOUT_MS = 3_000;
/** How long `join` keeps trying to reach or become the hub before it rejects. */
const JOIN_TIMEOUT_MS = 5_000;
/** `leave` tells the hub so leadership moves at once, but never waits long on a hub that is going away. */
const LEAVE_TIMEOUT_MS = 1_000;
/** Re-join delays: short, as moving hubs takes milliseconds, and capped, as a run must not be out of touch for long. */
const BACKOFF = { minMs: 50, maxMs: 500 };

/** Errors no retry can fix. */
// EEXIST: the socket directory's path is taken by a file, which no retry changes. EUNSAFEDIR: a
// directory others can write to. EHUBPROOF: the hub does not hold the scope's key, and whoever
// hosts it stays until it exits.
const FATAL = new Set(['EACCES', 'EPERM', 'ENAMETOOLONG', 'ENOTDIR', 'EEXIST', 'EUNSAFEDIR', 'EHUBPROOF']);

/** Socket errors that are the ordinary end of a hub, not worth a warning. */
// EHUBCLOSED: a hub that closed our connection while we joined it — it was leaving, as the run
// hosting it does when it ends before the others; the next attempt finds the next hub.
const ORDINARY = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ENOENT', 'EADDRINUSE', 'EHUBCLOSED']);

function hubClosed(): Error {
  return Object.assign(new Error('the hub closed the connection'), { code: 'EHUBCLOSED' });
}

/** What a membership asks of the hub and waits for an answer to. */
type Request = { op: 'list' } | { op: 'send'; to: string; message: ScopeMessage } | { op: 'reserve'; intervalMs: number };

interface Settle {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
}

interface Pending extends Settle {
  /** The request, serialized when made, so that a message JSON cannot represent fails its own call and nothing else. */
  readonly line: string;
  sent: boolean;
  readonly timer: NodeJS.Timeout;
}

function delay(attempt: number): number {
  return backoffDelay(attempt, BACKOFF.minMs, BACKOFF.maxMs);
}

export class LocalMembership implements Membership {
  readonly engine = 'local' as const;
  readonly runId: string;
  private record: RunRecord;
  private readonly token = randomBytes(8).toString('hex');
  private readonly warn: Warn;
  private readonly leadership: LeaderCallbacks;
  private socket: net.Socket | undefined;
  /** Joined on the current socket: requests may be written. */
  private joined = false;
  private started = false;
  private left = false;
  private leaving: Promise<void> | undefined;
  /** Granted by the hub and still connected to it. */
  private leader = false;
  /** Gave up the leader role for good (`resign`). */
  private resigned = false;
  private nextRid = 1;
  private readonly pending = new Map<number, Pending>();
  private handshake: (Settle & { readonly rid: number; trusted(reply: unknown): boolean }) | undefined;
  /** The connection whose hub proved it holds the scope's key (or any, without a key): only it may elect this run. */
  private trustedSocket: net.Socket | undefined;
  private rejoinTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private outageWarned = false;
  /** Wall-clock end of the latest send slot granted to this run, handed to the next hub after a move. */
  private reservedUntil = 0;
  /** With a key: opens what other runs send, and drops what they did not seal. */
  private readonly inbox: Inbox | undefined;

  /** `record` is the caller's, already checked (`ownRecord`); `auth` the scope's key, if it has one. */
  constructor(
    private readonly scope: string,
    private readonly address: HubAddress,
    private readonly options: Omit<JoinOptions, 'authKey'>,
    record: RunRecord,
    private readonly auth: ScopeAuth | undefined,
  ) {
    this.runId = record.id;
    this.record = record;
    this.warn = safeWarn(options.warn);
    this.leadership = new LeaderCallbacks(options.leadership, this.warn, this.runId);
    this.inbox = auth && new Inbox(auth, this.runId, this.warn);
  }

  get isLeader(): boolean {
    return this.leader;
  }

  async start(): Promise<void> {
    const deadline = performance.now() + JOIN_TIMEOUT_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.attach();
        break;
      } catch (error) {
        const wait = delay(attempt);
        if (performance.now() + wait > deadline || FATAL.has(errorCode(error) ?? ''))
          throw new Error(`epochcast: could not join the local coordination hub of ${this.scope}: ${describeError(error)}`);
        await sleep(wait);
      }
    }
    this.started = true;
    // The hub may elect us in the same breath as it confirms the join; the caller hears of it once it holds the membership.
    if (this.leader) setImmediate(() => this.announce());
  }

  update(patch: Partial<Omit<RunRecord, 'id'>>): void {
    if (this.left) return;
    const merged = { ...this.record, ...patch, id: this.runId };
    // The whole record rather than the patch: a key set to undefined must clear it at the hub too.
    try {
      JSON.stringify(merged);
    } catch (error) {
      // Kept out of the record: every later join would carry it and fail.
      this.warn(`epochcast: ignored an update of run ${this.runId} that JSON cannot represent (${describeError(error)})`);
      return;
    }
    const checked = ownRecord(merged);
    if ('error' in checked) {
      this.warn(`epochcast: ignored an update of run ${this.runId}: ${checked.error}`);
      return;
    }
    const record = checked.record;
    const line = JSON.stringify({ op: 'update', record });
    this.record = record;
    if (this.joined && this.socket) writeMessage(this.socket, line);
  }

  async runs(): Promise<RunRecord[]> {
    const value = await this.request({ op: 'list' });
    if (!Array.isArray(value)) throw new Error('epochcast: the coordination hub answered list with a non-array');
    return value.flatMap((entry) => readRunRecord(entry) ?? []);
  }

  async sendTo(runId: string, message: ScopeMessage): Promise<boolean> {
    try {
      const sealed = this.auth ? sealMessage(this.auth, this.runId, runId, message) : message;
      return (await this.request({ op: 'send', to: runId, message: sealed })) === true;
    } catch {
      return false;
    }
  }

  async reserve(intervalMs: number): Promise<number> {
    if (!Number.isFinite(intervalMs) || intervalMs < 0)
      throw new RangeError(`reserve: intervalMs must be a number ≥ 0; received ${intervalMs}`);
    const value = await this.request({ op: 'reserve', intervalMs });
    const granted = isJsonObject(value) && typeof value.wait === 'number' ? value.wait : 0;
    const at = isJsonObject(value) && typeof value.at === 'number' ? value.at : undefined;
    // Clamped to the hub's own answer, so a wall clock that jumped in between cannot stretch the wait;
    // negative when the answer arrived after the slot began (a busy event loop), so the caller can tell.
    const wait = at === undefined ? granted : Math.min(granted, at - Date.now());
    this.reservedUntil = Math.max(this.reservedUntil, Date.now() + Math.max(0, wait) + intervalMs);
    return wait;
  }

  resign(): void {
    if (this.resigned || !this.options.leadership) return;
    this.resigned = true;
    // Step down before the hub hears of it, as on leave: never two runs acting as leader.
    this.leader = false;
    this.leadership.deposed();
    if (this.joined && this.socket) writeMessage(this.socket, { op: 'resign' });
  }

  leave(): Promise<void> {
    this.leaving ??= this.depart();
    return this.leaving;
  }

  private async depart(): Promise<void> {
    this.left = true;
    clearTimeout(this.rejoinTimer);
    // Step down before the hub hears of it, so the next leader is never elected while we still act as one.
    this.leader = false;
    this.leadership.deposed();
    const socket = this.socket;
    if (socket && this.joined) {
      await new Promise<void>((resolve) => {
        const rid = this.nextRid++;
        const timer = setTimeout(resolve, LEAVE_TIMEOUT_MS);
        this.pending.set(rid, { line: '', sent: true, resolve: () => resolve(), reject: () => resolve(), timer });
        writeMessage(socket, { op: 'leave', rid });
      });
    }
    this.joined = false;
    this.socket = undefined;
    socket?.destroy();
    this.handshake?.reject(new Error('left'));
    for (const request of this.pending.values()) {
      clearTimeout(request.timer);
      request.reject(new Error(`epochcast: run ${this.runId} left scope ${this.scope}`));
    }
    this.pending.clear();
    releaseHub(this.address);
  }

  /** One attempt: reach (or become) the hub, then join it with the latest record. */
  private async attach(): Promise<void> {
    await prepareDirectory(this.address);
    const socket = await openHub(this.address, this.warn, this.auth);
    if (this.left) {
      socket.destroy();
      // It may have started a hub after `leave` released the process's last hold on the scope.
      closeUnusedHub(this.address);
      return;
    }
    this.socket = socket;
    socket.on('error', (error) => {
      if (!ORDINARY.has(errorCode(error) ?? ''))
        this.warnOutage(`epochcast: the connection to the coordination hub of ${this.scope} failed (${describeError(error)})`);
    });
    socket.on('close', () => this.lost(socket));
    readMessages(
      socket,
      MAX_HUB_LINE_BYTES,
      (message) => {
        if (socket === this.socket) this.receive(message);
      },
      () => {
        if (socket === this.socket) this.warn(`epochcast: ignored a malformed line from the coordination hub of ${this.scope}`);
      },
    );
    const rid = this.nextRid++;
    const challenge = this.auth ? nonce() : undefined;
    const auth = this.auth;
    const joined = new Promise<unknown>((resolve, reject) => {
      // Whoever holds the hub's address must hold the key too, or it could be any process of the user.
      const trusted = (reply: unknown) =>
        !auth || (challenge !== undefined && isJsonObject(reply) && auth.verify(reply.proof, 'hub', this.runId, this.token, challenge));
      this.handshake = { rid, resolve, reject, trusted };
    });
    const timer = setTimeout(() => this.handshake?.reject(new Error('the hub did not answer the join')), REQUEST_TIMEOUT_MS);
    // A re-join runs in the background: only `join`, which the caller awaits, may hold the process open.
    if (this.started) timer.unref();
    writeMessage(socket, {
      op: 'join',
      rid,
      v: PROTOCOL,
      record: this.record,
      token: this.token,
      proc: PROCESS_KEY,
      leader: this.options.leadership !== undefined && !this.resigned,
      until: this.reservedUntil,
      ...(this.auth && challenge ? { nonce: challenge, proof: this.auth.mac('join', this.runId, this.token, challenge) } : {}),
    });
    try {
      await joined;
    } catch (error) {
      // Detached first, so its 'close' does not schedule a second re-join on top of the caller's retry.
      if (this.socket === socket) this.socket = undefined;
      socket.destroy();
      throw error;
    } finally {
      clearTimeout(timer);
      this.handshake = undefined;
    }
    if (this.left) return;
    if (socket !== this.socket) throw hubClosed();
    this.joined = true;
    this.attempt = 0;
    this.outageWarned = false;
    for (const request of this.pending.values()) {
      if (!request.sent) {
        request.sent = true;
        writeMessage(socket, request.line);
      }
    }
  }

  private receive(raw: JsonObject): void {
    const message = readHubMessage(raw);
    if (message?.op === 'reply') {
      const handshake = this.handshake?.rid === message.rid ? this.handshake : undefined;
      if (handshake && message.ok && !handshake.trusted(message.value)) {
        handshake.reject(
          Object.assign(
            new Error(
              `the process hosting the hub at ${this.address.path} does not hold the scope's key ` +
                "(another program, or a run on another account's secret, bound it first)",
            ),
            { code: 'EHUBPROOF' },
          ),
        );
        return;
      }
      if (handshake && message.ok) this.trustedSocket = this.socket;
      let request: Settle | undefined = handshake;
      if (!request) {
        const asked = this.pending.get(message.rid);
        if (!asked) return;
        this.pending.delete(message.rid);
        clearTimeout(asked.timer);
        request = asked;
      }
      if (message.ok) request.resolve(message.value);
      else request.reject(new Error(`epochcast: the coordination hub refused: ${message.error}`));
    } else if (this.socket === undefined || this.socket !== this.trustedSocket) {
      // Nothing but the answer to the join counts before the hub proved itself.
    } else if (message?.op === 'budget') {
      this.reservedUntil = Math.max(this.reservedUntil, Math.min(message.until, Date.now() + MAX_BACKLOG_MS));
    } else if (message?.op === 'message') {
      const delivered = this.inbox ? this.inbox.open(message.message) : message.message;
      if (delivered === undefined) return;
      callHandler(this.warn, 'onMessage', this.runId, () => this.options.onMessage(delivered));
    } else if (message?.op === 'elected' && this.resigned && this.socket) {
      // Elected before the hub read our resignation: decline again, and it elects another.
      writeMessage(this.socket, { op: 'resign' });
    } else if (message?.op === 'elected' && this.options.leadership && !this.left && !this.leader) {
      this.leader = true;
      if (this.started) this.announce();
    }
  }

  /** The connection to the hub closed: the hub went away, or dropped us. Step down, then join whoever hosts next. */
  private lost(socket: net.Socket): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    this.joined = false;
    this.handshake?.reject(hubClosed());
    this.leader = false;
    this.leadership.deposed();
    // Requests the old hub never answered are asked again of the new one (or, when leaving, not at all).
    for (const request of this.pending.values()) {
      request.sent = false;
      if (this.left) request.reject(hubClosed());
    }
    if (this.started && !this.left) this.scheduleRejoin();
  }

  private scheduleRejoin(): void {
    clearTimeout(this.rejoinTimer);
    this.rejoinTimer = setTimeout(
      () => {
        this.attach().then(
          () => {
            if (!this.joined && !this.left && !this.socket) this.scheduleRejoin();
          },
          (error: unknown) => {
            if (this.left) return;
            // Moving hubs takes a few attempts at most; past that, something is wrong enough to say so, once.
            if (this.attempt >= 4 || !ORDINARY.has(errorCode(error) ?? ''))
              this.warnOutage(`epochcast: cannot reach the coordination hub of ${this.scope} (${describeError(error)}); retrying`);
            this.scheduleRejoin();
          },
        );
      },
      delay(this.attempt++),
    );
    this.rejoinTimer.unref();
  }

  private request(message: Request): Promise<unknown> {
    if (this.left) return Promise.reject(new Error(`epochcast: run ${this.runId} left scope ${this.scope}`));
    return new Promise((resolve, reject) => {
      const rid = this.nextRid++;
      const timer = setTimeout(() => {
        this.pending.delete(rid);
        reject(new Error(`epochcast: the coordination hub of ${this.scope} did not answer within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      let line: string;
      try {
        line = JSON.stringify({ ...message, rid });
      } catch (error) {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      const request: Pending = { line, sent: false, resolve, reject, timer };
      this.pending.set(rid, request);
      if (this.joined && this.socket) {
        request.sent = true;
        writeMessage(this.socket, line);
      }
    });
  }

  /** Calls onElected once the caller holds the membership and as long as the hub's election still stands. */
  private announce(): void {
    if (this.leader && !this.left) this.leadership.elected();
  }

  private warnOutage(line: string): void {
    if (this.outageWarned) return;
    this.outageWarned = true;
    this.warn(line);
  }
}
