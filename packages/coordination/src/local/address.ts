/**
 * Where the hub of a scope listens: a socket file in a private directory, or a named pipe on
 * Windows. The address is a function of the user and the scope alone, so every run of a scope on
 * this machine finds the same one without asking anyone.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { chmod, lstat, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Socket paths are limited to about 104 bytes on macOS; longer ones get a digest name. */
const MAX_SOCKET_PATH_BYTES = 100;

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

/** The inode of the socket file at `file`, if any: how a hub tells its own file from a successor's at the same path. */
export function socketInode(file: string): number | undefined {
  try {
    return statSync(file).ino;
  } catch {
    return undefined;
  }
}

/** The private directory for socket files: created 0700; the default one in the shared temp dir must be ours alone. */
export async function prepareDirectory(address: HubAddress): Promise<void> {
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
