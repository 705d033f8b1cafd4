// packages/cli/README.md: its transcripts, each produced by the built CLI against the testkit's local
// servers (docs/src/transcripts/cli-producers.ts), and the @epochcast/cli/mnist sample. The slower ones
// have files of their own, so they run beside these: cli-run.test.ts (two runs of a Python script) and
// cli-demo.test.ts (the demo's full default run).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, test } from 'vitest';
import { expectTranscriptCurrent, ROOT, runSample } from './support.js';

const shown = (file: string) => readFile(path.join(ROOT, file), 'utf8');

test('epochcast test: ✓ on the four services, ✗ and exit 1 on a rejected token, which is not printed', async () => {
  await expectTranscriptCurrent('docs/transcripts/cli-test.txt');
  const text = await shown('docs/transcripts/cli-test.txt');
  expect(text.match(/^✓ /gm)).toHaveLength(4);
  expect(text).toMatch(/✗ Telegram: Telegram rejected the bot token \(401 Unauthorized\)[^\n]*\n\(exit code 1\)\n$/);
  expect(text.split('$ TELEGRAM_BOT_TOKEN=123:wrong')[1]).not.toMatch(/123:wrong/);
});

test('epochcast telegram chats: the chats that wrote, newest first, and the line to paste', async () => {
  await expectTranscriptCurrent('docs/transcripts/cli-telegram-chats.txt');
  const text = await shown('docs/transcripts/cli-telegram-chats.txt');
  expect(text).toMatch(/\n987654321 +private +Ada Lovelace @ada +\S+ \S+\n-1001234567890 +supergroup +ML team +/);
  expect(text).toContain('\nexport TELEGRAM_CHAT_ID=987654321\n');
});

test('epochcast new-notifier acme: the files written and the packages packed into vendor/', async () => {
  await expectTranscriptCurrent('docs/transcripts/cli-new-notifier.txt');
  const text = await shown('docs/transcripts/cli-new-notifier.txt');
  for (const pkg of ['core', 'notify', 'testkit', 'coordination'])
    expect(text).toMatch(
      new RegExp(`vendor/epochcast-${pkg}-\\S+\\.tgz +\\(@epochcast/${pkg} \\S+: pnpm pack of ~/epochcast/packages/${pkg}\\)`),
    );
});

test("the @epochcast/cli/mnist sample trains 1,000 digits for 2 epochs and prints the accuracy and the epochs' table", async () => {
  const { code, stdout, stderr } = await runSample('cli/mnist');
  expect(stderr + stdout).not.toMatch(/Error/);
  expect(code).toBe(0);
  const [accuracy, ...table] = stdout.trim().split(/ (?=epoch {2}train_loss)|\n/);
  expect(Number(accuracy)).toBeGreaterThan(0.8);
  expect(table[0]).toMatch(/^epoch +train_loss +valid_loss +accuracy +time$/);
  expect(table.slice(1).map((row) => row.split(/\s+/)[0])).toEqual(['0', '1']);
});
