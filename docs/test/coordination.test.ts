// packages/coordination/README.md: its samples run as a user runs them, against the built package,
// and print what the README shows.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { transcriptNamed } from '../src/transcripts.js';
import { expectTranscriptCurrent, ROOT, runSample } from './support.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'epochcast-docs-coordination-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('two runs in one process: the leader, the listing, a message, one budget, the hand-over — as the README prints, and the process exits by itself', async () => {
  // Its own socket directory: the sample's scope is the same for everyone who runs it.
  const run = await runSample('coordination/two-runs', { EPOCHCAST_SOCKET_DIR: path.join(dir, 'sockets') }, 15_000);
  expect(run.stderr).toBe('');
  expect(run.stdout).toBe(await readFile(path.join(ROOT, 'docs/transcripts/coordination-two-runs.txt'), 'utf8'));
  expect(run.code).toBe(0);
  // The same through the transcript's own producer (a fresh socket directory of its own).
  await expectTranscriptCurrent('docs/transcripts/coordination-two-runs.txt');
});

test('a join with a Redis URL where ioredis is not installed warns once, says what to do, and coordinates on this machine', async () => {
  // Printed by the sample the README shows above it.
  expect(transcriptNamed('docs/transcripts/coordination-without-ioredis.txt').command).toContain(
    'docs/dist/samples/coordination/redis-url.js',
  );
  await expectTranscriptCurrent('docs/transcripts/coordination-without-ioredis.txt');
  const shown = await readFile(path.join(ROOT, 'docs/transcripts/coordination-without-ioredis.txt'), 'utf8');
  const [, warning, engine, ...rest] = shown.split('\n');
  expect(warning).toMatch(/^epochcast: a Redis URL is set .* but ioredis is not installed: run `npm install ioredis` where/);
  expect(engine).toBe('coordinating through: local');
  expect(rest).toEqual(['']);
});
