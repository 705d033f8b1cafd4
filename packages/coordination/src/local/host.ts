/**
 * Who hosts the hub of an address: the listening socket is the lock. A run dials the address and,
 * when nobody answers, binds it and hosts the hub itself; whoever binds first wins, and the kernel
 * frees the address the moment its holder dies. Only a socket file outlives its holder: it is
 * taken over under a lock file. A hub this process hosts lives while its memberships use it.
 */
import { chmodSync } from 'node:fs';
import { lstat, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import type { ScopeAuth } from '../auth.js';
import type { Warn } from '../callbacks.js';
import { errorCode } from '../errors.js';
import type { HubAddress } from './address.js';
import { Hub } from './hub.js';

/** How long a connect to the hub may take before it counts as failed. */
const CONNECT_TIMEOUT_MS = 3_000;
/** A takeover lock older than this belongs to a takeover that died half-way (it takes milliseconds). */
const STALE_LOCK_MS = 10_000;
/** Nobody holds the address (yet, or any more). */
const ABSENT = new Set(['ECONNREFUSED', 'ENOENT']);

/** Hubs this process hosts, and how many of its memberships use each address: a hub lives while that count is above zero. */
const hosted = new Map<string, Hub>();
const localMembers = new Map<string, number>();

/** A membership of this process uses `address` until `releaseHub`. */
export function holdHub(address: HubAddress): void {
  localMembers.set(address.path, (localMembers.get(address.path) ?? 0) + 1);
}

export function releaseHub(address: HubAddress): void {
  const count = (localMembers.get(address.path) ?? 1) - 1;
  if (count > 0) {
    localMembers.set(address.path, count);
    return;
  }
  localMembers.delete(address.path);
  closeUnusedHub(address);
}

/** Closes this process's hub at `address` once none of its memberships uses it. */
export function closeUnusedHub(address: HubAddress): void {
  if (localMembers.has(address.path)) return;
  hosted.get(address.path)?.close();
  hosted.delete(address.path);
}

/** The hub this process hosts at `path`, if any: for tests that look at what a hub holds. */
export function hostedHub(path: string): Hub | undefined {
  return hosted.get(path);
}

/** Connects to the scope's hub, hosting it first when nobody does (with `auth`, the scope's key, if it has one). */
export async function openHub(address: HubAddress, warn: Warn, auth: ScopeAuth | undefined): Promise<net.Socket> {
  if (address.file) await removeForeign(address.path, warn);
  try {
    return await dial(address);
  } catch (error) {
    if (!ABSENT.has(errorCode(error) ?? '')) throw error;
  }
  try {
    await listen(address, warn, auth);
  } catch (error) {
    if (errorCode(error) !== 'EADDRINUSE') throw error;
    // Someone else bound it first, or, for a socket file, a dead holder left its file behind.
    if (address.file) await takeOverIfStale(address, warn, auth);
  }
  return dial(address);
}

/**
 * A file at the socket's path that is not a socket of this user (a symlink, or another user's
 * socket left from before the directory was made private) would take our connections elsewhere:
 * it is removed, which the directory, ours, allows.
 */
async function removeForeign(file: string, warn: Warn): Promise<void> {
  const uid = process.getuid?.();
  let info: Awaited<ReturnType<typeof lstat>>;
  try {
    info = await lstat(file);
  } catch {
    return;
  }
  if (info.isSocket() && (uid === undefined || info.uid === uid)) return;
  warn(`epochcast: removed ${file}, which was not a socket of this user (${info.isSocket() ? `uid ${info.uid}` : 'not a socket'})`);
  await rm(file, { force: true });
}

function listen(address: HubAddress, warn: Warn, auth: ScopeAuth | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ path: address.path }, () => {
      server.off('error', reject);
      try {
        // The user's alone whatever the umask (the directory, 0700 and checked, keeps others out too).
        // Synchronous: a microsecond, and no connection can be accepted before the hub handles it.
        if (address.file) chmodSync(address.path, 0o600);
      } catch (error) {
        server.close();
        reject(error);
        return;
      }
      hosted.get(address.path)?.close();
      hosted.set(address.path, new Hub(server, address, warn, auth));
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
      CONNECT_TIMEOUT_MS,
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

/**
 * A socket file whose holder died refuses connections but still blocks `listen`. Unlinking it is
 * only safe while nobody else can be doing the same (else one could unlink the other's fresh
 * socket and two hubs would run), hence the lock file around check, unlink and listen.
 */
async function takeOverIfStale(address: HubAddress, warn: Warn, auth: ScopeAuth | undefined): Promise<void> {
  if (!(await holderIsDead(address))) return;
  const lock = `${address.path}.lock`;
  if (!(await takeLock(lock))) return;
  try {
    if (!(await holderIsDead(address))) return;
    await rm(address.path, { force: true });
    await listen(address, warn, auth).catch((error: unknown) => {
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
