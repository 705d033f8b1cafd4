// The Slack docs: the README's "Run it" sample against the testkit's Slack server, and the channel
// that examples/slack prints (shown by both READMEs), produced again and compared.
import { startSlackServer } from '@epochcast/testkit';
import { describe, expect, test } from 'vitest';
import { expectTranscriptCurrent, runSample } from './support.js';

describe('@epochcast/slack docs', { timeout: 180_000 }, () => {
  test('Run it: one message in the channel, edited to ✅; the epochs, the summary and the plot in its thread', async () => {
    const server = await startSlackServer({ token: 'xoxb-docs-sample', channels: [{ id: 'C0TRAINING', name: 'training' }] });
    try {
      const run = await runSample(
        'slack/run-it',
        { SLACK_BOT_TOKEN: server.token, SLACK_CHANNEL: '#training', SLACK_API_URL: server.apiUrl },
        150_000,
      );
      expect(run.code, run.stderr).toBe(0);
      const messages = server.messages('training');
      const parents = messages.filter((m) => !m.thread_ts);
      expect(parents.map((m) => m.text)).toEqual([expect.stringMatching(/^✅ mnist-mlp completed 3 epochs in /)]);
      const thread = messages.filter((m) => m.thread_ts === parents[0]?.ts);
      // The first epoch goes out at once; later ones are paced at Slack's ~1 post a second per
      // channel, the newest winning, and the end's summary (with every epoch's row) supersedes a
      // pending one: so epochs 2 and 3 are there or not depending on how fast they ran.
      const epochs = thread.flatMap((m) => /^📈 mnist-mlp epoch (\d)\/3 /u.exec(m.text)?.[1] ?? []).map(Number);
      expect(epochs[0]).toBe(1);
      expect(epochs).toEqual([...new Set(epochs)].sort());
      expect(thread.find((m) => m.text.includes('epoch  train_loss'))?.text).toMatch(/^0 .*\n1 .*\n2 /m);
      expect(thread.some((m) => m.reply_broadcast === true && m.text.includes('✅ mnist-mlp completed 3 epochs'))).toBe(true);
      expect(server.files.map((f) => f.name)).toEqual([expect.stringMatching(/^mnist-mlp-[0-9a-f]{8}-losses\.png$/)]);
    } finally {
      await server.close();
    }
  });

  test('examples/slack: the channel transcript of the READMEs is what it prints now', { timeout: 300_000 }, async () => {
    await expectTranscriptCurrent('docs/transcripts/slack-example.txt');
  });
});
