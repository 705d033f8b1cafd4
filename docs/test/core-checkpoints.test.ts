// packages/core/README.md's checkpoint sample, as its text says to use it: killed (SIGKILL, as an
// OOM killer or a reboot would) after an epoch's checkpoint, started again, it resumes there and
// ends with an unbroken run's numbers (the cpu backend is deterministic).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type ChildRun, runChild } from '../src/child.js';
import { ROOT } from './support.js';

const SAMPLE = path.join(ROOT, 'docs/dist/samples/core/checkpoints.js');
let cwd: string;
beforeAll(async () => {
  // The sample saves under ./checkpoints: each run here in a directory of the test's own.
  cwd = await mkdtemp(path.join(tmpdir(), 'docs-core-checkpoints-'));
});
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

/** Runs the sample in `cwd`; with `killAt`, SIGKILLs it as soon as its stdout matches. */
function runCheckpoints(killAt?: RegExp): Promise<ChildRun> {
  return runChild([process.execPath, SAMPLE], {
    cwd,
    env: { ...process.env, EPOCHCAST_BACKEND: 'cpu' },
    timeoutMs: 90_000,
    killWhen: killAt && ((stdout) => killAt.test(stdout)),
  });
}

const rows = (stdout: string) => stdout.split('\n').filter((line) => /^\d+\s+[\d.]+\s/.test(line));
const numbers = (row: string | undefined) => (row ?? '').trim().split(/\s+/).slice(0, 4).join(' ');

test('killed after its second checkpoint, the checkpoints sample resumes there and ends as an unbroken run', async () => {
  const killed = await runCheckpoints(/epoch 2\/20 saved/);
  expect(killed.signal, killed.stdout).toBe('SIGKILL');
  // Killed long before its 20th epoch: this is a run to resume.
  expect(killed.stdout).not.toContain('epoch 20/20 saved');

  const resumed = await runCheckpoints();
  expect(resumed.code, resumed.stdout).toBe(0);
  const done = Number(/^resuming after epoch (\d+)\/20$/m.exec(resumed.stdout)?.[1]);
  // The kill came after epoch 2's save finished; a later one may have finished too.
  expect(done).toBeGreaterThanOrEqual(2);
  expect(done).toBeLessThan(20);
  const resumedRows = rows(resumed.stdout);
  // The table: every epoch, the ones before the kill from the checkpoint's record.
  expect(resumedRows.map((r) => Number(r.split(/\s+/)[0]))).toEqual(Array.from({ length: 20 }, (_, i) => i));

  // A finished run removes its checkpoint: the next run starts afresh, and is the unbroken run.
  const unbroken = await runCheckpoints();
  expect(unbroken.code, unbroken.stdout).toBe(0);
  expect(unbroken.stdout).not.toContain('resuming');
  const unbrokenRows = rows(unbroken.stdout);
  expect(unbrokenRows.map(numbers)).toEqual(resumedRows.map(numbers));
}, 300_000);
