// packages/cli/README.md's `epochcast run` transcript: docs/samples/python/train_loop.py run twice by the
// built CLI against the testkit's Telegram and SMTP servers (docs/src/transcripts/cli-producers.ts).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, test } from 'vitest';
import { expectTranscriptCurrent, ROOT } from './support.js';

const shown = (file: string) => readFile(path.join(ROOT, file), 'utf8');

test('epochcast run on the plain-Python training script: a run that completes, and a job that fails before its first epoch', {
  timeout: 180_000,
}, async () => {
  await expectTranscriptCurrent('docs/transcripts/cli-run.txt');
  const text = await shown('docs/transcripts/cli-run.txt');
  // The completed run: the epochs read from report()'s lines, the best one, the loss plot.
  expect(text).toMatch(
    /✅ python3 docs\/samples\/python\/train_loop\.py completed 5 epochs in \S+ · best accuracy 100\.00% \(epoch 4\/5\)/,
  );
  expect(text).toContain('── #4 the loss plot (photo), captioned:');
  // The failed one is a job: its duration, not "0/0 epochs", in the chat and in the e-mail's subject; the command on `job:`.
  expect(text).toMatch(/❌ lr-1e4 failed after \S+: exit code 1: OverflowError: math range error/);
  expect(text).toMatch(/E-mail: \[epochcast\] lr-1e4 failed after \S+ · exit code 1: OverflowError: math range error/);
  expect(text).toContain('job: $ python3 docs/samples/python/train_loop.py --lr 1e4 → exit code 1');
  expect(text).not.toContain('0/0');
});
