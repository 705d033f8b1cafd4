/**
 * Issue 15, finding 7: a Redis URL carrying its password in the query (`?password=`, which ioredis
 * accepts) was printed as it was in the fallback warning, and a server (or a proxy in front of
 * one) that echoes the command it refused echoed the password into the same line. Both against
 * real sockets: a redis-server that refuses the password, and a Redis-speaking proxy that echoes.
 */
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { joinScope } from '../src/join.js';
import { redactUrl } from '../src/redis-url.js';
import { uniqueScope, useRedisServer } from './redis-harness.js';

const PASSWORD = 'url-SECRET-right-pw';

/** Joins `scope` through `redisUrl` and leaves at once; returns the warnings and the engine that took the run. */
async function joinAndLeave(redisUrl: string): Promise<string[]> {
  const warnings: string[] = [];
  const membership = await joinScope(uniqueScope(), {
    redisUrl,
    record: { id: 'r1', name: 'run', host: 'here', pid: process.pid, startedAt: Date.now(), epoch: 0, totalEpochs: 1 },
    onMessage: () => {},
    warn: (line) => warnings.push(line),
  });
  await membership.leave();
  return warnings;
}

/** A Redis-speaking proxy that refuses every command, quoting it back (`-ERR proxy refused auth <password>`). */
function startEchoingProxy(): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      for (;;) {
        const command = /^\*(\d+)\r\n((?:\$\d+\r\n[^\r]*\r\n)*)/.exec(pending);
        const args = command ? [...(command[2] ?? '').matchAll(/\$\d+\r\n([^\r]*)\r\n/g)].map((m) => m[1]) : [];
        if (!command || args.length < Number(command[1])) return;
        pending = pending.slice(command[0].length);
        socket.write(`-ERR proxy refused ${args.join(' ')}\r\n`);
      }
    });
    socket.on('error', () => {});
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : 0 });
    }),
  );
}

describe('finding 7: a Redis URL’s password is never printed', () => {
  test('redactUrl hides the password in the user-info part and in credential-like query parameters', () => {
    expect(redactUrl(`redis://127.0.0.1:6379/0?password=${PASSWORD}&db=2`)).toBe('redis://127.0.0.1:6379/0?password=***&db=2');
    expect(redactUrl(`rediss://default:${PASSWORD}@cache.example:6380`)).toBe('rediss://default:***@cache.example:6380');
    expect(redactUrl(`redis://h:1/?username=bob&pass=${PASSWORD}&authToken=${PASSWORD}`)).toBe(
      'redis://h:1/?username=bob&pass=***&authToken=***',
    );
    expect(redactUrl(`not a url //u:${PASSWORD}@h?password=${PASSWORD}`)).not.toContain(PASSWORD);
  });

  describe('against a proxy that echoes the refused command', () => {
    let proxy: { server: Server; port: number } | undefined;
    afterEach(() => {
      proxy?.server.close();
      proxy = undefined;
    });

    test('the fallback warning shows neither the ?password= of the URL nor the password the proxy echoed (nor a user-info password)', async () => {
      proxy = await startEchoingProxy();
      const port = proxy.port;
      const [query, userInfo] = await Promise.all([
        joinAndLeave(`redis://127.0.0.1:${port}/?password=${PASSWORD}-query`),
        joinAndLeave(`redis://trainer:${PASSWORD}-userinfo@127.0.0.1:${port}/`),
      ]);
      expect(query).toHaveLength(1);
      expect(query[0]).toMatch(
        /^epochcast: could not coordinate through Redis at redis:\/\/127\.0\.0\.1:\d+\/\?password=\*\*\* \(.*refused auth \*\*\*/,
      );
      expect(userInfo).toHaveLength(1);
      expect(userInfo[0]).toMatch(/at redis:\/\/trainer:\*\*\*@127\.0\.0\.1:\d+\/ \(.*refused auth trainer \*\*\*/);
      expect([...query, ...userInfo].join('\n')).not.toContain(PASSWORD);
    });
  });

  describe('with a redis-server that requires a password', () => {
    const redis = useRedisServer(PASSWORD);

    test('a wrong ?password= falls back to this machine with one warning that hides it; the right one in the query joins through Redis silently', async () => {
      const port = redis.server.port;
      const [wrong, right] = await Promise.all([
        joinAndLeave(`redis://127.0.0.1:${port}/?password=wrong-${PASSWORD}`),
        joinAndLeave(`redis://127.0.0.1:${port}/?password=${PASSWORD}`),
      ]);
      expect(wrong).toHaveLength(1);
      expect(wrong[0]).toMatch(/could not coordinate through Redis at redis:\/\/127\.0\.0\.1:\d+\/\?password=\*\*\* \(.*WRONGPASS/);
      expect(wrong[0]).not.toContain(PASSWORD);
      expect(right).toEqual([]);
    });
  });
});
