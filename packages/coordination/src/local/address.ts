/**
 * Where the hub of a scope listens: a socket file in a private directory, or a named pipe on
 * Windows. The address is a function of the user and the scope alone, so every run of a scope on
 * this machine finds the same one without asking anyone.
 */
import { createHash } from 'node:crypto';
import { lstatSync, statSync } from 'node:fs';
import { chmod, lstat, mkdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Warn } from '../callbacks.js';

/** Socket paths are limited to about 104 bytes on macOS; longer ones get a digest name. */
const MAX_SOCKET_PATH_BYTES = 100;

/**
 * Where the hub of a scope listens. `file` is set when the address is a socket file that a dead
 * holder can leave behind; `forced` when the directory is the user's choice (`EPOCHCAST_SOCKET_DIR`),
 * which is checked but never changed.
 */
export interface HubAddress {
  readonly path: string;
  readonly file?: { readonly dir: string; readonly forced: boolean };
}

/** A socket directory that other users could write to or that belongs to someone else: no retry fixes it. */
export class UnsafeDirectoryError extends Error {
  readonly code = 'EUNSAFEDIR';
}

/**
 * The hub address of `scope` for this user: a socket file in a private (0700) directory of the temp
 * dir, or a named pipe on Windows. `EPOCHCAST_SOCKET_DIR` puts the socket files in that directory.
 * Not Linux's abstract namespace, though it frees itself when its holder dies: it has no permissions,
 * so any local user could join a scope and forward a forged /stop to someone else's runs.
 *
 * When the default directory exists but is not this user's (another user created it first, to
 * squat it or to catch our sockets), every run of the user goes to the same fallback at once:
 * `~/.cache/epochcast/sockets`, which only the user can write to.
 */
export function hubAddress(scope: string, env: NodeJS.ProcessEnv = process.env, warn?: Warn): HubAddress {
  const uid = safeName(String(process.getuid?.() ?? os.userInfo().username), 'u');
  const name = safeName(scope, 's');
  const forced = env.EPOCHCAST_SOCKET_DIR;
  if (forced) return fileAddress(path.resolve(forced), name, true);
  if (process.platform === 'win32') return { path: `\\\\.\\pipe\\epochcast-${uid}-${name}` };
  const preferred = path.join(os.tmpdir(), `epochcast-${uid}`);
  const taken = takenBy(preferred);
  if (taken === undefined) return fileAddress(preferred, name, false);
  const fallback = fallbackDirectory();
  if (warn && !warnedFallback.has(preferred)) {
    warnedFallback.add(preferred);
    warn(`epochcast: ${preferred} ${taken}, so it could be another user's trap; this user's runs meet in ${fallback} instead`);
  }
  return fileAddress(fallback, name, false);
}

const warnedFallback = new Set<string>();

/** The private directory every run of this user falls back to: derived from the home directory alone. */
export function fallbackDirectory(): string {
  return path.join(os.homedir(), '.cache', 'epochcast', 'sockets');
}

/** Why the default directory `dir` cannot be ours, or undefined when it is ours or does not exist yet. */
function takenBy(dir: string): string | undefined {
  let info: ReturnType<typeof lstatSync>;
  try {
    info = lstatSync(dir);
  } catch {
    return undefined;
  }
  if (!info.isDirectory()) return 'is not a directory';
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid) return `belongs to another user (uid ${info.uid})`;
  return undefined;
}

function fileAddress(dir: string, name: string, forced: boolean): HubAddress {
  let socket = path.join(dir, `${name}.sock`);
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH_BYTES) socket = path.join(dir, `${digest(name).slice(0, 16)}.sock`);
  return { path: socket, file: { dir, forced } };
}

/** `value` if it is a plain short name, else a digest of it: two different scopes must never share an address. */
function safeName(value: string, prefix: string): string {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(value) ? value : `${prefix}-${digest(value).slice(0, 24)}`;
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** The inode of the socket file at `file`, if any: how a hub tells its own file from a successor's. */
export function socketInode(file: string): number | undefined {
  try {
    return statSync(file).ino;
  } catch {
    return undefined;
  }
}

/**
 * The directory for socket files, created 0700 if missing, and checked: it must belong to this
 * user, and nobody else may write to it (else another user could bind a scope's address first, or
 * replace a socket file, and receive the runs' messages). Our own default or fallback directory is
 * made 0700 again; a directory chosen with `EPOCHCAST_SOCKET_DIR` is never changed, and an unsafe
 * one is refused with the fix.
 */
export async function prepareDirectory(address: HubAddress): Promise<void> {
  const file = address.file;
  if (!file) return;
  await mkdir(file.dir, { recursive: true, mode: 0o700 });
  if (process.platform === 'win32') return;
  const uid = process.getuid?.();
  // The user's own choice may be a symlink to a directory; ours is created by us and must not be one.
  const info = file.forced ? await stat(file.dir) : await lstat(file.dir);
  if (!info.isDirectory())
    throw new UnsafeDirectoryError(
      `epochcast: ${file.dir} is not a directory${file.forced ? '; point EPOCHCAST_SOCKET_DIR at a directory' : ''}`,
    );
  if (uid !== undefined && info.uid !== uid)
    throw new UnsafeDirectoryError(
      file.forced
        ? `epochcast: EPOCHCAST_SOCKET_DIR=${file.dir} belongs to uid ${info.uid}, not to this user (uid ${uid}): use a directory of your own`
        : `epochcast: ${file.dir} belongs to uid ${info.uid}, not to this user (uid ${uid}); remove it or set EPOCHCAST_SOCKET_DIR`,
    );
  if ((info.mode & 0o022) !== 0 && file.forced)
    throw new UnsafeDirectoryError(
      `epochcast: EPOCHCAST_SOCKET_DIR=${file.dir} is writable by other users (mode ${(info.mode & 0o777).toString(8)}), ` +
        `so one of them could take a scope's address first: run \`chmod go-w ${file.dir}\` (or 700) or choose a private directory`,
    );
  if ((info.mode & 0o077) !== 0 && !file.forced) await chmod(file.dir, 0o700);
}
