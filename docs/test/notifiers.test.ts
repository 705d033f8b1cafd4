// The notifier samples of packages/notify, telegram, slack, email and ntfy READMEs, each run as a
// reader runs it (built, in a child process) with the documented variables pointing at the
// testkit's servers; each test checks what the server received.
import { startNtfyServer, startTelegramServer, startWebhookServer } from '@epochcast/testkit';
import { describe, expect, test } from 'vitest';
import { runSample } from './support.js';

const CHAT = 4242;

async function telegramEnv() {
  const server = await startTelegramServer();
  const env = { TELEGRAM_BOT_TOKEN: server.token, TELEGRAM_CHAT_ID: String(CHAT), TELEGRAM_API_ROOT: server.url };
  return { server, env };
}

// Each sample is a fresh Node process loading tfjs: seconds each, many more on a loaded machine.
describe('@epochcast/notify samples', { timeout: 180_000 }, () => {
  test('webhook: every notification of the fit reaches EPOCHCAST_WEBHOOK_URL, signed with EPOCHCAST_WEBHOOK_SECRET', async () => {
    const server = await startWebhookServer({ secret: 'sample-secret' });
    try {
      const run = await runSample('notify/webhook', {
        EPOCHCAST_WEBHOOK_URL: `${server.url}/training-hook`,
        EPOCHCAST_WEBHOOK_SECRET: 'sample-secret',
      });
      expect(run.code, run.stderr).toBe(0);
      const events = server.received.map((r) => (r.body as { event: string }).event);
      expect(events[0]).toBe('start');
      expect(events.at(-1)).toBe('end');
      // Epochs are paced like every notifier's, the newest winning, and the end supersedes a pending
      // one: on a fast machine the three epochs of this sample can all fall between start and end.
      const epochs = server.received.flatMap((r) => {
        const body = r.body as { event: string; epoch?: number };
        return body.event === 'epoch' ? [body.epoch] : [];
      });
      expect(epochs).toEqual([...epochs].sort());
      expect(events.filter((e) => e !== 'epoch')).toEqual(['start', 'end']);
      expect(server.received.every((r) => r.signatureValid === true && r.path === '/training-hook')).toBe(true);
    } finally {
      await server.close();
    }
  });

  test('webhook receiver: verifyWebhookSignature accepts what the WebhookCallback signs and refuses a forged signature', async () => {
    const run = await runSample('notify/webhook-receiver', { EPOCHCAST_WEBHOOK_SECRET: 'receiver-secret' });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(
      'accepted a signed start notification (delivery id present)\naccepted a signed end notification (delivery id present)\na forged request: 401\n',
    );
  });

  test('Alerts: the threshold rule fires once, as a silent info message, when accuracy reaches 80%; nothing critical', async () => {
    const { server, env } = await telegramEnv();
    try {
      const run = await runSample('notify/alerts', env, 150_000);
      expect(run.code, run.stderr).toBe(0);
      const sends = server.received.filter((c) => c.method === 'sendMessage' && c.status === 200);
      // The HTML the bot sent, its tags removed: the headline as the phone shows it.
      const headline = (c: (typeof sends)[number]) =>
        String(c.params.text)
          .replace(/<[^>]+>/g, '')
          .split('\n')[0] ?? '';
      const info = sends.filter((c) => headline(c).startsWith('ℹ️'));
      // The seeded MNIST slice is at 80.50% after epoch 1 on the cpu backend, 86.50% after epoch 3.
      expect(info.map(headline)).toEqual([expect.stringMatching(/^ℹ️ mnist-mlp · accuracy \d\d\.\d\d% at epoch [123]\/3 \(≥ 80\.00%\)$/)]);
      // Bot API parameters arrive as the form or JSON sent them: compare as text.
      expect(String(info[0]?.params.disable_notification)).toBe('true');
      // A loaded machine may make an epoch slow (slowEpoch's warning); a healthy run is never critical.
      expect(sends.filter((c) => headline(c).startsWith('🚨'))).toEqual([]);
      expect(sends.some((c) => headline(c).startsWith('✅ mnist-mlp completed 3 epochs'))).toBe(true);
    } finally {
      await server.close();
    }
  });

  test('notifier.alert(): outside a fit the alert is delivered before the process ends, with sound', async () => {
    const { server, env } = await telegramEnv();
    try {
      const run = await runSample('notify/alert', env);
      expect(run.code, run.stderr).toBe(0);
      const texts = server.messages(CHAT).map((m) => m.text ?? '');
      expect(texts).toEqual([expect.stringMatching(/^🚨 mnist-mlp · valid_loss is NaN at epoch 3\n/)]);
      const send = server.received.find((c) => c.method === 'sendMessage');
      expect(send).toBeDefined();
      expect(String(send?.params.disable_notification ?? false)).toBe('false');
    } finally {
      await server.close();
    }
  });

  test('notifyRun: the job returns its value, and the webhook got start then end, named after the job', async () => {
    const server = await startWebhookServer();
    try {
      const run = await runSample('notify/notify-run', { EPOCHCAST_WEBHOOK_URL: server.url });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toBe('reindexed 1234 rows\n');
      const bodies = server.received.map((r) => r.body as { event: string; run: { name: string }; status: string });
      expect(bodies.map((b) => [b.event, b.run.name])).toEqual([
        ['start', 'reindex'],
        ['end', 'reindex'],
      ]);
      expect(bodies[1]?.status).toBe('completed');
    } finally {
      await server.close();
    }
  });

  test('the notifier skeleton: a plugin of a few lines delivers start and end as plain text, its URL never printed', async () => {
    const server = await startNtfyServer();
    try {
      const url = `${server.url}/nightly-7f3k`;
      const run = await runSample('notify/text-push', { NTFY_URL: url });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toBe('delivered: start, end\n');
      const messages = server.messages('nightly-7f3k').map((m) => m.message);
      expect(messages).toEqual([expect.stringMatching(/^⏳ nightly-export/), expect.stringMatching(/^✅ nightly-export/)]);
      expect(run.stdout + run.stderr).not.toContain(url);
    } finally {
      await server.close();
    }
  });
});

describe('@epochcast/ntfy sample', { timeout: 180_000 }, () => {
  test('Run it: start, the first epoch, the end and the plot reach NTFY_URL, each with the click URL; the 10-minute interval holds back epochs 2 and 3', async () => {
    const server = await startNtfyServer();
    try {
      const run = await runSample('ntfy/run-it', { NTFY_URL: `${server.url}/my-runs-7f3k` }, 150_000);
      expect(run.code, run.stderr).toBe(0);
      const messages = server.messages('my-runs-7f3k');
      expect(messages.map((m) => m.title)).toEqual([
        'mnist-mlp · started',
        'mnist-mlp · epoch 1/3',
        'mnist-mlp · completed',
        'mnist-mlp · completed',
      ]);
      expect(messages.every((m) => m.click === 'https://wandb.ai/me/mnist')).toBe(true);
      expect(messages.at(-1)?.attachment?.name).toMatch(/^mnist-mlp-[0-9a-f]{8}-losses\.png$/);
    } finally {
      await server.close();
    }
  });
});
