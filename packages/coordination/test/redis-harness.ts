/**
 * Runs of a scope as child processes that share nothing but a redis-server, as on separate
 * machines: each is fixtures/member.mjs (shared with the local engine's tests), which reports
 * events as JSON lines (`ev`, `at`) and takes `{"do": ...}` commands on stdin.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type RedisServer, redisSkipReason, startRedisServer } from '@epochcast/testkit';
import { afterAll, beforeAll, beforeEach } from 'vitest';

const FIXTURE = fileURLToPath(new URL('./fixtures/member.mjs', import.meta.url));

/** An event of the fixture, its `ev` and `at` renamed. */
export interface MemberEvent {
  event: string;
  /** Wall clock in the child when it printed the event, in ms (one machine, one clock). */
  t: number;
  readonly [key: string]: unknown;
}

export interface MemberExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Date.now() in this process when the child exited. */
  at: number;
}

export interface MemberOptions {
  url: string;
  scope: string;
  id?: string;
  leader?: boolean;
  leaseMs?: number;
  /** Kill the child after this long whatever happens. Default 60 s. */
  killAfterMs?: number;
}

const live = new Set<Member>();

export class Member {
  readonly id: string;
  readonly events: MemberEvent[] = [];
  readonly exited: Promise<MemberExit>;
  /** Date.now() here when the child was spawned. */
  readonly spawnedAt = Date.now();
  stderr = '';
  private readonly child: ChildProcess;
  private readonly watchers = new Set<() => void>();
  private exit: MemberExit | undefined;

  constructor(options: MemberOptions) {
    this.id = options.id ?? randomBytes(4).toString('hex');
    this.child = spawn(process.execPath, [FIXTURE], {
      // A clean env: the parent's may carry EPOCHCAST_* settings of its own.
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        SCOPE: options.scope,
        RUN_ID: this.id,
        RUN_NAME: `run-${this.id}`,
        WANTS_LEADER: options.leader ? '1' : '0',
        EPOCHCAST_REDIS_URL: options.url,
        EPOCHCAST_REDIS_LEASE_MS: String(options.leaseMs ?? LEASE_MS),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    live.add(this);
    let buffer = '';
    this.child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline = buffer.indexOf('\n');
      while (newline >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        newline = buffer.indexOf('\n');
        try {
          const { ev, at, ...rest } = JSON.parse(line) as { ev: string; at: number; [key: string]: unknown };
          this.events.push({ ...rest, event: ev, t: at });
        } catch {
          this.stderr += `(stdout) ${line}\n`;
        }
      }
      for (const notify of [...this.watchers]) notify();
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    // A closed stdin after leave() is expected, not an error of the test.
    this.child.stdin?.on('error', () => {});
    const guard = setTimeout(() => this.child.kill('SIGKILL'), options.killAfterMs ?? 60_000);
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        clearTimeout(guard);
        live.delete(this);
        this.exit = { code, signal, at: Date.now() };
        for (const notify of [...this.watchers]) notify();
        resolve(this.exit);
      }),
    );
  }

  named(event: string): MemberEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  /** Whether the last leadership event says this run leads. */
  get leads(): boolean {
    const last = this.events.filter((e) => e.event === 'elected' || e.event === 'deposed').at(-1);
    return last?.event === 'elected';
  }

  /** The first matching event from index `from` on; rejects on timeout or when the child exits first. */
  waitFor(match: string | ((e: MemberEvent) => boolean), timeoutMs: number, from = 0): Promise<MemberEvent> {
    const test = typeof match === 'string' ? (e: MemberEvent) => e.event === match : match;
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.events.slice(from).find(test);
        if (found) return done(() => resolve(found));
        if (this.exit)
          done(() => reject(new Error(`run ${this.id} exited (${this.exit?.code ?? this.exit?.signal}) while waiting:\n${this.log()}`)));
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`run ${this.id}: no matching event within ${timeoutMs} ms:\n${this.log()}`))),
        timeoutMs,
      );
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.watchers.delete(check);
        settle();
      };
      this.watchers.add(check);
      check();
    });
  }

  /** Sends a command and waits for the reply event named `reply`. */
  async ask(command: Record<string, unknown>, reply: string, timeoutMs = 5000): Promise<MemberEvent> {
    const from = this.events.length;
    this.send(command);
    return this.waitFor(reply, timeoutMs, from);
  }

  send(command: Record<string, unknown>): void {
    this.child.stdin?.write(`${JSON.stringify(command)}\n`);
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.exit) this.child.kill(signal);
  }

  log(): string {
    return `${this.events.map((e) => JSON.stringify(e)).join('\n')}\n${this.stderr}`;
  }
}

/**
 * A password-protected redis-server for the tests of the enclosing `describe`, started before them
 * and stopped after them. Without redis-server on the machine each of them is skipped, saying why
 * and what to install (`redisSkipReason`); with `EPOCHCAST_REQUIRE_REDIS=1` (CI) each fails with the
 * reason the server could not start instead — a failed beforeAll would only skip them, and CI
 * counts failures.
 */
export function useRedisServer(password: string): { readonly server: RedisServer } {
  const skipReason = redisSkipReason();
  let server: RedisServer | undefined;
  let startError: unknown;
  beforeAll(async () => {
    if (skipReason) return;
    try {
      server = await startRedisServer({ password });
    } catch (error) {
      startError = error;
    }
  });
  beforeEach((context) => {
    if (skipReason) context.skip(skipReason);
    if (startError !== undefined) throw startError;
  });
  afterAll(async () => {
    await server?.stop();
  });
  return {
    get server(): RedisServer {
      if (!server) throw new Error('the redis-server is not started: use it inside the tests of the describe that calls useRedisServer');
      return server;
    },
  };
}

/** The lease the children use: short, so that failover tests take seconds. */
export const LEASE_MS = 1500;
/** Renewal, heartbeat and acquisition period of the engine: a third of the lease. */
export const PERIOD_MS = LEASE_MS / 3;

export function uniqueScope(): string {
  return `test-${randomBytes(6).toString('hex')}`;
}

/** Kills every child still running and waits for them to be gone. */
export async function killAll(): Promise<void> {
  const members = [...live];
  for (const member of members) member.kill('SIGKILL');
  await Promise.all(members.map((m) => m.exited));
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Reply = string | number | null | Reply[];

/**
 * One command to Redis over a fresh connection (AUTH first when given a password), for checks
 * from outside the engine: RESP by hand, since the tests have no Redis client of their own.
 */
export function redisCommand(port: number, password: string | undefined, ...args: string[]): Promise<Reply> {
  const encode = (parts: string[]) => `*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join('')}`;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = Buffer.alloc(0);
    let skip = password === undefined ? 0 : 1;
    const timer = setTimeout(() => fail(new Error(`no reply to ${args[0]}`)), 5000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    socket.on('error', fail);
    socket.on('connect', () => socket.write((password === undefined ? '' : encode(['AUTH', password])) + encode(args)));
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      for (;;) {
        const parsed = parseReply(data, 0);
        if (!parsed) return;
        data = data.subarray(parsed.end);
        if (parsed.error) return fail(new Error(parsed.error));
        if (skip > 0) {
          skip -= 1;
          continue;
        }
        clearTimeout(timer);
        socket.destroy();
        return resolve(parsed.value);
      }
    });
  });
}

function parseReply(data: Buffer, at: number): { value: Reply; end: number; error?: string } | undefined {
  const eol = data.indexOf('\r\n', at);
  if (eol < 0) return undefined;
  const head = data.toString('utf8', at + 1, eol);
  switch (String.fromCharCode(data[at] ?? 0)) {
    case '+':
      return { value: head, end: eol + 2 };
    case '-':
      return { value: null, end: eol + 2, error: head };
    case ':':
      return { value: Number(head), end: eol + 2 };
    case '$': {
      const length = Number(head);
      if (length < 0) return { value: null, end: eol + 2 };
      if (data.length < eol + 2 + length + 2) return undefined;
      return { value: data.toString('utf8', eol + 2, eol + 2 + length), end: eol + 2 + length + 2 };
    }
    case '*': {
      const items: Reply[] = [];
      let end = eol + 2;
      for (let i = 0; i < Number(head); i++) {
        const item = parseReply(data, end);
        if (!item) return undefined;
        items.push(item.value);
        end = item.end;
      }
      return { value: items, end };
    }
    default:
      throw new Error(`not a RESP reply: ${JSON.stringify(data.toString('utf8', at, at + 40))}`);
  }
}
