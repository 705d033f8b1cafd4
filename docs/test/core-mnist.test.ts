// examples/mnist/README.md's transcript, docs/transcripts/mnist.txt, is what
// `node examples/mnist/dist/main.js` prints today. It trains (tens of seconds on a loaded
// machine), so it has a file of its own and runs beside the others.
import { test } from 'vitest';
import { expectTranscriptCurrent } from './support.js';

test('docs/transcripts/mnist.txt is current', async () => {
  await expectTranscriptCurrent('docs/transcripts/mnist.txt');
}, 300_000);
