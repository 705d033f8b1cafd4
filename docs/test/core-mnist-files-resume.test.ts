// examples/mnist-files/README.md's killed-then-resumed run, with an unbroken run after it: the
// resumed epochs print the unbroken run's numbers. Trains three times, so a file of its own.
import { test } from 'vitest';
import { expectTranscriptCurrent } from './support.js';

test('docs/transcripts/mnist-files-resume.txt is current: killed after epoch 1, resumed, and the same as unbroken', async () => {
  await expectTranscriptCurrent('docs/transcripts/mnist-files-resume.txt');
}, 400_000);
