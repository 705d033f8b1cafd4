// The sweep transcript's normalize masks what differs between two sweeps of the same code, and
// nothing a reader of examples/sweep/README.md would take as the example's behaviour.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, test } from 'vitest';
import { normalizeTranscript, transcriptNamed } from '../src/transcripts.js';
import { ROOT } from './support.js';

const transcript = transcriptNamed('docs/transcripts/sweep.txt');
const shown = await readFile(path.join(ROOT, 'docs/transcripts/sweep.txt'), 'utf8');
const normalized = (text: string) => normalizeTranscript(transcript, text);

/** The transcript's chat messages (a `🤖`/`👤` line and the lines under it), in order. */
function chatMessages(text: string): string[] {
  const from = text.indexOf('\n', text.indexOf('What the phone received'));
  const chat = text.slice(from, text.indexOf('\n\nWhat #sweep received')).trim();
  return chat.split(/\n(?=🤖|👤)/u);
}

/** The run whose own message (start, epochs, end, plot) this is; the conversation's are the user's. */
const owner = (message: string) => /^🤖 (?:\([^)]*\) )?(?:⏳|📈|✅) (lr=\S+)/u.exec(message)?.[1] ?? 'user';

test('the runs’ messages in another order (each run’s own kept), other run ids, timings, edit counts: the same transcript', () => {
  const chat = chatMessages(shown);
  // One run's messages after another's, the last run's first: each in its own order.
  const runs = [...new Set(chat.map(owner))].reverse();
  const reordered = shown.replace(chat.join('\n'), runs.flatMap((run) => chat.filter((m) => owner(m) === run)).join('\n'));
  const other = reordered
    .replace(/\b[0-9a-f]{8}\b/g, (id) => [...id].reverse().join(''))
    .replace(/\b(\d+)\.(\d) s\b/g, (_, s: string, d: string) => `${Number(s) + 7}.${d} s`)
    .replace(/\(edited \d+×\)/g, '(edited 2×)');
  expect(reordered).not.toBe(shown);
  expect(normalized(other)).toBe(normalized(shown));
});

test('a different result, a command answered by another run, a message missing, a warning: a different transcript', () => {
  const changes: [string, (text: string) => string][] = [
    ['a valid_loss', (t) => t.replace(/ 0\.2035 /, ' 0.2036 ')],
    ['the routing', (t) => t.replace(/ ✓\n/, ' ✗\n')],
    ['a run’s end message', (t) => t.replace(/\n🤖 ✅ lr=1e-1 completed[^\n]*/, '')],
    ['the epochs of a run’s live message', (t) => t.replace(/📈 lr=3e-2 epoch 4\/4/, '📈 lr=3e-2 epoch 3/4')],
    [
      'a warning on stderr',
      (t) => t.replace('\nuser: /status', '\n[lr=3e-2] epochcast telegram: could not answer a command\nuser: /status'),
    ],
  ];
  for (const [what, change] of changes) {
    const changed = change(shown);
    expect(changed, what).not.toBe(shown);
    expect(normalized(changed), what).not.toBe(normalized(shown));
  }
});
