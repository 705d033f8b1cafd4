/**
 * ioredis is an optional peer dependency, loaded only for a join with a Redis URL. Each test runs
 * child processes against the BUILT package, imported by name, with module hooks
 * (fixtures/module-hooks.mjs) that log every module the child resolves or make ioredis resolve as
 * if it were not installed.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { killMembers, randomScope, spawnMember } from './local-child.js';
import { useRedisServer } from './redis-harness.js';
import { runToExit } from './run-to-exit.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const HOOKS = ['--import', fixture('register-module-hooks.mjs')];
const PASSWORD = 'ioredis-test-SECRET-31';
const INSTALL_ADVICE =
  /^epochcast: a Redis URL is set \(EPOCHCAST_REDIS_URL or redisUrl\) but ioredis is not installed: run `npm install ioredis` where @epochcast\/coordination is installed to coordinate through Redis, or unset EPOCHCAST_REDIS_URL; this run coordinates with runs on this machine only$/;
/** Child start-up on a loaded machine. */
const JOIN_WAIT_MS = 15_000;

/** Whether module `url` belongs to ioredis (or one of its own @ioredis packages). */
const isIoredis = (url: string) => url.split('/').some((segment) => /^@?ioredis\b/.test(segment));

interface ChildRun {
  code: number | null;
  /** The JSON lines the child printed. */
  lines: Record<string, unknown>[];
  stderr: string;
}

/** Runs fixture `script` with the module hooks until it exits by itself. */
async function runChild(script: string, env: Record<string, string>): Promise<ChildRun> {
  const { code, stdout, stderr } = await runToExit([...HOOKS, fixture(script)], env);
  const lines = stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { code, lines, stderr };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'epochcast-ioredis-'));
});
afterEach(async () => {
  await killMembers();
  await rm(dir, { recursive: true, force: true });
});

test('importing @epochcast/coordination without a Redis URL loads neither ioredis nor the Redis engine, and starts no hub and no timer', async () => {
  const log = path.join(dir, 'modules.log');
  const socketDir = path.join(dir, 'sockets');
  const run = await runChild('import-only.mjs', { MODULE_LOG: log, EPOCHCAST_SOCKET_DIR: socketDir });
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const [report] = run.lines as [{ exports: string[]; before: string[]; after: string[] }];
  expect(report.exports).toEqual(['joinScope', 'redactUrl', 'resolveRedisUrl', 'scopeAuthKey', 'scopeName', 'urlSecrets']);
  expect([...report.after].sort()).toEqual([...report.before].sort());
  // No hub: nothing bound an address, so not even the socket directory exists.
  await expect(stat(socketDir)).rejects.toMatchObject({ code: 'ENOENT' });
  const loaded = (await readFile(log, 'utf8')).split('\n');
  expect(loaded.some((url) => url.endsWith('/packages/coordination/dist/index.js'))).toBe(true);
  expect(loaded.filter((url) => isIoredis(url) || url.includes('/coordination/dist/redis/'))).toEqual([]);
});

describe('with a redis-server', () => {
  const redis = useRedisServer(PASSWORD);

  test('a join with a Redis URL loads ioredis and the Redis engine, and coordinates through Redis', async () => {
    const log = path.join(dir, 'modules.log');
    const run = await runChild('join-twice.mjs', { MODULE_LOG: log, EPOCHCAST_REDIS_URL: redis.server.url, SCOPE: randomScope('loads') });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.lines).toEqual([{ engines: ['redis', 'redis'] }]);
    const loaded = (await readFile(log, 'utf8')).split('\n');
    expect(loaded.some(isIoredis)).toBe(true);
    expect(loaded.some((url) => url.endsWith('/packages/coordination/dist/redis/index.js'))).toBe(true);
  });

  test('ioredis not installed: two joins with a Redis URL both coordinate locally, after one warning that says what to do', async () => {
    const run = await runChild('join-twice.mjs', {
      HIDE_MODULES: 'ioredis',
      EPOCHCAST_REDIS_URL: redis.server.url,
      SCOPE: randomScope('missing'),
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const warnings = run.lines.filter((line) => 'warn' in line).map((line) => String(line.warn));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(INSTALL_ADVICE);
    // The README quotes it, word for word.
    expect(await readFile(new URL('../README.md', import.meta.url), 'utf8')).toContain(warnings[0]);
    expect(run.lines.filter((line) => 'engines' in line)).toEqual([{ engines: ['local', 'local'] }]);
    expect(JSON.stringify(run.lines)).not.toContain(PASSWORD);
  });

  test('ioredis not installed: the run coordinates with the runs on its machine (listing, leadership, messages)', async () => {
    const scope = randomScope('missing-local');
    const env = { EPOCHCAST_SOCKET_DIR: path.join(dir, 'sockets') };
    const withUrl = spawnMember({
      scope,
      wantsLeader: true,
      nodeArgs: HOOKS,
      env: { ...env, HIDE_MODULES: 'ioredis', EPOCHCAST_REDIS_URL: redis.server.url },
    });
    const joined = await withUrl.next((e) => e.ev === 'joined', JOIN_WAIT_MS);
    expect(joined.engine).toBe('local');
    const plain = spawnMember({ scope, env });
    expect((await plain.next((e) => e.ev === 'joined', JOIN_WAIT_MS)).engine).toBe('local');

    await withUrl.next((e) => e.ev === 'elected');
    const listed = (await plain.ask({ do: 'runs' }, 'runs')).runs as { id: string }[];
    expect(listed.map((r) => r.id).sort()).toEqual([withUrl.runId, plain.runId].sort());
    expect((await plain.ask({ do: 'send', to: withUrl.runId, message: { hello: 'local' } }, 'sent')).ok).toBe(true);
    expect((await withUrl.next((e) => e.ev === 'message')).message).toEqual({ hello: 'local' });

    const warnings = withUrl.events.filter((e) => e.ev === 'warn').map((e) => String(e.line));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(INSTALL_ADVICE);
    expect(withUrl.stderr()).toBe('');
    const left = await withUrl.ask({ do: 'leave', idle: true }, 'left');
    expect(left.ev).toBe('left');
    expect(await withUrl.exited).toMatchObject({ code: 0, signal: null });
  });
});
