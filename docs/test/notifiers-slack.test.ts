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
      expect(thread.filter((m) => m.text.startsWith('📈 mnist-mlp epoch')).map((m) => m.text.slice(0, 23))).toEqual([
        '📈 mnist-mlp epoch 1/3 ',
        '📈 mnist-mlp epoch 2/3 ',
        '📈 mnist-mlp epoch 3/3 ',
      ]);
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
