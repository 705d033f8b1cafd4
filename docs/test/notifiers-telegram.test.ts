// The Telegram docs: the README's "Use it" sample against the testkit's Bot API server, and the
// two chats the docs show — examples/telegram's run and the README's /status and /stop — produced
// again and compared with the transcripts.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { startTelegramServer } from '@epochcast/testkit';
import { describe, expect, test } from 'vitest';
import { transcriptNamed } from '../src/transcripts.js';
import { expectTranscriptCurrent, ROOT, runSample } from './support.js';

const CHAT = 4242;

describe('@epochcast/telegram docs', { timeout: 180_000 }, () => {
  test('Use it: the start message, one live epoch message that ends at epoch 3/3, the end message and the plot', async () => {
    const server = await startTelegramServer();
    try {
      const run = await runSample(
        'telegram/use-it',
        { TELEGRAM_BOT_TOKEN: server.token, TELEGRAM_CHAT_ID: String(CHAT), TELEGRAM_API_ROOT: server.url },
        150_000,
      );
      expect(run.code, run.stderr).toBe(0);
      const messages = server.messages(CHAT);
      const shown = messages.map((m) => (m.text ?? m.caption ?? '').split('\n')[0] ?? '');
      // The live epoch message is there when an epoch went out before the end (Telegram's ~1 message
      // a second per chat paces it behind the start message), and then it ends at 3/3, never stale.
      const live = shown.filter((line) => line.startsWith('📈'));
      expect(live.length).toBeLessThanOrEqual(1);
      for (const line of live) expect(line).toMatch(/^📈 mnist-mlp epoch 3\/3 · train_loss /);
      expect(shown.filter((line) => !line.startsWith('📈'))).toEqual([
        expect.stringMatching(/^⏳ mnist-mlp \([0-9a-f]{8}\) started on .* · 3 epochs · one-cycle lrMax=0\.01/),
        expect.stringMatching(/^✅ mnist-mlp completed 3 epochs in /),
        expect.stringMatching(/^✅ mnist-mlp completed 3 epochs in /),
      ]);
      expect(messages.at(-1)?.photo).toBeDefined();
      expect(run.stderr).not.toContain('epochcast telegram:');
    } finally {
      await server.close();
    }
  });

  test('examples/telegram: the transcript in its README is what it prints now', { timeout: 300_000 }, async () => {
    await expectTranscriptCurrent('docs/transcripts/telegram-example.txt');
    const shown = await readFile(path.join(ROOT, 'docs/transcripts/telegram-example.txt'), 'utf8');
    // Issue 20 item 5: the live progress message ends at the last epoch, not a coalesced-away one.
    expect(shown).toMatch(/── 🤖 bot \(edited \d×\)\n📈 mnist-mlp epoch 3\/3 · /);
    expect(shown).toContain('Reply /status /plot /stop /lr /quiet /runs /help');
  });

  test('the README chat: /status and /stop after the second epoch, "Yes, stop", and the end message saying who stopped it', {
    timeout: 300_000,
  }, async () => {
    // Produced by the sample the README shows a region of (the simulated user).
    expect(transcriptNamed('docs/transcripts/telegram-chat.txt').command).toEqual(['node', 'docs/dist/samples/telegram/chat.js']);
    await expectTranscriptCurrent('docs/transcripts/telegram-chat.txt');
    const shown = await readFile(path.join(ROOT, 'docs/transcripts/telegram-chat.txt'), 'utf8');
    expect(shown).toContain('⏹ Stopping mnist-mlp');
    expect(shown).toMatch(/⏹ mnist-mlp stopped after 2\/3 epochs \(.*\): stopped from Telegram by Ada Lovelace \(@ada\)/);
  });
});
