// examples/sweep/README.md: its transcript is what the launcher prints today — four training
// processes on one bot and one channel, the simulated user's commands each answered by the run it
// meant — with what varies between two sweeps masked (docs/src/transcripts/sweep-normalize.ts).
// Four training processes and a conversation paced by the services' ~1 message a second: it runs
// in the "sweeps" project (test/sweeps.test.ts), one scenario at a time.
import { test } from 'vitest';
import { expectTranscriptCurrent } from './support.js';

test('the sweep prints the results, the chat, the channel and the routing the README shows', async () => {
  await expectTranscriptCurrent('docs/transcripts/sweep.txt');
}, 330_000);
