// Issue 16: `epochcast run` reports a training script as a Learner run — each epoch read from the
// output, the end with its table and plot, stalls, /status and /stop — end to end: epochcast as a
// real child process, real clients, the testkit's local servers.
import { createHash } from 'node:crypto';
import type { Notification } from '@epochcast/notify';
import {
  type SlackServer,
  type SmtpSink,
  startSlackServer,
  startSmtpSink,
  startTelegramServer,
  startWebhookServer,
  type TelegramCall,
  type TelegramServer,
  type WebhookServer,
} from '@epochcast/testkit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { type CliRun, cli, nodeScript, startCli } from './helpers.js';

const CHAT = 4242;
let telegram: TelegramServer;
let slack: SlackServer;
let smtp: SmtpSink;
let hook: WebhookServer;
const runs: CliRun[] = [];

beforeAll(async () => {
  [telegram, slack, smtp] = await Promise.all([startTelegramServer({ token: '777:run-training' }), startSlackServer(), startSmtpSink()]);
});
afterAll(async () => {
  await Promise.all([telegram.close(), slack.close(), smtp.close()]);
});
beforeEach(async () => {
  hook = await startWebhookServer();
  for (const server of [telegram, slack, smtp]) server.clearReceived();
});
afterEach(async () => {
  for (const run of runs.splice(0)) if (run.process.exitCode === null) run.process.kill('SIGKILL');
  await hook.close();
});

const TELEGRAM_ENV = () => ({ TELEGRAM_BOT_TOKEN: telegram.token, TELEGRAM_CHAT_ID: String(CHAT), TELEGRAM_API_ROOT: telegram.url });
const notes = (): Notification[] => hook.received.map((r) => r.body as Notification);
const events = () => notes().map((n) => n.event);

/**
 * A Node script printing what Keras 3 prints at verbose=2 — `Epoch k/N`, then one line per epoch —
 * pausing `pauseMs` before each epoch (Telegram's pace is one message a second: each edit shows).
 */
function kerasLike(
  rows: readonly (readonly [acc: number, loss: number, valAcc: number, valLoss: number])[],
  pauseMs: number,
  after = '',
): string[] {
  const script = `
    const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    const rows = ${JSON.stringify(rows)};
    rows.forEach(([acc, loss, valAcc, valLoss], i) => {
      pause(${pauseMs});
      console.log('Epoch ' + (i + 1) + '/' + rows.length);
      console.log('32/32 - 1s - 20ms/step - accuracy: ' + acc.toFixed(4) + ' - loss: ' + loss.toFixed(4) +
        ' - val_accuracy: ' + valAcc.toFixed(4) + ' - val_loss: ' + valLoss.toFixed(4));
    });
    ${after}`;
  return nodeScript(script);
}

const ROWS = [
  [0.81, 0.52, 0.8, 0.45],
  [0.9, 0.31, 0.86, 0.35],
  [0.95, 0.2, 0.9, 0.3],
] as const;

function start(args: readonly string[], env: NodeJS.ProcessEnv = {}): CliRun {
  const run = startCli(args, { env });
  runs.push(run);
  return run;
}

/** The texts of the bot's successful calls of `method`, as the chat shows them (HTML tags and entities resolved). */
function sentTexts(method: string): string[] {
  return telegram.received.filter((c) => c.method === method && c.status === 200).map((c) => plain(String(c.params.text ?? '')));
}

function plain(html: string): string {
  return html
    .replace(/<[^>]+>/g, '')
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&amp;', '&');
}

describe('a Keras script under epochcast run', () => {
  test('each epoch edits one live Telegram message with its numbers; the end brings the table and the loss plot; Slack replies in a thread; the e-mail carries the CSV', async () => {
    const r = await cli(
      ['run', '--telegram', '--slack', '--email', '--webhook', hook.url, '--name', 'keras-job', '--', ...kerasLike(ROWS, 1200)],
      {
        env: {
          ...TELEGRAM_ENV(),
          SLACK_BOT_TOKEN: slack.token,
          SLACK_CHANNEL: '#training',
          SLACK_API_URL: slack.apiUrl,
          SMTP_URL: `smtp://${smtp.host}:${smtp.port}`,
          EMAIL_FROM: 'runs@example.test',
          EMAIL_TO: 'me@example.test',
        },
      },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Epoch 3/3\n32/32 - 1s - 20ms/step - accuracy: 0.9500 - loss: 0.2000');

    // The webhook: start, an epoch per epoch read with its numbers, the end with the history.
    expect(events()).toEqual(['start', 'epoch', 'epoch', 'epoch', 'end']);
    const epochs = notes().filter((n) => n.event === 'epoch');
    expect(
      epochs.map((n) => [n.stats?.epoch, n.stats?.totalEpochs, n.stats?.trainLoss, n.stats?.validLoss, n.stats?.metrics.val_accuracy]),
    ).toEqual([
      [0, 3, 0.52, 0.45, 0.8],
      [1, 3, 0.31, 0.35, 0.86],
      [2, 3, 0.2, 0.3, 0.9],
    ]);
    const end = notes().at(-1);
    expect(end).toMatchObject({ status: 'completed', run: { name: 'keras-job', totalEpochs: 3 } });
    expect(end?.history).toHaveLength(3);

    // Telegram: one live message, sent silently once and edited for each later epoch.
    // Form fields: the client sends booleans and objects as strings.
    const live = telegram.received.filter((c) => c.params.disable_notification === 'true' && c.method === 'sendMessage');
    expect(live).toHaveLength(1);
    expect(plain(String(live[0]?.params.text))).toMatch(
      /^📈 keras-job epoch 1\/3 · train_loss 0\.5200 · valid_loss 0\.4500 · val_accuracy 80\.00%/,
    );
    const edits = sentTexts('editMessageText');
    expect(edits.map((t) => /epoch (\d)\/3/.exec(t)?.[1])).toEqual(['2', '3']);
    expect(edits[1]).toMatch(/epoch 3\/3 · train_loss 0\.2000 · valid_loss 0\.3000 · val_accuracy 90\.00% · accuracy 95\.00%/);
    const endText = sentTexts('sendMessage').find((t) => t.startsWith('✅'));
    expect(endText).toMatch(/^✅ keras-job completed 3 epochs in .* · best val_accuracy 90\.00% \(epoch 3\/3\)/);
    expect(endText).toMatch(/epoch\s+train_loss\s+valid_loss\s+val_accuracy\s+accuracy\s+time/);
    expect(telegram.received.filter((c) => c.method === 'sendPhoto' && c.status === 200)).toHaveLength(1);

    // Slack: the start card, the epochs as replies in its thread, the summary.
    const posted = slack.messages();
    const card = posted[0];
    expect(card?.thread_ts).toBeUndefined();
    const replies = posted.filter((m) => m.thread_ts === card?.ts && m.ts !== card?.ts);
    expect(replies.some((m) => /epoch 3\/3/.test(m.text))).toBe(true);

    // E-mail: the end, with the epochs as CSV.
    const mail = await smtp.waitFor();
    expect(mail.subject).toMatch(/^\[epochcast\] keras-job completed · val_accuracy 90\.00%/);
    const csv = mail.attachments.find((a) => a.filename?.endsWith('.csv'));
    const rows = csv?.content.toString('utf8').trim().split(/\r?\n/) ?? [];
    expect(rows).toHaveLength(4);
    expect(rows[0]).toMatch(/^epoch,train_loss,valid_loss,val_accuracy,accuracy/);
  });

  test('protocol lines win over what the heuristics read, and are not shown; a malformed one is shown and harms nothing', async () => {
    const protocol = `
      console.log('@epochcast ' + JSON.stringify({ event: 'start', epochs: 2 }));
      console.log('Epoch 1/2');
      console.log('32/32 - 1s - 20ms/step - loss: 0.9000 - val_loss: 0.9000');
      console.log('@epochcast ' + JSON.stringify({ event: 'epoch', epoch: 1, epochs: 2, loss: 0.25, val_loss: 0.2, f1: 0.7 }));
      console.log('@epochcast {"event": "epoch", "epoch": ');
      console.log('Epoch 2/2');
      console.log('32/32 - 1s - 20ms/step - loss: 0.8000 - val_loss: 0.8000');
      console.log('@epochcast ' + JSON.stringify({ event: 'epoch', epoch: 2, epochs: 2, loss: 0.125, val_loss: 0.1, f1: 0.8 }));`;
    const r = await cli(['run', '--webhook', hook.url, '--', ...nodeScript(protocol)]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/@epochcast \{"event":"(start|epoch)","ep/);
    expect(r.stdout).toContain('@epochcast {"event": "epoch", "epoch": \n');
    expect(
      notes()
        .at(-1)
        ?.history.map((s) => [s.epoch, s.trainLoss, s.validLoss, s.metrics.f1]),
    ).toEqual([
      [0, 0.25, 0.2, 0.7],
      [1, 0.125, 0.1, 0.8],
    ]);
    expect(notes().at(-1)?.run.totalEpochs).toBe(2);
  });
});

describe('stalls', () => {
  test('a command that goes silent raises one alert, and one note when it moves again', async () => {
    // 2 s: a loaded machine can take over a second to start node, and a stall before the first line would be one too.
    const r = await cli(['run', '--webhook', hook.url, '--stall', '2s', '--', ...nodeScript(kerasScriptWithPause())]);
    expect(r.code).toBe(0);
    const alerts = notes().filter((n) => n.event === 'alert');
    expect(alerts.map((n) => n.alert?.level)).toEqual(['warning', 'info']);
    expect(alerts[0]?.alert?.text).toMatch(/^Stalled\? no output for \d+s\. Last epoch read: 1\/2\./);
    expect(alerts[1]?.alert?.text).toMatch(/^Moving again after \d+s without progress\./);
    // The alerts came between the two epochs (the second epoch's own message may have been folded
    // into the end, which came right after it).
    expect(events().slice(0, 4)).toEqual(['start', 'epoch', 'alert', 'alert']);
    expect(notes().at(-1)).toMatchObject({ event: 'end', history: [{ epoch: 0 }, { epoch: 1 }] });
  });
});

/** The body of a `node -e` script: an epoch, 4.5 s of silence, an epoch. */
function kerasScriptWithPause(): string {
  return `
    const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    console.log('Epoch 1/2');
    console.log('32/32 - 1s - 20ms/step - loss: 0.5000 - val_loss: 0.4000');
    pause(4500);
    console.log('Epoch 2/2');
    console.log('32/32 - 1s - 20ms/step - loss: 0.3000 - val_loss: 0.2000');`;
}

describe('from the phone', () => {
  const ADA = { first_name: 'Ada', last_name: '', username: 'ada' };
  /** A command at its second epoch that waits, and ends 130 on SIGINT as Python does (KeyboardInterrupt). */
  const WAITS = kerasLike(
    ROWS.slice(0, 1),
    0,
    `console.log('waiting for the data loader');
     process.on('SIGINT', () => { console.log('got SIGINT'); process.exit(130); });
     setInterval(() => {}, 1000);`,
  );

  async function botReplyTo(update: { message?: { message_id: number } }): Promise<TelegramCall> {
    const id = update.message?.message_id;
    return telegram.waitFor(
      (c) => c.method === 'sendMessage' && String(c.params.reply_parameters ?? '').includes(`"message_id":${id}`),
      10_000,
    );
  }

  test('/status answers with the latest epoch and the last output lines; /stop asks, and Yes sends SIGINT: exit 130, the end says who stopped it', async () => {
    const run = start(['run', '--telegram', '--webhook', hook.url, '--name', 'phone-job', '--', ...WAITS], TELEGRAM_ENV());
    await run.waitForOutput('waiting for the data loader');
    await hook.waitFor((r) => (r.body as Notification).event === 'epoch', 10_000);

    const status = await botReplyTo(telegram.pushUpdate({ chatId: CHAT, text: '/status' }));
    const statusText = plain(String(status.params.text));
    expect(statusText).toMatch(/📊 phone-job \([0-9a-f]{8}\) · epoch 1\/1 done/);
    expect(statusText).toContain('Output:');
    expect(statusText).toContain('waiting for the data loader');

    const question = await botReplyTo(telegram.pushUpdate({ chatId: CHAT, text: '/stop', from: ADA }));
    expect(plain(String(question.params.text))).toMatch(
      /⏹ Stop .*phone-job.*\? \(epochcast sends SIGINT to its command, and SIGTERM if it still runs 30 s later\)/,
    );
    const keyboard = question.params.reply_markup as { inline_keyboard: { callback_data: string }[][] } | string;
    const parsed = typeof keyboard === 'string' ? (JSON.parse(keyboard) as { inline_keyboard: { callback_data: string }[][] }) : keyboard;
    const sent = telegram.messages(CHAT).at(-1);
    telegram.pushCallbackQuery({
      chatId: CHAT,
      messageId: sent?.message_id ?? 0,
      data: String(parsed.inline_keyboard[0]?.[0]?.callback_data),
      from: ADA,
    });
    const r = await run.done;
    expect(r.code).toBe(130);
    expect(r.stdout).toContain('got SIGINT');
    const end = notes().at(-1);
    expect(end).toMatchObject({ event: 'end', status: 'stopped', stopReason: 'stopped from Telegram by Ada (@ada)' });
    expect(end?.run.schedule).toMatch(/→ exit code 130$/);
    expect(sentTexts('sendMessage').find((t) => t.startsWith('⏹ phone-job'))).toMatch(
      /^⏹ phone-job stopped after 1\/1 epochs \(.*\): stopped from Telegram by Ada \(@ada\)/,
    );
  });

  test('a command that ignores the SIGINT of a /stop gets SIGTERM after --stop-grace', async () => {
    const ignores = nodeScript(
      "console.log('ready'); process.on('SIGINT', () => console.log('ignoring SIGINT')); process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(143); }); setInterval(() => {}, 1000);",
    );
    const run = start(['run', '--telegram', '--stop-grace', '1', '--', ...ignores], TELEGRAM_ENV());
    await run.waitForOutput('ready');
    await telegram.waitFor((c) => c.method === 'getUpdates', 10_000);
    const question = await botReplyTo(telegram.pushUpdate({ chatId: CHAT, text: '/stop' }));
    const keyboard = question.params.reply_markup as { inline_keyboard: { callback_data: string }[][] } | string;
    const parsed = typeof keyboard === 'string' ? (JSON.parse(keyboard) as { inline_keyboard: { callback_data: string }[][] }) : keyboard;
    telegram.pushCallbackQuery({
      chatId: CHAT,
      messageId: telegram.messages(CHAT).at(-1)?.message_id ?? 0,
      data: String(parsed.inline_keyboard[0]?.[0]?.callback_data),
    });
    const r = await run.done;
    expect(r.stdout).toMatch(/ignoring SIGINT\n(.|\n)*got SIGTERM\n/);
    expect(r.code).toBe(143);
  });
});

describe('hostile output', () => {
  test('a 10 MB line, binary bytes and garbage pass through unchanged and do not stop the epochs from being read', async () => {
    const script = `
      const { createHash, randomBytes } = require('node:crypto');
      const hash = createHash('sha256');
      const out = (b) => { hash.update(b); require('node:fs').writeSync(1, b); };
      out(Buffer.from('x'.repeat(10 * 1024 * 1024) + '\\n'));
      // Binary bytes, invalid UTF-8 and control characters — but no ESC: random escape sequences move
      // the cursor up into earlier lines, as on a terminal, and the epochs would be drawn over them.
      out(randomBytes(1024 * 1024).map((b) => (b === 0x1b ? 0x20 : b)));
      process.stderr.write(randomBytes(64 * 1024));
      out(Buffer.from('\\n\\u001b[31m@epochcast {not json}\\u001b[0m\\n\\r\\r\\b\\b\\u0000\\n'));
      out(Buffer.from('Epoch 1/2\\n32/32 - 1s - 20ms/step - loss: 0.5000 - val_loss: 0.4000\\n'));
      out(Buffer.from('Epoch 2/2\\n32/32 - 1s - 20ms/step - loss: 0.2500 - val_loss: 0.2000\\n'));
      console.error(hash.digest('hex'));`;
    const run = startCli(['run', '--webhook', hook.url, '--', ...nodeScript(script)]);
    runs.push(run);
    const chunks: Buffer[] = [];
    run.process.stdout.on('data', (d: Buffer) => chunks.push(d));
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(createHash('sha256').update(Buffer.concat(chunks)).digest('hex')).toBe(/([0-9a-f]{64})\n$/.exec(r.stderr)?.[1]);
    // (Epoch messages still queued when the end comes are dropped: the end carries the whole table.)
    expect(
      notes()
        .at(-1)
        ?.history.map((s) => s.trainLoss),
    ).toEqual([0.5, 0.25]);
    expect(notes().at(-1)?.status).toBe('completed');
  });
});
