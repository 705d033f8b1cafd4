import { type SlackServer, slotLateness, startSlackServer, validateSlackBlocks } from '@epochcast/testkit';
import { AwaitEpochDeliveries } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { SLACK_SEND_INTERVAL_MS } from '../src/config.js';
import { SlackCallback, type SlackCallbackOptions } from '../src/index.js';
import { AlertsAt, Crash, calls, collectingLogger, EpochCounter, everything, Pause, TOKEN, toyLearner } from './helpers.js';

let server: SlackServer | undefined;
let logger = collectingLogger();

beforeAll(async () => {
  await tf.setBackend('cpu');
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  logger = collectingLogger();
});

async function start(): Promise<SlackServer> {
  server = await startSlackServer({ token: TOKEN, channels: [{ id: 'C0TRAINING', name: 'training' }] });
  return server;
}

/** A callback on the test server; no pacing unless a test asks (Slack's 1 s would make every test seconds long). */
function slack(s: SlackServer, options: SlackCallbackOptions = {}): SlackCallback {
  return new SlackCallback({
    token: TOKEN,
    channel: '#training',
    slackApiUrl: s.apiUrl,
    runName: 'mnist-mlp',
    minSendIntervalMs: 0,
    logger,
    ...options,
  });
}

interface Block {
  type: string;
  text?: { text: string };
  fields?: { text: string }[];
  elements?: { text: string }[];
}
const blocksOf = (m: { blocks?: unknown[] }) => (m.blocks ?? []) as Block[];
const blockText = (m: { blocks?: unknown[] }) =>
  blocksOf(m)
    .flatMap((b) => [b.text?.text ?? '', ...(b.fields ?? []).map((f) => f.text), ...(b.elements ?? []).map((e) => e.text)])
    .join('\n');

describe('SlackCallback, bot token', () => {
  test('a 3-epoch run: a parent message, a reply per epoch in its thread, a broadcast summary, the plot in the thread, the parent edited to ✅', async () => {
    const s = await start();
    const learn = toyLearner([slack(s), new Pause()]);
    await learn.fit(3);

    const [authTest] = calls(s, 'auth.test');
    expect(authTest?.status).toBe(200);
    const messages = s.messages('training');
    const parents = messages.filter((m) => !m.thread_ts);
    expect(parents).toHaveLength(1);
    const parent = parents[0];
    if (!parent) throw new Error('no parent');
    // The parent was the start message, and was edited at the end.
    const firstPost = calls(s, 'chat.postMessage')[0];
    expect(String(firstPost?.params.text)).toMatch(/^⏳ mnist-mlp \([0-9a-f]{8}\) started on .+ · 3 epochs/);
    expect(parent.edited).toBeDefined();
    expect(parent.text).toMatch(/^✅ mnist-mlp completed 3 epochs in /);
    expect(blocksOf(parent)[0]).toMatchObject({ type: 'header' });

    const thread = messages.filter((m) => m.thread_ts === parent.ts);
    const replies = thread.filter((m) => m.via === 'api' && !m.reply_broadcast);
    expect(replies.map((m) => m.text)).toEqual([
      expect.stringMatching(/^📈 mnist-mlp epoch 1\/3 · train_loss [\d.]+ · valid_loss [\d.]+ · accuracy [\d.]+% · ETA \d+(ms|s)$/),
      expect.stringMatching(/^📈 mnist-mlp epoch 2\/3 /),
      expect.stringMatching(/^📈 mnist-mlp epoch 3\/3 /),
    ]);

    const summary = thread.find((m) => m.reply_broadcast);
    if (!summary) throw new Error('no broadcast summary');
    expect(summary.text).toMatch(/✅ mnist-mlp completed 3 epochs/);
    const blocks = blocksOf(summary);
    expect(blocks[0]).toMatchObject({ type: 'header', text: { text: expect.stringMatching(/^✅ mnist-mlp completed/) } });
    const fields = blocks.find((b) => b.fields)?.fields?.map((f) => f.text) ?? [];
    expect(fields).toEqual(
      expect.arrayContaining([
        '*Status*\n✅ completed',
        expect.stringMatching(/^\*Duration\*\n/),
        expect.stringMatching(/^\*Best\*\naccuracy [\d.]+% \(epoch \d\/3\)$/),
        expect.stringMatching(/^\*Final losses\*\ntrain [\d.]+ · valid [\d.]+$/),
        expect.stringMatching(/^\*Run\*\nmnist-mlp \([0-9a-f]{8}\)$/),
      ]),
    );
    expect(blockText(summary)).toMatch(/```\nepoch\s+train_loss\s+valid_loss\s+accuracy\s+time\n0 /);

    // The plot: files.uploadV2's three steps, the PNG in the run's thread, in the channel's ID.
    expect(calls(s, 'files.getUploadURLExternal')).toHaveLength(1);
    expect(calls(s, 'upload')).toHaveLength(1);
    expect(calls(s, 'files.completeUploadExternal')).toHaveLength(1);
    const [file] = s.files;
    expect(file).toMatchObject({ completed: true, channel: 'C0TRAINING', threadTs: parent.ts });
    expect(file?.name).toMatch(/^mnist-mlp-[0-9a-f]{8}-losses\.png$/);
    expect(file?.bytes?.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(file?.initialComment).toMatch(/mnist-mlp \([0-9a-f]{8}\) · losses/);

    // Never a channel message per epoch; nothing refused; the token nowhere in what was sent.
    expect(messages.filter((m) => !m.thread_ts || m.reply_broadcast)).toHaveLength(2);
    expect(s.received.filter((c) => c.error)).toEqual([]);
    expect(everything(s)).not.toContain(TOKEN);
    expect(logger.lines).toEqual([]);
  });

  test("alerts: warning and critical are channel messages of their own, info a reply in the run's thread", async () => {
    const s = await start();
    const callback = slack(s);
    const alerts = new AlertsAt(callback, {
      0: ['critical', 'valid_loss is NaN <!channel> & *more*'],
      1: ['info', 'checkpoint saved'],
      2: ['warning', 'valid_loss rose 4× in one epoch'],
    });
    await toyLearner([callback, alerts, new Pause()]).fit(3);
    const messages = s.messages('training');
    const [card, ...channelAlerts] = messages.filter((m) => !m.thread_ts);
    // The run's message is still the run's (edited to its outcome); the loud alerts stand beside it.
    expect(card?.text).toMatch(/^✅ mnist-mlp completed 3 epochs/);
    expect(channelAlerts.map((m) => m.text)).toEqual([
      // Escaped, never a mention; not bold, as the text has stars of its own.
      expect.stringMatching(/^🚨 mnist-mlp · valid_loss is NaN &lt;!channel&gt; &amp; \*more\*\n/),
      expect.stringMatching(/^\*🔔 mnist-mlp · valid_loss rose 4× in one epoch\*/),
    ]);
    const thread = messages.filter((m) => m.thread_ts === card?.ts);
    const info = thread.filter((m) => m.text.includes('checkpoint saved'));
    expect(info).toHaveLength(1);
    expect(info[0]?.text).toMatch(/^\*ℹ️ mnist-mlp · checkpoint saved\*/);
    expect(info[0]?.reply_broadcast).toBeFalsy();
    // Epoch replies are untouched by the alerts: one per epoch, in the thread.
    expect(thread.filter((m) => m.text.startsWith('📈')).map((m) => /^📈 mnist-mlp epoch \d\/3/.exec(m.text)?.[0])).toEqual([
      '📈 mnist-mlp epoch 1/3',
      '📈 mnist-mlp epoch 2/3',
      '📈 mnist-mlp epoch 3/3',
    ]);
    for (const alert of [...channelAlerts, ...info]) {
      expect(validateSlackBlocks(alert.blocks ?? [])).toBeUndefined();
      expect(blocksOf(alert)[0]).toMatchObject({ type: 'header' });
      const fields =
        blocksOf(alert)
          .find((b) => b.fields)
          ?.fields?.map((f) => f.text) ?? [];
      expect(fields).toEqual([
        expect.stringMatching(/^\*run\*\nmnist-mlp \([0-9a-f]{8}\)$/),
        expect.stringMatching(/^\*host\*\n/),
        expect.stringMatching(/^\*started\*\n/),
        expect.stringMatching(/^\*duration\*\n/),
        expect.stringMatching(/^\*epochs\*\n[123]\/3$/),
      ]);
      expect(blockText(alert)).not.toContain('train_loss');
    }
    expect(s.received.filter((c) => c.error)).toEqual([]);
    expect(logger.lines).toEqual([]);
  });

  test('an alert outside a fit is a channel message, even at info; its whole text when the headline cuts it', async () => {
    const s = await start();
    const callback = slack(s, { runName: 'nightly' });
    const long = `export late:\n${'the upstream table was not ready. '.repeat(10)}`;
    callback.alert(long, { level: 'info' });
    await callback.flush(5000);
    const [message] = s.messages('training');
    expect(message?.thread_ts).toBeUndefined();
    expect(blocksOf(message ?? {})[0]?.text?.text).toMatch(/^ℹ️ nightly · export late: the upstream table .*…$/);
    expect(blockText(message ?? {})).toContain(long.trim());
    expect(validateSlackBlocks(message?.blocks ?? [])).toBeUndefined();
  });

  test("epochs: 'update' edits the parent in place instead of replying", async () => {
    const s = await start();
    await toyLearner([slack(s, { epochs: 'update' }), new Pause()]).fit(3);
    const messages = s.messages('training');
    expect(calls(s, 'chat.update')).toHaveLength(4); // three epochs, then the outcome
    const epochEdits = calls(s, 'chat.update').slice(0, 3);
    expect(epochEdits.map((c) => String(c.params.text))).toEqual([
      expect.stringMatching(/^📈 mnist-mlp epoch 1\/3/),
      expect.stringMatching(/^📈 mnist-mlp epoch 2\/3/),
      expect.stringMatching(/^📈 mnist-mlp epoch 3\/3/),
    ]);
    // The live card carries the table so far.
    expect(String(epochEdits[2]?.params.blocks)).toContain('train_loss');
    const parent = messages.find((m) => !m.thread_ts);
    expect(parent?.text).toMatch(/^✅ mnist-mlp completed/);
    const thread = messages.filter((m) => m.thread_ts === parent?.ts);
    expect(thread.map((m) => (m.reply_broadcast ? 'summary' : m.via))).toEqual(['summary', 'file']);
  });

  test('a crash: the error and its stack broadcast from the thread, the parent edited to ❌, no plot', async () => {
    const s = await start();
    const error = new TypeError('x is undefined & <b>bold</b>');
    await expect(toyLearner([slack(s), new Crash(1, error), new Pause()]).fit(5)).rejects.toThrow('x is undefined');

    const messages = s.messages('training');
    const parent = messages.find((m) => !m.thread_ts);
    expect(parent?.text).toMatch(
      /^❌ mnist-mlp failed after 2\/5 epochs \(.+\): CallbackError: .*x is undefined &amp; &lt;b&gt;bold&lt;\/b&gt;/,
    );
    const summary = messages.find((m) => m.reply_broadcast);
    if (!summary) throw new Error('no broadcast');
    expect(summary.thread_ts).toBe(parent?.ts);
    expect(fieldsOf(summary)).toContain('*Status*\n❌ failed');
    expect(blockText(summary)).toMatch(/```\nCallbackError: .*\n\s+at /);
    // Only the header (plain_text, never parsed) shows the raw `<b>`; mrkdwn has it escaped.
    expect(blockText({ blocks: blocksOf(summary).filter((b) => b.type !== 'header') })).not.toContain('<b>');
    expect(s.files).toHaveLength(0);
  });

  test('a long stack is trimmed to one section, its head and tail kept', async () => {
    const s = await start();
    const callback = slack(s);
    const run = {
      name: 'mnist-mlp',
      id: '0a1b2c3d',
      host: 'gpu-01',
      rank: 0,
      startedAt: Date.now() - 65_000,
      totalEpochs: 5,
      schedule: 'fit lr=0.001',
    };
    const base = { run, history: [], metricNames: [], durationMs: 65_000 };
    await callback.notify({ ...base, event: 'start', status: 'running' });
    const stack = `TypeError: x is undefined\n${Array.from({ length: 400 }, (_, i) => `    at frame${i} (/src/train.ts:${i}:1)`).join('\n')}`;
    const report = await callback.notify({
      ...base,
      event: 'error',
      status: 'failed',
      error: { name: 'TypeError', message: 'x is undefined', stack },
    });
    expect(report.failed).toEqual([]);
    const summary = s.messages().find((m) => m.reply_broadcast);
    if (!summary) throw new Error('no broadcast');
    const text = blockText(summary);
    expect(text).toContain('at frame0 ');
    expect(text).toContain('at frame399 ');
    expect(text).not.toContain('at frame200 ');
    expect(s.messages().find((m) => !m.thread_ts)?.text).toMatch(
      /^❌ mnist-mlp failed after 0\/5 epochs \(1m 05s\): TypeError: x is undefined/,
    );
  });

  test("Slack's limits and mrkdwn escaping: a hostile run name, a huge stack, a long run", async () => {
    const s = await start();
    const name = `<!channel> & <@U123> *bold* ${'x'.repeat(300)}`;
    const error = new Error(`boom <https://evil.example|click> ${'y'.repeat(5000)}`);
    error.stack = `${error.message}\n${'    at somewhere (/a/very/long/path/to/a/file.ts:1:1)\n'.repeat(2000)}`;
    await expect(toyLearner([slack(s, { runName: name }), new Crash(39, error)]).fit(40)).rejects.toThrow('boom');
    expect(s.received.filter((c) => c.error)).toEqual([]); // the server's Block Kit checks accepted every message
    for (const m of s.messages()) {
      expect(validateSlackBlocks(m.blocks ?? [])).toBeUndefined();
      expect(blocksOf(m).length).toBeLessThanOrEqual(50);
      for (const b of blocksOf(m)) {
        if (b.type === 'header') expect(b.text?.text.length).toBeLessThanOrEqual(150);
        if (b.type === 'section' && b.text) expect(b.text.text.length).toBeLessThanOrEqual(3000);
      }
      // mrkdwn is escaped; a header is plain_text, which Slack shows as is and never parses.
      const mrkdwn = `${m.text}\n${blockText({ blocks: blocksOf(m).filter((b) => b.type !== 'header') })}`;
      expect(mrkdwn).not.toMatch(/<!channel>|<@U123>|<https:/);
      if (m.via !== 'file') expect(m.text.length).toBeLessThanOrEqual(40_000);
    }
    const summary = s.messages().find((m) => m.reply_broadcast);
    expect(summary?.text).toContain('&lt;!channel&gt; &amp; &lt;@U123&gt;');
  });

  test('a 429 with Retry-After is waited out for the time Slack asked (measured between the two calls)', async () => {
    const s = await start();
    s.faults.rateLimit(1, 2, { methods: ['chat.postMessage'] });
    await toyLearner([slack(s, { on: ['end'] })]).fit(1);
    const posts = calls(s, 'chat.postMessage');
    expect(posts.map((c) => c.fault ?? c.status)).toEqual(['rateLimit', 200]);
    const waited = (posts[1]?.at ?? 0) - (posts[0]?.at ?? 0);
    expect(waited).toBeGreaterThanOrEqual(1990);
    expect(waited).toBeLessThan(2600);
    expect(logger.lines).toEqual([]);
  });

  test('posts are paced at one a second by default (Slack: ~1 message/s per channel)', async () => {
    const s = await start();
    await toyLearner([slack(s, { minSendIntervalMs: undefined, on: ['start', 'epoch', 'end'], plot: false })]).fit(2);
    const sends = s.received.filter((c) => c.method === 'chat.postMessage');
    expect(sends.length).toBeGreaterThanOrEqual(3);
    // Each post in a slot of its own, 1050 ms after the one before (late into it on a busy machine, never early).
    expect(
      slotLateness(
        sends.map((c) => c.at),
        SLACK_SEND_INTERVAL_MS,
      ),
    ).toBeLessThanOrEqual(SLACK_SEND_INTERVAL_MS / 2);
  });

  test('a bad token is a clear error before the first epoch, without the token in it', async () => {
    const s = await start();
    const counter = new EpochCounter();
    const wrong = 'xoxb-wrong-9a8b7c6d';
    const error = await toyLearner([slack(s, { token: wrong }), counter])
      .fit(3)
      .catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect(error?.message).toMatch(/auth\.test: invalid_auth .*SLACK_BOT_TOKEN/);
    expect(error?.message).not.toContain(wrong);
    expect(counter.begun).toBe(0);
    expect(s.received.map((c) => c.method)).toEqual(['auth.test']);
    expect(logger.lines.join('\n')).not.toContain(wrong);
  });

  test('an unknown channel is a clear error before the first epoch; nothing more is sent', async () => {
    const s = await start();
    const counter = new EpochCounter();
    const error = await toyLearner([slack(s, { channel: '#nope' }), counter])
      .fit(3)
      .catch((e: unknown) => e as Error);
    expect(error?.message).toMatch(/channel_not_found .*"#nope".*SLACK_CHANNEL/);
    expect(error?.message).not.toContain(TOKEN);
    expect(counter.begun).toBe(0);
    expect(s.received.map((c) => `${c.method}:${c.error ?? c.status}`)).toEqual(['auth.test:200', 'chat.postMessage:channel_not_found']);
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]).toMatch(/could not deliver the start message: refused: chat\.postMessage: channel_not_found/);
  });

  test('Slack down at the start is no configuration error: a warning, and training goes on', async () => {
    const s = await start();
    s.faults.serverError(1, 503, { methods: ['auth.test'] });
    const learn = toyLearner([slack(s, { on: ['end'], plot: false })]);
    await learn.fit(1);
    expect(learn.state.status).toBe('completed');
    expect(logger.lines).toEqual([expect.stringMatching(/could not check the token \(auth\.test: HTTP 503/)]);
    expect(s.messages()).toHaveLength(1);
  });

  test('a failed upload is retried without posting the summary twice', async () => {
    const s = await start();
    s.faults.serverError(1, 500, { methods: ['upload'] });
    await toyLearner([slack(s, { on: ['start', 'end'] })]).fit(1);
    expect(s.messages().filter((m) => m.reply_broadcast)).toHaveLength(1);
    expect(calls(s, 'upload').map((c) => c.fault ?? c.status)).toEqual(['serverError', 200]);
    expect(s.files.filter((f) => f.completed)).toHaveLength(1);
    expect(s.messages().find((m) => !m.thread_ts)?.text).toMatch(/^✅/);
    expect(logger.lines).toEqual([]);
  });

  test('a refused edit of the parent is a warning; the summary counts as delivered', async () => {
    const s = await start();
    s.faults.unauthorized(1, { methods: ['chat.update'] });
    const callback = slack(s, { on: ['start', 'end'], plot: false });
    await toyLearner([callback]).fit(1);
    expect(callback.report.delivered).toEqual(['start', 'end']);
    expect(logger.lines).toEqual([
      expect.stringMatching(/the end message was sent, but the run message's update was refused: chat\.update: invalid_auth/),
    ]);
  });

  test('without a start message the first epoch is the parent; the summary then replies in its thread', async () => {
    const s = await start();
    // Each epoch's message goes out before the next is due (none coalesced), however loaded the machine.
    const epochPosts = () => calls(s, 'chat.postMessage').filter((c) => c.status === 200 && String(c.params.text).startsWith('📈')).length;
    await toyLearner([slack(s, { on: ['epoch', 'end'], plot: false }), new AwaitEpochDeliveries(epochPosts)]).fit(2);
    const messages = s.messages('training');
    const parent = messages.find((m) => !m.thread_ts);
    expect(calls(s, 'chat.postMessage').map((c) => String(c.params.text))).toEqual([
      expect.stringMatching(/^📈 mnist-mlp epoch 1\/2 /),
      expect.stringMatching(/^📈 mnist-mlp epoch 2\/2 /),
      expect.stringMatching(/^\*✅ mnist-mlp completed 2 epochs/),
    ]);
    expect(parent?.text).toMatch(/^✅/);
    expect(messages.filter((m) => m.thread_ts === parent?.ts)).toHaveLength(2);
  });
});

function fieldsOf(m: { blocks?: unknown[] }): string[] {
  return blocksOf(m).flatMap((b) => (b.fields ?? []).map((f) => f.text));
}
