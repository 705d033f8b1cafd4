/** Spawns `fixtures/member.mjs` children and follows the JSON events they print. */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** One line a member printed; `at` is its wall clock in fractional ms. */
export interface MemberEvent {
  ev: string;
  at: number;
  [key: string]: unknown;
}

export interface MemberExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** performance.now() in this process when the child exited. */
  at: number;
}

export interface MemberChild {
  readonly runId: string;
  readonly process: ChildProcess;
  readonly events: MemberEvent[];
  readonly exited: Promise<MemberExit>;
  /** Sends one command line to the child's stdin. */
  command(command: Record<string, unknown>): void;
  /** The first event (from `from` on) matching; rejects after `timeoutMs` or if the child exits first. */
  next(match: (e: MemberEvent) => boolean, timeoutMs?: number, from?: number): Promise<MemberEvent>;
  /** Sends a command and waits for the first event named `ev` that follows it. */
  ask(command: Record<string, unknown>, ev: string, timeoutMs?: number): Promise<MemberEvent>;
  count(ev: string): number;
  readonly stderr: () => string;
}

const FIXTURE = fileURLToPath(new URL('./fixtures/member.mjs', import.meta.url));
const children = new Set<MemberChild>();

export function randomScope(label: string): string {
  return `test-${label}-${randomBytes(6).toString('hex')}`;
}

export function randomRunId(): string {
  return randomBytes(4).toString('hex');
}

export interface MemberOptions {
  scope: string;
  runId?: string;
  name?: string;
  wantsLeader?: boolean;
  env?: Record<string, string>;
  /** Options for node itself, before the fixture (e.g. `--import` of module hooks). */
  nodeArgs?: string[];
}

export function spawnMember(options: MemberOptions): MemberChild {
  const runId = options.runId ?? randomRunId();
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), FIXTURE], {
    // Clean env: the parent's may carry EPOCHCAST_* settings meant for other tests.
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      SCOPE: options.scope,
      RUN_ID: runId,
      RUN_NAME: options.name ?? `run-${runId}`,
      WANTS_LEADER: options.wantsLeader ? '1' : '0',
      ...options.env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const events: MemberEvent[] = [];
  const watchers = new Set<() => void>();
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    stdout += chunk;
    let newline = stdout.indexOf('\n');
    while (newline >= 0) {
      const line = stdout.slice(0, newline);
      stdout = stdout.slice(newline + 1);
      try {
        events.push(JSON.parse(line) as MemberEvent);
      } catch {
        events.push({ ev: 'unparsed', at: Date.now(), line });
      }
      newline = stdout.indexOf('\n');
    }
    for (const watch of [...watchers]) watch();
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
  });
  // Writing to a child that died (the tests SIGKILL some) must not fail the test process.
  child.stdin?.on('error', () => {});
  let exitedYet = false;
  const exited = new Promise<MemberExit>((resolve) =>
    // 'close', not 'exit': by then every line the child printed has been read.
    child.on('close', (code, signal) => {
      exitedYet = true;
      resolve({ code, signal, at: performance.now() });
      for (const watch of [...watchers]) watch();
    }),
  );

  const next: MemberChild['next'] = (match, timeoutMs = 10_000, from = 0) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = events.slice(from).find(match);
        if (found) {
          finish();
          resolve(found);
        } else if (exitedYet) {
          finish();
          reject(new Error(`member ${runId} exited before the awaited event; events: ${JSON.stringify(events)}\n${stderr}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`member ${runId}: no matching event within ${timeoutMs} ms; events: ${JSON.stringify(events)}\n${stderr}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        watchers.delete(check);
      };
      watchers.add(check);
      check();
    });

  const member: MemberChild = {
    runId,
    process: child,
    events,
    exited,
    command: (command) => {
      child.stdin?.write(`${JSON.stringify(command)}\n`);
    },
    next,
    ask: (command, ev, timeoutMs) => {
      const from = events.length;
      member.command(command);
      return next((e) => e.ev === ev, timeoutMs, from);
    },
    count: (ev) => events.filter((e) => e.ev === ev).length,
    stderr: () => stderr,
  };
  children.add(member);
  void exited.then(() => children.delete(member));
  return member;
}

/** Kills every child still running (for afterEach) and waits for them to be gone. */
export async function killMembers(): Promise<void> {
  const running = [...children];
  for (const member of running) member.process.kill('SIGKILL');
  await Promise.all(running.map((member) => member.exited));
}

/** Spawns members one after the other, each once it has joined, so the first one hosts the hub. */
export async function spawnJoined(list: MemberOptions[]): Promise<MemberChild[]> {
  const members: MemberChild[] = [];
  for (const options of list) {
    const member = spawnMember(options);
    await member.next((e) => e.ev === 'joined');
    members.push(member);
  }
  return members;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The pid, among `pids`, of the process listening on `address` (Linux only: from /proc/net/unix and
 * each process's fds). Tells which child hosts a hub, which no event says.
 */
export async function listenerPid(address: string, pids: number[]): Promise<number | undefined> {
  // /proc shows an abstract name's NULs (the leading one and any padding) as '@'.
  const shown = address.replace(/\0/g, '@').replace(/@+$/, '');
  const table = await readFile('/proc/net/unix', 'utf8');
  const inodes = new Set<string>();
  for (const line of table.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    // Flags 00010000 is __SO_ACCEPTCON: a listening socket.
    if (fields[7]?.replace(/@+$/, '') === shown && fields[3] === '00010000' && fields[6]) inodes.add(fields[6]);
  }
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && inodes.has(inode)) return pid;
    }
  }
  return undefined;
}
