// examples/mnist-files/README.md's first run (10,000 PNG files written, then three epochs streamed
// from them): about a minute on a loaded 2-core machine, so a file of its own.
import { test } from 'vitest';
import { expectTranscriptCurrent } from './support.js';

test("docs/transcripts/mnist-files.txt is current: a first run's files and epoch table", async () => {
  await expectTranscriptCurrent('docs/transcripts/mnist-files.txt');
}, 400_000);
