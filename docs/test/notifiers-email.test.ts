// The e-mail docs: the README's "Use it" sample against the testkit's SMTP sink (SMTP_URL,
// EMAIL_FROM, EMAIL_TO), and what examples/email prints, produced again and compared.
import { startSmtpSink } from '@epochcast/testkit';
import { describe, expect, test } from 'vitest';
import { expectTranscriptCurrent, runSample } from './support.js';

describe('@epochcast/email docs', { timeout: 180_000 }, () => {
  test('Use it: one summary mail to both recipients, with the loss plot inline and the history attached', async () => {
    const sink = await startSmtpSink();
    try {
      const run = await runSample(
        'email/use-it',
        { SMTP_URL: sink.url, EMAIL_FROM: 'epochcast <me@example.com>', EMAIL_TO: 'me@example.com, team@example.com' },
        150_000,
      );
      expect(run.code, run.stderr).toBe(0);
      expect(sink.received).toHaveLength(1);
      const mail = sink.received[0];
      expect(mail?.to).toEqual(['me@example.com', 'team@example.com']);
      expect(mail?.subject).toMatch(/^\[epochcast\] mnist-mlp completed · accuracy \d\d\.\d\d% · 3 epochs in /);
      expect(mail?.attachments.map((a) => a.filename)).toEqual(['loss.png', 'mnist-mlp-history.csv']);
    } finally {
      await sink.close();
    }
  });

  test('examples/email: the transcript in its README is what it prints now', { timeout: 300_000 }, async () => {
    await expectTranscriptCurrent('docs/transcripts/email-example.txt');
  });
});
