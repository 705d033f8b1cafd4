/**
 * Issue 15, findings 3 (the socket directory) and 12: where the hub's socket file lives must be
 * this user's alone. Another local user is played by uid 65534 (nobody): the directory it owns is
 * made with chown, its process is spawned with that uid. Those tests need root (CI runs as root)
 * and say so when skipped.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, chown, lstat, mkdir, mkdtemp, readdir, rm, stat, symlink } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { scopeAuthKey } from '../src/auth.js';
import { joinScope } from '../src/join.js';
import type { JoinOptions, Membership } from '../src/types.js';
import { killMembers, type MemberChild, randomRunId, randomScope, spawnMember } from './local-child.js';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
const NEEDS_ROOT = 'needs root, to play another local user (uid 65534) with chown and a process of that uid; CI runs as root';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  await killMembers();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(label: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), `epochcast-${label}-`));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Joins in this process with EPOCHCAST_SOCKET_DIR set to `socketDir` for the join. */
async function joinIn(
  socketDir: string,
  scope: string,
  extra: Partial<JoinOptions> = {},
): Promise<{ membership: Membership; warned: string[] }> {
  const warned: string[] = [];
  const saved = process.env.EPOCHCAST_SOCKET_DIR;
  process.env.EPOCHCAST_SOCKET_DIR = socketDir;
  try {
    const membership = await joinScope(scope, {
      record: { id: randomRunId(), name: 'run', host: 'here', pid: process.pid, startedAt: Date.now(), epoch: 0, totalEpochs: 1 },
      onMessage: () => {},
      warn: (line) => warned.push(line),
      ...extra,
    });
    cleanups.push(() => membership.leave());
    return { membership, warned };
  } finally {
    if (saved === undefined) delete process.env.EPOCHCAST_SOCKET_DIR;
    else process.env.EPOCHCAST_SOCKET_DIR = saved;
  }
}

/** Tries to connect to `socket` from a process of uid 65534, and says how it went. */
async function connectAsNobody(socket: string): Promise<string> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `require('node:net').connect(${JSON.stringify(socket)}).on('connect', () => { console.log('connected'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); })`,
    ],
    { uid: NOBODY, gid: NOBODY, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  await once(child, 'exit');
  return out.trim();
}

describe('finding 3: EPOCHCAST_SOCKET_DIR is checked, and the socket file is 0600', () => {
  test('a directory other users can write to (0777) is refused at once, naming the fix; no socket is made in it', async () => {
    const dir = await tempDir('open-dir');
    await chmod(dir, 0o777);
    const startedAt = performance.now();
    const { membership, warned } = await joinIn(dir, randomScope('open-dir'));
    // Refused at once (not after 5 s of retries), and the run acts alone, saying why and what to do.
    expect(performance.now() - startedAt).toBeLessThan(1_500);
    expect(warned).toEqual([
      expect.stringMatching(/EPOCHCAST_SOCKET_DIR=.* is writable by other users \(mode 777\).*chmod go-w.*this run acts alone/),
    ]);
    expect(membership.isLeader).toBe(false);
    expect(await readdir(dir)).toEqual([]);
  });

  test('a directory of another user is refused', async (context) => {
    if (!isRoot) context.skip(NEEDS_ROOT);
    const dir = await tempDir('their-dir');
    await chown(dir, NOBODY, NOBODY);
    const { warned } = await joinIn(dir, randomScope('their-dir'));
    expect(warned).toEqual([expect.stringMatching(/belongs to uid 65534, not to this user \(uid 0\).*this run acts alone/)]);
    expect(await readdir(dir)).toEqual([]);
  });

  test('under umask 000 the socket file is 0600 and another user cannot connect to it', async (context) => {
    if (!isRoot) context.skip(NEEDS_ROOT);
    const parent = await tempDir('umask');
    // Open all the way down to the socket, as a careless setup would leave it: only the file's mode protects it.
    await chmod(parent, 0o755);
    const dir = path.join(parent, 'sockets');
    await mkdir(dir, { mode: 0o755 });
    await chmod(dir, 0o755);
    const previous = process.umask(0);
    let socket: string;
    try {
      const scope = randomScope('umask');
      await joinIn(dir, scope, { authKey: scopeAuthKey('test', 'the-bot-token') });
      socket = path.join(dir, `${scope}.sock`);
    } finally {
      process.umask(previous);
    }
    expect((await stat(socket)).mode & 0o777).toBe(0o600);
    expect(await connectAsNobody(socket)).toBe('EACCES');
  });
});

describe('finding 3: what sits at the socket path', () => {
  test('a symlink to another process’s socket is removed, not followed: the run hosts its own hub', async () => {
    const dir = await tempDir('planted');
    const elsewhere = await tempDir('trap');
    const trap = path.join(elsewhere, 'trap.sock');
    let connections = 0;
    const server = net.createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(trap, resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const scope = randomScope('planted');
    const socket = path.join(dir, `${scope}.sock`);
    await symlink(trap, socket);
    const { membership, warned } = await joinIn(dir, scope);
    expect(membership.engine).toBe('local');
    expect(warned).toEqual([`epochcast: removed ${socket}, which was not a socket of this user (not a socket)`]);
    expect((await lstat(socket)).isSocket()).toBe(true);
    expect(connections).toBe(0);
    expect((await membership.runs()).map((r) => r.id)).toEqual([membership.runId]);
  });
});

describe('finding 12: the default directory taken by another user', () => {
  test('two runs go to the same private fallback at once: one leader, each sees the other', async (context) => {
    if (!isRoot) context.skip(NEEDS_ROOT);
    // A temp dir and a home of their own, so that the real /tmp/epochcast-0 of other tests is untouched.
    const tmp = await tempDir('squatted-tmp');
    const home = await tempDir('home');
    const squatted = path.join(tmp, `epochcast-${process.getuid?.()}`);
    await mkdir(squatted, { mode: 0o700 });
    await chown(squatted, NOBODY, NOBODY);
    const env = { TMPDIR: tmp, HOME: home };
    const scope = randomScope('squatted');
    const spawnedAt = performance.now();
    const members = [spawnMember({ scope, env, wantsLeader: true }), spawnMember({ scope, env, wantsLeader: true })];
    await Promise.all(members.map((m) => m.next((e) => e.ev === 'joined', 10_000)));
    // Node's start-up takes most of it; the old code waited 5 s here, then each run acted alone.
    expect(performance.now() - spawnedAt).toBeLessThan(4_000);
    const [a, b] = members as [MemberChild, MemberChild];
    await new Promise((resolve) => setTimeout(resolve, 500));
    const leaders = members.filter((m) => m.count('elected') > m.count('deposed'));
    expect(leaders).toHaveLength(1);
    for (const m of members) {
      const runs = ((await m.ask({ do: 'runs' }, 'runs')).runs as { id: string }[]).map((r) => r.id).sort();
      expect(runs).toEqual([a.runId, b.runId].sort());
      expect(m.events.filter((e) => e.ev === 'warn').map((e) => e.line)).toEqual([
        `epochcast: ${squatted} belongs to another user (uid ${NOBODY}), so it could be another user's trap; ` +
          `this user's runs meet in ${path.join(home, '.cache', 'epochcast', 'sockets')} instead`,
      ]);
    }
    const fallback = path.join(home, '.cache', 'epochcast', 'sockets');
    expect((await stat(fallback)).mode & 0o777).toBe(0o700);
    expect(await readdir(fallback)).toEqual([`${scope}.sock`]);
    expect(await readdir(squatted)).toEqual([]);
  });
});
