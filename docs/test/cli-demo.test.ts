// packages/cli/README.md's `epochcast demo` transcript: the full default run (10,000 digits, 3 epochs),
// in a file of its own because it trains for a while.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, test } from 'vitest';
import { expectTranscriptCurrent, ROOT } from './support.js';

test('epochcast demo with no credentials: the epochs, and what each local server received', { timeout: 300_000 }, async () => {
  await expectTranscriptCurrent('docs/transcripts/cli-demo.txt');
  const text = await readFile(path.join(ROOT, 'docs/transcripts/cli-demo.txt'), 'utf8');
  expect(text).toContain('validation accuracy 95.85% after 3 epochs');
  for (const service of ['Telegram (local Bot API', 'Slack (local Web API', 'E-mail (local SMTP sink)', 'ntfy (local server'])
    expect(text).toContain(service);
});
