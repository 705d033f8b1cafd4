/**
 * A throwaway `redis-server` on 127.0.0.1 for tests of the Redis coordination engine: no
 * persistence, its own free port, killed when the test process exits. Needs the real binary
 * (Debian: `apt-get install redis-server`); speaks to it with node:net only, so the testkit adds no
 * Redis client dependency.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, connect as netConnect, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import which from 'which';

export interface RedisServerOptions {
  /** The `redis-server` binary: this option, else `REDIS_SERVER_BIN`, else `redis-server` on PATH. */
  bin?: string;
  /** Require this password (`--requirepass`); `url` then carries it. */
  password?: string;
  /** How long to wait for the first PONG. Default 10 000 ms. */
  startTimeoutMs?: number;
}

export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:<port>`, or `redis://:<password>@127.0.0.1:<port>` with a password. */
  readonly url: string;
  /** The server's process id. */
  readonly pid: number;
  /** Freezes the server (SIGSTOP): connections stay open but nothing is answered, as on a hung host. */
  pause(): void;
  /** Thaws a paused server (SIGCONT). */
  resume(): void;
  /** Stops the server and waits for it to exit. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const INSTALL_HINT = 'apt-get install redis-server (Debian, Ubuntu), brew install redis (macOS), or set REDIS_SERVER_BIN';
const MISSING = `redis-server not found: ${INSTALL_HINT}`;

/**
 * The `redis-server` that `startRedisServer` would run: `REDIS_SERVER_BIN`, else `redis-server` on
 * the PATH; undefined when there is none.
 */
export function findRedisServer(): string | undefined {
  // `which` also takes a path (REDIS_SERVER_BIN), checking that it is an executable file.
  return which.sync(process.env.REDIS_SERVER_BIN || 'redis-server', { nothrow: true }) ?? undefined;
}

/**
 * Why the tests that need a real `redis-server` cannot run here, with what to install — or
 * undefined when they can run: a server is installed, or `EPOCHCAST_REQUIRE_REDIS=1` (as in CI)
 * asks that they run regardless, so that a missing server fails them instead. There is no mock
 * Redis: without the server these tests are skipped, and say so.
 */
export function redisSkipReason(): string | undefined {
  if (process.env.EPOCHCAST_REQUIRE_REDIS === '1' || findRedisServer()) return undefined;
  return `redis-server is not installed: ${INSTALL_HINT} to run the tests of coordination through Redis`;
}

/** Servers still running, killed if the test process exits without stopping them. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function killAllOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** A port free on 127.0.0.1 right now; another process may still take it before redis does (retried). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Whether a PING (after AUTH, with a password) is answered +PONG within `timeoutMs`. */
function ping(port: number, password: string | undefined, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: HOST, port });
    let reply = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('error', () => done(false));
    socket.on('connect', () => {
      const auth = password === undefined ? '' : `*2\r\n$4\r\nAUTH\r\n$${Buffer.byteLength(password)}\r\n${password}\r\n`;
      socket.write(`${auth}PING\r\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (reply.includes('+PONG\r\n')) done(true);
      else if (reply.startsWith('-') && reply.includes('\r\n')) done(false);
    });
  });
}

interface Spawned {
  child: ChildProcess;
  exited: Promise<void>;
  /** Set once the process has exited or failed to start. */
  failure: () => Error | undefined;
  output: () => string;
}

function spawnServer(bin: string, port: number, password: string | undefined): Spawned {
  const args = ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no'];
  if (password !== undefined) args.push('--requirepass', password);
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // The server alone must not keep the test process alive: its exit hook then kills the server.
  child.unref();
  for (const stream of [child.stdout, child.stderr]) if (stream instanceof Socket) stream.unref();
  let output = '';
  let failure: Error | undefined;
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      failure = error.code === 'ENOENT' || error.code === 'EACCES' ? new Error(`${MISSING} (tried ${JSON.stringify(bin)})`) : error;
      resolve();
    });
    child.once('exit', (code, signal) => {
      failure ??= new Error(`redis-server exited (${code ?? signal}) on port ${port}`);
      resolve();
    });
  });
  return { child, exited, failure: () => failure, output: () => output };
}

/** Starts `redis-server` on a free port of 127.0.0.1 and resolves once it answers PING. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const bin = options.bin ?? (process.env.REDIS_SERVER_BIN || 'redis-server');
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  let lastFailure: Error | undefined;
  // Another process may take the free port between the probe and redis binding it: try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const server = spawnServer(bin, port, options.password);
    running.add(server.child);
    killAllOnExit();
    const until = performance.now() + startTimeoutMs;
    let up = false;
    while (!server.failure() && performance.now() < until) {
      if (await ping(port, options.password, 500)) {
        up = true;
        break;
      }
      await Promise.race([sleep(50), server.exited]);
    }
    if (up && !server.failure()) return handle(server, port, options.password);
    running.delete(server.child);
    server.child.kill('SIGKILL');
    await server.exited;
    const failure = server.failure();
    if (failure?.message.startsWith(MISSING)) throw failure;
    lastFailure = new Error(
      `${failure?.message ?? `redis-server did not answer PING within ${startTimeoutMs} ms`}\n${server.output().trim().split('\n').slice(-5).join('\n')}`,
    );
    if (!/address already in use/i.test(server.output())) break;
  }
  throw lastFailure ?? new Error('redis-server did not start');
}

function handle(server: Spawned, port: number, password: string | undefined): RedisServer {
  const { child } = server;
  let paused = false;
  let stopping: Promise<void> | undefined;
  return {
    host: HOST,
    port,
    url: password === undefined ? `redis://${HOST}:${port}` : `redis://:${encodeURIComponent(password)}@${HOST}:${port}`,
    pid: child.pid ?? 0,
    pause() {
      if (server.failure()) return;
      child.kill('SIGSTOP');
      paused = true;
    },
    resume() {
      if (server.failure()) return;
      child.kill('SIGCONT');
      paused = false;
    },
    stop() {
      stopping ??= (async () => {
        if (!server.failure()) {
          // A stopped process keeps SIGTERM pending: thaw it first.
          if (paused) child.kill('SIGCONT');
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
          await server.exited;
          clearTimeout(timer);
        }
        running.delete(child);
      })();
      return stopping;
    },
  };
}
