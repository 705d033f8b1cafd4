/**
 * joinScope when no engine can be reached at all (here: the socket directory's path is a file):
 * the run gets a scope of one, and a plugin works the same as with company.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { joinScope } from '../src/index.js';
import type { ScopeMessage } from '../src/types.js';
import { randomRunId, randomScope, sleep } from './local-child.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'epochcast-solo-'));
  const notADirectory = path.join(dir, 'file');
  await writeFile(notADirectory, '');
  process.env.EPOCHCAST_SOCKET_DIR = notADirectory;
});
afterEach(async () => {
  delete process.env.EPOCHCAST_SOCKET_DIR;
  await rm(dir, { recursive: true, force: true });
});

test('a run that cannot coordinate at all leads alone, lists itself, receives what it sends itself, and paces its own sends', async () => {
  const warnings: string[] = [];
  const events: string[] = [];
  const received: ScopeMessage[] = [];
  const id = randomRunId();
  const startedAt = Date.now();
  const membership = await joinScope(randomScope('solo'), {
    record: { id, name: 'alone', host: 'test-host', pid: process.pid, startedAt, epoch: 0, totalEpochs: 3 },
    onMessage: (message) => {
      received.push(message);
      if (message.explode) throw new Error('onMessage exploded');
    },
    leadership: { onElected: () => events.push('elected'), onDeposed: () => events.push('deposed') },
    warn: (line) => warnings.push(line),
  });
  expect(membership.engine).toBe('local');
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(/^epochcast: could not coordinate with other runs \(.*EEXIST.*\); this run acts alone$/);
  // Elected once the caller holds the membership, as with an engine.
  expect([membership.isLeader, events]).toEqual([false, []]);
  await sleep(10);
  expect([membership.isLeader, events]).toEqual([true, ['elected']]);

  membership.update({ epoch: 2 });
  expect(await membership.runs()).toEqual([
    { id, name: 'alone', host: 'test-host', pid: process.pid, startedAt, epoch: 2, totalEpochs: 3 },
  ]);
  expect(await membership.sendTo(id, { hello: 'me' })).toBe(true);
  expect(await membership.sendTo('deadbeef', { hello: 'nobody' })).toBe(false);
  // A handler that throws is a warning, as with an engine: the send itself went through.
  expect(await membership.sendTo(id, { explode: true })).toBe(true);
  expect(received).toEqual([{ hello: 'me' }, { explode: true }]);
  expect(warnings.slice(1)).toEqual([`epochcast: onMessage of run ${id} threw: onMessage exploded`]);
  await expect(membership.reserve(1000)).rejects.toThrow(/no shared budget: this run acts alone/);

  membership.resign();
  expect([membership.isLeader, events]).toEqual([false, ['elected', 'deposed']]);
  await membership.leave();
  expect(events).toEqual(['elected', 'deposed']);
  expect(await membership.sendTo(id, { after: 'leave' })).toBe(false);
});
