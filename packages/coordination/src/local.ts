/**
 * The one-machine engine: runs of a scope meet at a hub listening on a local socket, and the
 * listening socket is the lock. Whoever binds the address first hosts the hub; everyone (the host's
 * own runs included) is a client of it. When the host process goes away the kernel closes its socket
 * at once, the clients see their connection close and re-join, and one of them hosts the next hub
 * (taking over the dead holder's socket file: nobody answers a connect on it).
 *
 * Wire protocol, one JSON object per line:
 *   client → hub  {op:'join', rid, v, record, token, proc, leader, until}   reply: {}
 *                 {op:'update', record}                                     no reply
 *                 {op:'list', rid}                                          reply: RunRecord[]
 *                 {op:'send', rid, to, message}                             reply: boolean
 *                 {op:'reserve', rid, intervalMs}                           reply: {wait, at}
 *                 {op:'resign'}: no longer a candidate for leader              no reply
 *                 {op:'leave', rid}                                         reply: {}
 *   hub → client  {op:'reply', rid, ok, value | error}, {op:'message', message}, {op:'elected'},
 *                 {op:'budget', until}: after each reservation, how far the shared budget is booked
 * A leader is never deposed by a message: it stops being the leader when it leaves or when its
 * connection to the hub closes, both of which it sees itself, and it steps down (onDeposed) before it
 * tells the hub it leaves or re-joins. (A leader whose event loop is blocked when its hub dies learns
 * it late, as late as it learns anything; the hub that replaces the old one cannot know.)
 *
 * What keeps the process alive: an idle membership nothing (its socket, the hub's server and the
 * re-join timer are unref'd), but a call the caller awaits (join, a request, leave) does, up to its
 * bound, so that e.g. a last notification's reserve() is not cut off by the process exiting under it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { chmod, lstat, mkdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Coordinator, JoinOptions, Membership, RunRecord, ScopeMessage } from './types.js';

const PROTOCOL = 1;
/** How long a request waits for the hub, re-joins included, before it fails. */
const REQUEST_TIMEOUT_MS = 3_000;
/** How long `join` keeps trying to reach or become the hub before it rejects. */
const JOIN_TIMEOUT_MS = 5_000;
/** `leave` tells the hub so leadership moves at once, but never waits long on a hub that is going away. */
const LEAVE_TIMEOUT_MS = 1_000;
const BACKOFF_MIN_MS = 50;
const BACKOFF_MAX_MS = 500;
/** A peer that sends this much without a newline is broken (or hostile): drop it rather than buffer forever. */
const MAX_LINE_CHARS = 4 * 1024 * 1024;
/** A takeover lock older than this belongs to a takeover that died half-way (it takes milliseconds). */
const STALE_LOCK_MS = 10_000;
/** How often a hub at a socket file checks that the file is still its own. */
const FILE_CHECK_MS = 30_000;
/** Socket paths are limited to about 104 bytes on macOS; longer ones get a digest name. */
const MAX_SOCKET_PATH_BYTES = 100;

/** Tells this process's memberships apart from others at the hub, which prefers a leader in its own process. */
const PROCESS_KEY = randomBytes(8).toString('hex');

type Wire = { readonly [key: string]: unknown };
type Warn = (line: string) => void;

/** Where the hub of a scope listens. `file` is set when the address is a socket file that a dead holder can leave behind. */
export interface HubAddress {
  readonly path: string;
  readonly file?: { readonly dir: string; readonly ownDir: boolean };
}

/**
 * The hub address of `scope` for this user: a socket file in a private (0700) directory of the temp
 * dir, or a named pipe on Windows. `EPOCHCAST_SOCKET_DIR` puts the socket files in that directory.
 * Not Linux's abstract namespace, though it frees itself when its holder dies: it has no permissions,
 * so any local user could join a scope and forward a forged /stop to someone else's runs.
 */
export function hubAddress(scope: string, env: NodeJS.ProcessEnv = process.env): HubAddress {
  const uid = safeName(String(process.getuid?.() ?? os.userInfo().username), 'u');
  const name = safeName(scope, 's');
  const forced = env.EPOCHCAST_SOCKET_DIR;
  if (forced) return fileAddress(path.resolve(forced), name, false);
  if (process.platform === 'win32') return { path: `\\\\.\\pipe\\epochcast-${uid}-${name}` };
  return fileAddress(path.join(os.tmpdir(), `epochcast-${uid}`), name, true);
}

function fileAddress(dir: string, name: string, ownDir: boolean): HubAddress {
  let socket = path.join(dir, `${name}.sock`);
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH_BYTES) socket = path.join(dir, `${digest(name).slice(0, 16)}.sock`);
  return { path: socket, file: { dir, ownDir } };
}

/** `value` if it is a plain short name, else a digest of it: two different scopes must never share an address. */
function safeName(value: string, prefix: string): string {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(value) ? value : `${prefix}-${digest(value).slice(0, 24)}`;
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

function fileInode(file: string): number | undefined {
  try {
    return statSync(file).ino;
  } catch {
    return undefined;
  }
}

function errorCode(error: unknown): string | undefined {
  const code = error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isObject(value: unknown): value is Wire {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isRecord(value: unknown): value is RunRecord {
  return isObject(value) && typeof value.id === 'string' && value.id.length > 0;
}

function parseLine(line: string): Wire | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function write(socket: net.Socket, message: Wire | string): void {
  if (!socket.destroyed && socket.writable) socket.write(`${typeof message === 'string' ? message : JSON.stringify(message)}\n`);
}

/** Calls `onLine` for each complete line; gives up on a peer whose line never ends. */
function readLines(socket: net.Socket, onLine: (line: string) => void): void {
  let buffer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    let newline = buffer.indexOf('\n');
    while (newline >= 0 && !socket.destroyed) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (line.trim() !== '') onLine(line);
      newline = buffer.indexOf('\n');
    }
    if (buffer.length > MAX_LINE_CHARS) socket.destroy();
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Jittered so that clients dropped together by a dying hub do not all race for its address at once. */
function backoff(attempt: number): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2) + (attempt === 0 ? BACKOFF_MIN_MS / 2 : 0);
}

// ---------------------------------------------------------------------------------------------
// The hub

interface Entry {
  readonly runId: string;
  readonly token: string;
  readonly own: boolean;
  wantsLeader: boolean;
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

class Hub {
  private readonly connections = new Set<net.Socket>();
  private readonly members = new Map<string, Entry>();
  private readonly bySocket = new Map<net.Socket, Entry>();
  private leader: string | undefined;
  private seq = 0;
  /** performance.now() of the scope's next free send slot: a monotonic clock, so a wall-clock jump cannot stall sends. */
  private nextFree = 0;
  private closed = false;

  /** The socket file's inode, for a hub at a socket file: how it tells its file from a successor's. */
  private readonly inode: number | undefined;
  private readonly watch: NodeJS.Timeout | undefined;

  constructor(
    private readonly server: net.Server,
    private readonly address: HubAddress,
    private readonly warn: Warn,
  ) {
    server.unref();
    server.on('connection', (socket) => this.accept(socket));
    server.on('error', (error) => {
      this.warn(`epochcast: the coordination hub stopped (${describe(error)}); runs re-join`);
      this.close();
    });
    if (address.file) {
      this.inode = fileInode(address.path);
      this.watch = setInterval(() => this.checkFile(), FILE_CHECK_MS);
      this.watch.unref();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.watch);
    // Stop listening before dropping the connections, so clients re-joining cannot land here again.
    // Closing a server unlinks its socket file (libuv does), which must never hit a successor's file:
    // a hub whose file is no longer its own keeps its listener (unref'd) and refuses what comes in.
    if (this.inode === undefined || fileInode(this.address.path) === this.inode) this.server.close();
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
    const inode = fileInode(this.address.path);
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
    socket.unref();
    this.connections.add(socket);
    let warned = false;
    // A peer's socket error is followed by 'close', which is where the member is dropped.
    socket.on('error', () => {});
    socket.on('close', () => this.drop(socket));
    readLines(socket, (line) => {
      const message = parseLine(line);
      if (message) return this.handle(socket, message);
      if (!warned) this.warn('epochcast: the coordination hub ignored a malformed line from a client');
      warned = true;
    });
  }

  private handle(socket: net.Socket, message: Wire): void {
    const joining = message.op === 'join';
    const outcome = joining ? this.join(socket, message) : this.serve(socket, message);
    if (outcome && typeof message.rid === 'number') write(socket, { op: 'reply', rid: message.rid, ...outcome });
    // After the reply, so a client always knows it joined before it hears it was elected.
    if (joining && outcome?.ok) this.elect();
  }

  private serve(socket: net.Socket, message: Wire): Outcome {
    const entry = this.bySocket.get(socket);
    if (!entry) return refuse('not joined');
    switch (message.op) {
      case 'update':
        if (isRecord(message.record)) entry.record = { ...message.record, id: entry.runId };
        return undefined;
      case 'list':
        return answer(this.ordered().map((e) => e.record));
      case 'send': {
        if (typeof message.to !== 'string' || !isObject(message.message)) return refuse('send needs a run id and an object');
        const target = this.members.get(message.to);
        if (target) write(target.socket, { op: 'message', message: message.message });
        return answer(target !== undefined);
      }
      case 'reserve': {
        const interval = message.intervalMs;
        if (typeof interval !== 'number' || !Number.isFinite(interval) || interval < 0) return refuse('intervalMs must be a number ≥ 0');
        const now = performance.now();
        const slot = Math.max(now, this.nextFree);
        this.nextFree = slot + interval;
        const wait = slot - now;
        // Every member learns how far the budget is booked, so whichever of them hosts the next hub
        // (this one may die with its process) keeps the pace, whoever had made the bookings.
        const until = Date.now() + (this.nextFree - now);
        for (const other of this.members.values()) if (other.socket !== socket) write(other.socket, { op: 'budget', until });
        // `at` lets the client take off the time the reply spent in transit (both read the same wall clock).
        return answer({ wait, at: Date.now() + wait });
      }
      case 'resign':
        entry.wantsLeader = false;
        if (this.leader === entry.runId) {
          this.leader = undefined;
          this.elect();
        }
        return undefined;
      case 'leave':
        this.remove(entry);
        return answer({});
      default:
        return refuse(`unknown op ${JSON.stringify(message.op)}`);
    }
  }

  private join(socket: net.Socket, message: Wire): Outcome {
    const { record, token } = message;
    if (message.v !== PROTOCOL) return refuse(`protocol ${String(message.v)} is not ${PROTOCOL}: mixed epochcast versions on one machine`);
    if (!isRecord(record) || typeof token !== 'string') return refuse('join needs a record with an id and a token');
    if (this.bySocket.has(socket)) return refuse('already joined on this connection');
    const existing = this.members.get(record.id);
    if (existing && existing.token !== token) return refuse(`run id ${record.id} is already a member of this scope`);
    // The same membership re-joining before this hub saw its old connection close: the old one is dead.
    if (existing) {
      this.remove(existing);
      existing.socket.destroy();
    }
    const entry: Entry = {
      runId: record.id,
      token,
      own: message.proc === PROCESS_KEY,
      wantsLeader: message.leader === true,
      seq: this.seq++,
      socket,
      record,
    };
    this.members.set(entry.runId, entry);
    this.bySocket.set(socket, entry);
    // A new hub starts where the old one left off: members say how far ahead their slots were booked.
    if (typeof message.until === 'number') {
      const ahead = Math.min(message.until - Date.now(), 60_000);
      if (ahead > 0) this.nextFree = Math.max(this.nextFree, performance.now() + ahead);
    }
    return answer({});
  }

  private drop(socket: net.Socket): void {
    this.connections.delete(socket);
    const entry = this.bySocket.get(socket);
    if (entry) this.remove(entry);
  }

  private remove(entry: Entry): void {
    this.bySocket.delete(entry.socket);
    if (this.members.get(entry.runId) !== entry) return;
    this.members.delete(entry.runId);
    if (this.leader === entry.runId) {
      this.leader = undefined;
      this.elect();
    }
  }

  /** Oldest first: by start time, so the order survives a hub move (where everyone re-joins in random order). */
  private ordered(): Entry[] {
    const started = (e: Entry) => (Number.isFinite(e.record.startedAt) ? e.record.startedAt : Number.POSITIVE_INFINITY);
    return [...this.members.values()].sort((a, b) => started(a) - started(b) || a.seq - b.seq);
  }

  private elect(): void {
    if (this.closed || this.leader !== undefined) return;
    const candidates = this.ordered().filter((e) => e.wantsLeader);
    // A leader in the hub's own process lives exactly as long as the hub: no extra hand-over when either ends.
    const chosen = candidates.find((e) => e.own) ?? candidates[0];
    if (!chosen) return;
    this.leader = chosen.runId;
    write(chosen.socket, { op: 'elected' });
  }
}

/** Hubs this process hosts, and how many of its memberships use each address: a hub lives while that count is above zero. */
const hosted = new Map<string, Hub>();
const localMembers = new Map<string, number>();

function acquire(address: HubAddress): void {
  localMembers.set(address.path, (localMembers.get(address.path) ?? 0) + 1);
}

function release(address: HubAddress): void {
  const count = (localMembers.get(address.path) ?? 1) - 1;
  if (count > 0) {
    localMembers.set(address.path, count);
    return;
  }
  localMembers.delete(address.path);
  reap(address);
}

/** Closes this process's hub at `address` once none of its memberships uses it. */
function reap(address: HubAddress): void {
  if (localMembers.has(address.path)) return;
  hosted.get(address.path)?.close();
  hosted.delete(address.path);
}

function listen(address: HubAddress, warn: Warn): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ path: address.path }, () => {
      server.off('error', reject);
      hosted.get(address.path)?.close();
      hosted.set(address.path, new Hub(server, address, warn));
      resolve();
    });
  });
}

function dial(address: HubAddress): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ path: address.path });
    socket.unref();
    const timer = setTimeout(
      () => socket.destroy(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })),
      REQUEST_TIMEOUT_MS,
    );
    // Kept for the socket's whole life: an 'error' event without a listener would crash the process.
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
  });
}

/** Nobody holds the address (yet, or any more). */
const ABSENT = new Set(['ECONNREFUSED', 'ENOENT']);

/** Connects to the scope's hub, hosting it first when nobody does. */
async function openHub(address: HubAddress, warn: Warn): Promise<net.Socket> {
  try {
    return await dial(address);
  } catch (error) {
    if (!ABSENT.has(errorCode(error) ?? '')) throw error;
  }
  try {
    await listen(address, warn);
  } catch (error) {
    if (errorCode(error) !== 'EADDRINUSE') throw error;
    // Someone else bound it first, or, for a socket file, a dead holder left its file behind.
    if (address.file) await takeOverIfStale(address, warn);
  }
  return dial(address);
}

/**
 * A socket file whose holder died refuses connections but still blocks `listen`. Unlinking it is
 * only safe while nobody else can be doing the same (else one could unlink the other's fresh
 * socket and two hubs would run), hence the lock file around check, unlink and listen.
 */
async function takeOverIfStale(address: HubAddress, warn: Warn): Promise<void> {
  if (!(await holderIsDead(address))) return;
  const lock = `${address.path}.lock`;
  if (!(await takeLock(lock))) return;
  try {
    if (!(await holderIsDead(address))) return;
    await rm(address.path, { force: true });
    await listen(address, warn).catch((error: unknown) => {
      if (errorCode(error) !== 'EADDRINUSE') throw error;
    });
  } finally {
    await rm(lock, { force: true });
  }
}

async function holderIsDead(address: HubAddress): Promise<boolean> {
  try {
    (await dial(address)).destroy();
    return false;
  } catch (error) {
    return errorCode(error) === 'ECONNREFUSED';
  }
}

async function takeLock(lock: string): Promise<boolean> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lock, String(process.pid), { flag: 'wx', mode: 0o600 });
      return true;
    } catch (error) {
      if (errorCode(error) !== 'EEXIST' || !(await lockIsStale(lock))) return false;
      await rm(lock, { force: true });
    }
  }
  return false;
}

async function lockIsStale(lock: string): Promise<boolean> {
  try {
    const [text, info] = await Promise.all([readFile(lock, 'utf8'), stat(lock)]);
    if (Date.now() - info.mtimeMs > STALE_LOCK_MS) return true;
    const pid = Number(text);
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return false;
  } catch (error) {
    // ESRCH: its holder is dead. ENOENT: released meanwhile, so the next attempt can take it.
    return errorCode(error) === 'ESRCH' || errorCode(error) === 'ENOENT';
  }
}

/** The private directory for socket files: created 0700; the default one in the shared temp dir must be ours alone. */
async function prepareDirectory(address: HubAddress): Promise<void> {
  const file = address.file;
  if (!file) return;
  await mkdir(file.dir, { recursive: true, mode: 0o700 });
  if (!file.ownDir || process.platform === 'win32') return;
  const info = await lstat(file.dir);
  const uid = process.getuid?.();
  if (!info.isDirectory() || (uid !== undefined && info.uid !== uid))
    throw new Error(`epochcast: ${file.dir} is not a directory of this user; remove it or set EPOCHCAST_SOCKET_DIR`);
  if ((info.mode & 0o077) !== 0) await chmod(file.dir, 0o700);
}

// ---------------------------------------------------------------------------------------------
// A membership: one client connection to the hub, re-established whenever the hub moves

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

/** Errors no retry can fix. */
// EEXIST: the socket directory's path is taken by a file, which no retry changes.
const FATAL = new Set(['EACCES', 'EPERM', 'ENAMETOOLONG', 'ENOTDIR', 'EEXIST']);

/** Socket errors that are the ordinary end of a hub, not worth a warning. */
const ORDINARY = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ENOENT', 'EADDRINUSE']);

class LocalMembership implements Membership {
  readonly engine = 'local' as const;
  readonly runId: string;
  private record: RunRecord;
  private readonly token = randomBytes(8).toString('hex');
  private socket: net.Socket | undefined;
  /** Joined on the current socket: requests may be written. */
  private joined = false;
  private started = false;
  private left = false;
  private leaving: Promise<void> | undefined;
  /** Granted by the hub and still connected to it. */
  private leader = false;
  /** onElected was called and onDeposed not yet. */
  private announced = false;
  /** Gave up the leader role for good (`resign`). */
  private resigned = false;
  private nextRid = 1;
  private readonly pending = new Map<number, Pending>();
  private handshake: (Settle & { readonly rid: number }) | undefined;
  private rejoinTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private outageWarned = false;
  /** Wall-clock end of the latest send slot granted to this run, handed to the next hub after a move. */
  private reservedUntil = 0;

  constructor(
    private readonly scope: string,
    private readonly address: HubAddress,
    private readonly options: JoinOptions,
  ) {
    this.runId = options.record.id;
    this.record = { ...options.record };
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
        const delay = backoff(attempt);
        if (performance.now() + delay > deadline || FATAL.has(errorCode(error) ?? ''))
          throw new Error(`epochcast: could not join the local coordination hub of ${this.scope}: ${describe(error)}`);
        await sleep(delay);
      }
    }
    this.started = true;
    // The hub may elect us in the same breath as it confirms the join; the caller hears of it once it holds the membership.
    if (this.leader) setImmediate(() => this.announce());
  }

  update(patch: Partial<Omit<RunRecord, 'id'>>): void {
    if (this.left) return;
    const record = { ...this.record, ...patch, id: this.runId };
    // The whole record rather than the patch: a key set to undefined must clear it at the hub too.
    let line: string;
    try {
      line = JSON.stringify({ op: 'update', record });
    } catch (error) {
      // Kept out of the record: every later join would carry it and fail.
      this.warn(`epochcast: ignored an update of run ${this.runId} that JSON cannot represent (${describe(error)})`);
      return;
    }
    this.record = record;
    if (this.joined && this.socket) write(this.socket, line);
  }

  async runs(): Promise<RunRecord[]> {
    const value = await this.request({ op: 'list' });
    if (!Array.isArray(value)) throw new Error('epochcast: the coordination hub answered list with a non-array');
    return value.filter(isRecord);
  }

  async sendTo(runId: string, message: ScopeMessage): Promise<boolean> {
    try {
      return (await this.request({ op: 'send', to: runId, message })) === true;
    } catch {
      return false;
    }
  }

  async reserve(intervalMs: number): Promise<number> {
    if (!Number.isFinite(intervalMs) || intervalMs < 0)
      throw new RangeError(`reserve: intervalMs must be a number ≥ 0; received ${intervalMs}`);
    const value = await this.request({ op: 'reserve', intervalMs });
    const granted = isObject(value) && typeof value.wait === 'number' ? value.wait : 0;
    const at = isObject(value) && typeof value.at === 'number' ? value.at : undefined;
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
    this.depose();
    if (this.joined && this.socket) write(this.socket, { op: 'resign' });
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
    this.depose();
    const socket = this.socket;
    if (socket && this.joined) {
      await new Promise<void>((resolve) => {
        const rid = this.nextRid++;
        const timer = setTimeout(resolve, LEAVE_TIMEOUT_MS);
        this.pending.set(rid, { line: '', sent: true, resolve: () => resolve(), reject: () => resolve(), timer });
        write(socket, { op: 'leave', rid });
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
    release(this.address);
  }

  /** One attempt: reach (or become) the hub, then join it with the latest record. */
  private async attach(): Promise<void> {
    await prepareDirectory(this.address);
    const socket = await openHub(this.address, (line) => this.warn(line));
    if (this.left) {
      socket.destroy();
      // It may have started a hub after `leave` released the process's last hold on the scope.
      reap(this.address);
      return;
    }
    this.socket = socket;
    let malformed = false;
    socket.on('error', (error) => {
      if (!ORDINARY.has(errorCode(error) ?? ''))
        this.warnOutage(`epochcast: the connection to the coordination hub of ${this.scope} failed (${describe(error)})`);
    });
    socket.on('close', () => this.lost(socket));
    readLines(socket, (line) => {
      if (socket !== this.socket) return;
      const message = parseLine(line);
      if (message) return this.receive(message);
      if (!malformed) this.warn(`epochcast: ignored a malformed line from the coordination hub of ${this.scope}`);
      malformed = true;
    });
    const rid = this.nextRid++;
    const joined = new Promise<unknown>((resolve, reject) => {
      this.handshake = { rid, resolve, reject };
    });
    const timer = setTimeout(() => this.handshake?.reject(new Error('the hub did not answer the join')), REQUEST_TIMEOUT_MS);
    // A re-join runs in the background: only `join`, which the caller awaits, may hold the process open.
    if (this.started) timer.unref();
    write(socket, {
      op: 'join',
      rid,
      v: PROTOCOL,
      record: this.record,
      token: this.token,
      proc: PROCESS_KEY,
      leader: this.options.leadership !== undefined && !this.resigned,
      until: this.reservedUntil,
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
    if (socket !== this.socket) throw new Error('the hub closed the connection');
    this.joined = true;
    this.attempt = 0;
    this.outageWarned = false;
    for (const request of this.pending.values()) {
      if (!request.sent) {
        request.sent = true;
        write(socket, request.line);
      }
    }
  }

  private receive(message: Wire): void {
    if (message.op === 'reply' && typeof message.rid === 'number') {
      const error = new Error(`epochcast: the coordination hub refused: ${String(message.error)}`);
      let request: Settle | undefined = this.handshake?.rid === message.rid ? this.handshake : undefined;
      if (!request) {
        const asked = this.pending.get(message.rid);
        if (!asked) return;
        this.pending.delete(message.rid);
        clearTimeout(asked.timer);
        request = asked;
      }
      if (message.ok === true) request.resolve(message.value);
      else request.reject(error);
    } else if (message.op === 'budget' && typeof message.until === 'number') {
      this.reservedUntil = Math.max(this.reservedUntil, message.until);
    } else if (message.op === 'message' && isObject(message.message)) {
      const delivered = message.message;
      this.guard('onMessage', () => this.options.onMessage(delivered));
    } else if (message.op === 'elected' && this.resigned && this.socket) {
      // Elected before the hub read our resignation: decline again, and it elects another.
      write(this.socket, { op: 'resign' });
    } else if (message.op === 'elected' && this.options.leadership && !this.left && !this.leader) {
      this.leader = true;
      if (this.started) this.announce();
    }
  }

  /** The connection to the hub closed: the hub went away, or dropped us. Step down, then join whoever hosts next. */
  private lost(socket: net.Socket): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    this.joined = false;
    this.handshake?.reject(new Error('the hub closed the connection'));
    this.leader = false;
    this.depose();
    // Requests the old hub never answered are asked again of the new one (or, when leaving, not at all).
    for (const request of this.pending.values()) {
      request.sent = false;
      if (this.left) request.reject(new Error('the hub closed the connection'));
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
              this.warnOutage(`epochcast: cannot reach the coordination hub of ${this.scope} (${describe(error)}); retrying`);
            this.scheduleRejoin();
          },
        );
      },
      backoff(this.attempt++),
    );
    this.rejoinTimer.unref();
  }

  private request(message: Wire): Promise<unknown> {
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
        write(this.socket, line);
      }
    });
  }

  private announce(): void {
    if (!this.leader || this.announced || this.left) return;
    this.announced = true;
    const leadership = this.options.leadership;
    if (leadership) this.guard('onElected', () => leadership.onElected());
  }

  private depose(): void {
    if (!this.announced) return;
    this.announced = false;
    const leadership = this.options.leadership;
    if (leadership) this.guard('onDeposed', () => leadership.onDeposed());
  }

  private guard(name: string, handler: () => unknown): void {
    const report = (error: unknown) => this.warn(`epochcast: ${name} of run ${this.runId} threw: ${describe(error)}`);
    try {
      const result = handler();
      if (result instanceof Promise) result.catch(report);
    } catch (error) {
      report(error);
    }
  }

  private warnOutage(line: string): void {
    if (this.outageWarned) return;
    this.outageWarned = true;
    this.warn(line);
  }

  private warn(line: string): void {
    try {
      this.options.warn(line);
    } catch {
      // A broken logger must not break coordination.
    }
  }
}

let instance: Coordinator | undefined;

/** This process's one-machine coordinator (one instance per process, so all its runs share each scope's hub). */
export function localCoordinator(): Coordinator {
  instance ??= {
    engine: 'local',
    async join(scope: string, options: JoinOptions): Promise<Membership> {
      const address = hubAddress(scope);
      const membership = new LocalMembership(scope, address, options);
      acquire(address);
      try {
        await membership.start();
      } catch (error) {
        await membership.leave();
        throw error;
      }
      return membership;
    },
  };
  return instance;
}
