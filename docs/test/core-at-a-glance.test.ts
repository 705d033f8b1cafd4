// The root README's At a glance (samples/core/at-a-glance.js) prints its transcript,
// docs/transcripts/at-a-glance.txt, today. It trains (tens of seconds on a loaded machine), so it
// has a file of its own and runs beside the others.
import { test } from 'vitest';
import { expectTranscriptCurrent } from './support.js';

test('docs/transcripts/at-a-glance.txt is current', async () => {
  await expectTranscriptCurrent('docs/transcripts/at-a-glance.txt');
}, 300_000);
