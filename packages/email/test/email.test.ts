import { createServer, type Socket } from 'node:net';
import { Callback, type TrainingState } from '@epochcast/core';
import type { Notification } from '@epochcast/notify';
import { type ReceivedMail, type SmtpSink, startSmtpSink } from '@epochcast/testkit';
import * as tf from '@tensorflow/tfjs';
import { createTransport } from 'nodemailer';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EmailCallback, type EmailCallbackOptions } from '../src/index.js';
import { CrashAt, EpochCounter, PNG_MAGIC, SlowEpochs, toyLearner, warnings } from './helpers.js';

const AUTH = { user: 'trainer', pass: 'pa55-w0rd!secret' };
const FROM = 'epochcast <runs@example.test>';
const TO = ['me@example.test', 'Team <team@example.test>'];
const ENV = ['SMTP_URL', 'EMAIL_FROM', 'EMAIL_TO'] as const;

let sink: SmtpSink | undefined;
let made: EmailCallback[] = [];

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterEach(async () => {
  for (const e of made) e.close();
  made = [];
  for (const name of ENV) delete process.env[name];
  await sink?.close();
  sink = undefined;
});

async function startSink(auth = true): Promise<SmtpSink> {
  sink = await startSmtpSink(auth ? { auth: AUTH } : {});
  return sink;
}

function emailTo(s: SmtpSink, options: EmailCallbackOptions = {}): EmailCallback {
  const email = new EmailCallback({ smtpUrl: s.url, from: FROM, to: TO, runName: 'toy-mlp', ...options });
  made.push(email);
  return email;
}

function escapeHtmlLike(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function csvOf(mail: ReceivedMail): string[] {
  const csv = mail.attachments.find((a) => a.contentType === 'text/csv');
  expect(csv, 'a CSV attachment').toBeDefined();
  return (csv?.content.toString('utf8') ?? '').trimEnd().split('\n');
}

/** Everything a mail carries that a reader could see: headers, both bodies, attachment text. */
function everything(mail: ReceivedMail): string {
  return [mail.raw, mail.html ?? '', mail.text ?? '', ...mail.attachments.map((a) => a.content.toString('utf8'))].join('\n');
}

describe('end summary', () => {
  it('a completed run: subject, HTML with table, best row and cid plot, text part, CSV, several recipients', async () => {
    const s = await startSink();
    const w = warnings();
    await toyLearner([emailTo(s, { logger: w.logger })]).fitOneCycle(5, { lrMax: 0.3 });
    expect(s.received).toHaveLength(1);
    const mail = await s.waitFor();
    expect(mail.status).toBe(250);
    expect(mail.subject).toMatch(/^\[epochcast\] toy-mlp completed · accuracy \d+\.\d\d% · 5 epochs in [\dhms. ]+$/);
    expect(mail.from).toBe('runs@example.test');
    expect(mail.to).toEqual(['me@example.test', 'team@example.test']);
    expect(mail.envelope.rcptTo).toEqual(['me@example.test', 'team@example.test']);
    expect(mail.user).toBe(AUTH.user);
    expect(mail.headers['x-epochcast-event']).toBe('end');

    const html = mail.html ?? '';
    expect(html).toContain('<table class="epochs"');
    expect(html.match(/<tr class="best"/g)).toHaveLength(1);
    for (const label of ['host', 'duration', 'schedule', 'backend']) expect(html).toContain(`>${label}</th>`);
    // The inline image and the attachment agree on the Content-ID.
    const cid = /<img src="cid:([^"]+)"/.exec(html)?.[1];
    expect(cid).toBe('loss-plot');
    const image = mail.attachments.find((a) => a.cid === cid);
    expect(image).toMatchObject({ contentType: 'image/png', contentDisposition: 'inline', filename: 'loss.png' });
    expect(image?.content.subarray(0, 8).equals(PNG_MAGIC)).toBe(true);

    expect(mail.text).toContain('toy-mlp completed 5 epochs');
    expect(mail.text).toMatch(/^epoch\s+train_loss\s+valid_loss\s+accuracy\s+time$/m);

    const rows = csvOf(mail);
    expect(rows[0]).toBe('epoch,train_loss,valid_loss,accuracy,time');
    expect(rows.slice(1).map((r) => r.split(',')[0])).toEqual(['0', '1', '2', '3', '4']);
    expect(mail.attachments.find((a) => a.contentType === 'text/csv')?.filename).toBe('toy-mlp-history.csv');
    expect(w.lines).toEqual([]);
    expect(everything(mail)).not.toContain(AUTH.pass);
  });

  it('a failed run: subject says failed, the escaped error and stack, the finished epochs and their CSV', async () => {
    const s = await startSink();
    const learn = toyLearner([emailTo(s), new CrashAt(1, 'shapes <b>[3]</b> & "[4]" differ')]);
    await expect(learn.fit(5)).rejects.toThrow('differ');
    const mail = await s.waitFor();
    expect(mail.subject).toMatch(/^\[epochcast\] toy-mlp failed after 2\/5 epochs · CallbackError: .*shapes <b>\[3\]<\/b>/);
    expect(mail.headers['x-epochcast-event']).toBe('error');
    const html = mail.html ?? '';
    expect(html).toContain('shapes &lt;b&gt;[3]&lt;/b&gt; &amp; &quot;[4]&quot; differ');
    expect(html).not.toContain('<b>[3]</b>');
    expect(html).toMatch(/<pre [^>]*>CallbackError: [^<]*\n\s+at /);
    expect(html.match(/<tr[ >]/g)?.length).toBeGreaterThanOrEqual(3); // header + the 2 finished epochs
    expect(mail.text).toContain('shapes <b>[3]</b>');
    expect(csvOf(mail)).toHaveLength(1 + 2);
    // An error mail carries no plot (only the end summary does).
    expect(mail.attachments.some((a) => a.cid !== null)).toBe(false);
  });

  it('escapes everything user-supplied: run names, metric names, error messages', async () => {
    const s = await startSink();
    const email = emailTo(s, { runName: '<script>alert("run")</script>', on: ['error'] });
    const evil = '<img src=x onerror=alert(1)>';
    const n: Notification = {
      event: 'error',
      run: {
        name: '<script>alert("run")</script>',
        id: 'abcd1234',
        host: 'gpu<1>',
        rank: 0,
        startedAt: Date.now() - 5000,
        totalEpochs: 3,
        schedule: 'constant lr=0.01',
      },
      stats: { epoch: 0, totalEpochs: 3, trainLoss: 0.5, validLoss: 0.6, metrics: { [evil]: 0.9 }, lr: 0.01, timeMs: 1000 },
      history: [
        { epoch: 0, totalEpochs: 3, trainLoss: 0.5, validLoss: 0.6, metrics: { [evil]: 0.9 }, lr: 0.01, timeMs: 1000 },
        { epoch: 1, totalEpochs: 3, trainLoss: 0.4, validLoss: 0.5, metrics: { [evil]: 0.95 }, lr: 0.01, timeMs: 1000 },
      ],
      metricNames: [evil],
      durationMs: 5000,
      status: 'failed',
      error: { name: 'Error', message: `bad ${evil}`, stack: `Error: bad ${evil}\n    at <anonymous> (file.js:1:1)` },
    };
    const report = await email.notify(n);
    expect(report.delivered).toEqual(['error']);
    const html = (await s.waitFor()).html ?? '';
    expect(html).not.toMatch(/<script|<img src=x/i);
    expect(html).toContain('&lt;script&gt;alert(&quot;run&quot;)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('gpu&lt;1&gt;');
    expect(html).toContain('at &lt;anonymous&gt;');
    // The CSV keeps the metric name as data, quoted where CSV needs it.
    expect(csvOf(s.received[0] as ReceivedMail)[0]).toBe(`epoch,train_loss,valid_loss,${evil},time`);
  });

  it('epoch mails are off by default; with on: epoch and every: 2 a digest arrives every 2 epochs', async () => {
    const s = await startSink();
    await toyLearner([emailTo(s)]).fit(4);
    expect(s.received.map((m) => m.headers['x-epochcast-event'])).toEqual(['end']);
    s.clearReceived();
    // Slow epochs, as real ones are: each digest leaves before the next is due. (Epoch mails still
    // queued when the run ends are superseded by the end summary, which carries the whole table.)
    const digest = emailTo(s, { on: ['epoch', 'end'], every: 2 });
    await toyLearner([digest, new SlowEpochs(250)]).fit(5);
    const mails = await s.waitForCount(undefined, 3);
    expect(mails.map((m) => m.headers['x-epochcast-event'])).toEqual(['epoch', 'epoch', 'end']);
    expect(mails[0]?.subject).toMatch(/^\[epochcast\] toy-mlp epoch 2\/5 · valid_loss [\d.]+ · accuracy [\d.]+%$/);
    expect(mails[1]?.subject).toMatch(/epoch 4\/5/);
    expect(csvOf(mails[0] as ReceivedMail)).toHaveLength(1 + 2);
    expect(csvOf(mails[1] as ReceivedMail)).toHaveLength(1 + 4);
    expect(csvOf(mails[2] as ReceivedMail)).toHaveLength(1 + 5);
  });
});

describe('alerts', () => {
  it("on by default: the subject starts [alert] with the headline, the body has the whole text and the run's details, no table", async () => {
    const s = await startSink();
    const email = emailTo(s);
    const long = `valid_loss diverged <b>&</b>:\n${'it went from 0.18 to 0.74 in one epoch. '.repeat(8)}`;
    class AlertAtEpoch1 extends Callback {
      override order = 150;
      override onEpochEnd(state: TrainingState) {
        if (state.epoch === 1) email.alert(long, { level: 'critical' });
      }
    }
    await toyLearner([email, new AlertAtEpoch1()]).fit(3);
    email.alert('the nightly export is late', { level: 'info' });
    await email.flush(5000);
    const mails = await s.waitForCount(undefined, 3);
    expect(mails.map((m) => m.headers['x-epochcast-event'])).toEqual(['alert', 'end', 'alert']);
    const [alert, , outside] = mails;
    expect(alert?.subject).toMatch(/^\[alert\] \[epochcast\] 🚨 toy-mlp · valid_loss diverged <b>&<\/b>: it went from 0\.18 .*…$/);
    expect(alert?.subject.length).toBeLessThanOrEqual(200);
    // The whole text, escaped, lines kept; the details with the epochs so far; no epoch table.
    expect(alert?.html).toContain(escapeHtmlLike(long.trim()));
    expect(alert?.html).toMatch(/<th[^>]*>epochs<\/th><td[^>]*>2\/3<\/td>/);
    expect(alert?.html).not.toContain('class="epochs"');
    expect(alert?.text).toContain(long.trim());
    expect(alert?.text).toMatch(/^epochs: +2\/3$/m);
    expect(outside?.subject).toBe('[alert] [epochcast] ℹ️ toy-mlp · the nightly export is late');
    expect(outside?.text).not.toMatch(/^epochs:/m);
  });
});

describe('configuration', () => {
  it('reads SMTP_URL, EMAIL_FROM and EMAIL_TO (several recipients, comma-separated)', async () => {
    const s = await startSink();
    process.env.SMTP_URL = s.url;
    process.env.EMAIL_FROM = 'runs@example.test';
    process.env.EMAIL_TO = 'a@example.test, "B, the reviewer" <b@example.test>,c@example.test';
    const email = new EmailCallback({ runName: 'env-run' });
    made.push(email);
    expect(email.to).toEqual(['a@example.test', '"B, the reviewer" <b@example.test>', 'c@example.test']);
    expect(email.endpoint).toEqual({ host: '127.0.0.1', port: s.port, secure: false, user: AUTH.user });
    await toyLearner([email]).fit(1);
    const mail = await s.waitFor();
    expect(mail.envelope.rcptTo).toEqual(['a@example.test', 'b@example.test', 'c@example.test']);
    expect(mail.headers.to).toContain('"B, the reviewer" <b@example.test>');
  });

  it('takes a nodemailer transport object, or a transporter, instead of a URL', async () => {
    const s = await startSink();
    const options = { host: s.host, port: s.port, secure: false, auth: AUTH };
    const fromOptions = new EmailCallback({ transport: options, from: FROM, to: 'me@example.test' });
    const transporter = createTransport(options);
    const fromTransporter = new EmailCallback({ transport: transporter, from: FROM, to: 'me@example.test' });
    made.push(fromOptions, fromTransporter);
    expect(fromOptions.endpoint).toEqual({ host: s.host, port: s.port, secure: false, user: AUTH.user });
    expect(fromOptions.redact(`x ${AUTH.pass} y`)).toBe('x *** y');
    expect(fromTransporter.redact(`x ${AUTH.pass} y`)).toBe('x *** y');
    await toyLearner([fromOptions, fromTransporter]).fit(1);
    expect(await s.waitForCount(undefined, 2)).toHaveLength(2);
    transporter.close();
  });

  const bad: [string, () => EmailCallback, RegExp][] = [
    ['no SMTP server', () => new EmailCallback({ from: FROM, to: TO }), /no SMTP server.*SMTP_URL/],
    [
      'a malformed URL',
      () => new EmailCallback({ smtpUrl: `smtp://trainer:${AUTH.pass}@exa mple.com:25`, from: FROM, to: TO }),
      /smtpUrl is not a valid URL \(a string of \d+ characters\)/,
    ],
    [
      'another scheme',
      () => new EmailCallback({ smtpUrl: `https://trainer:${AUTH.pass}@example.com`, from: FROM, to: TO }),
      /must start with smtp:\/\/ or smtps:\/\/; received a URL starting with "https:"/,
    ],
    [
      'no from',
      () => new EmailCallback({ smtpUrl: `smtp://trainer:${AUTH.pass}@example.com`, to: TO }),
      /from must be an e-mail address .*EMAIL_FROM/,
    ],
    [
      'a bad from',
      () => new EmailCallback({ smtpUrl: `smtp://trainer:${AUTH.pass}@example.com`, from: 'runs.example.test', to: TO }),
      /from has an invalid e-mail address "runs.example.test"/,
    ],
    [
      'two senders',
      () => new EmailCallback({ smtpUrl: `smtp://trainer:${AUTH.pass}@example.com`, from: 'a@x.test, b@x.test', to: TO }),
      /from must be one address; received 2/,
    ],
    [
      'a bad recipient among good ones',
      () =>
        new EmailCallback({ smtpUrl: `smtp://trainer:${AUTH.pass}@example.com`, from: FROM, to: ['me@example.test', 'you at example'] }),
      /to has an invalid e-mail address/,
    ],
    [
      'an empty recipient list',
      () => new EmailCallback({ smtpUrl: `smtp://trainer:${AUTH.pass}@example.com`, from: FROM, to: [] }),
      /to must be an e-mail address or a list/,
    ],
    [
      'URL and transport both',
      () => new EmailCallback({ smtpUrl: `smtp://trainer:${AUTH.pass}@example.com`, transport: { host: 'x' }, from: FROM, to: TO }),
      /either smtpUrl or transport/,
    ],
  ];
  it.each(bad)('%s is a clear error at construction that never shows the password', (_, make, message) => {
    let error: unknown;
    try {
      made.push(make());
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('ConfigError');
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain(AUTH.pass);
    expect((error as Error).message).not.toContain(encodeURIComponent(AUTH.pass));
  });
});

describe('verify at train begin', () => {
  async function failedStart(options: EmailCallbackOptions): Promise<{ error: Error; epochs: number; took: number }> {
    const counter = new EpochCounter();
    const email = new EmailCallback({ from: FROM, to: TO, ...options });
    made.push(email);
    const started = performance.now();
    const error = await toyLearner([email, counter])
      .fit(3)
      .then(
        () => new Error('fit resolved'),
        (e: unknown) => e as Error,
      );
    return { error, epochs: counter.begun, took: performance.now() - started };
  }

  /** A run whose check cannot reach the server: the warning it gave, and whether (and how soon) it trained. */
  async function uncheckedStart(
    options: EmailCallbackOptions,
  ): Promise<{ warning: string; lines: string[]; status: string; epochs: number; firstEpochAfter: number }> {
    const counter = new EpochCounter();
    const w = warnings();
    // No retries: the end mail fails fast too (it has nowhere to go), and only the check is timed.
    const email = new EmailCallback({ from: FROM, to: TO, retries: 0, logger: w.logger, ...options });
    made.push(email);
    let firstEpochAt = Number.NaN;
    class FirstEpoch extends EpochCounter {
      override onEpochBegin(): void {
        if (Number.isNaN(firstEpochAt)) firstEpochAt = performance.now();
      }
    }
    const started = performance.now();
    const learn = toyLearner([email, counter, new FirstEpoch()]);
    await learn.fit(3);
    return {
      warning: w.lines[0] ?? '',
      lines: w.lines,
      status: learn.state.status,
      epochs: counter.begun,
      firstEpochAfter: firstEpochAt - started,
    };
  }

  it('bad credentials: a clear error before the first epoch, password never shown', async () => {
    const s = await startSink();
    const { error, epochs } = await failedStart({ smtpUrl: s.url.replace(encodeURIComponent(AUTH.pass), 'wrong-Passw0rd') });
    expect(epochs).toBe(0);
    expect(error.message).toMatch(/email: 127\.0\.0\.1:\d+ refused the login as "trainer": 535 .*Check the user name and password/);
    expect(error.message).not.toMatch(/wrong-Passw0rd|pa55/);
    expect(s.received).toHaveLength(0);
  });

  // Unreachable is not wrong: one warning before the first epoch says why, and training goes on.
  it('a refused connection: a warning with host and port before the first epoch; training goes on', async () => {
    const port = await closedPort();
    const run = await uncheckedStart({ smtpUrl: `smtp://trainer:${encodeURIComponent(AUTH.pass)}@127.0.0.1:${port}` });
    expect(run.status).toBe('completed');
    expect(run.epochs).toBe(3);
    expect(run.warning).toMatch(/^epochcast email: could not check the SMTP server \(/);
    expect(run.warning).toContain(`cannot connect to 127.0.0.1:${port}: connection refused (ECONNREFUSED)`);
    expect(run.warning).toMatch(/; training goes on$/);
    expect(run.lines.join('\n')).not.toContain(AUTH.pass);
    expect(run.firstEpochAfter).toBeLessThan(2000);
  });

  it('an unknown host: a warning that the host was not found; training goes on', async () => {
    const run = await uncheckedStart({ smtpUrl: `smtps://trainer:${encodeURIComponent(AUTH.pass)}@smtp.nonexistent.invalid` });
    expect(run.status).toBe('completed');
    expect(run.epochs).toBe(3);
    expect(run.warning).toMatch(/host "smtp\.nonexistent\.invalid" not found \((ENOTFOUND|EAI_AGAIN|EDNS)\)/);
    expect(run.lines.join('\n')).not.toContain(AUTH.pass);
  });

  it('a server that never greets: the check is bounded by timeoutMs, then a warning; training goes on', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const run = await uncheckedStart({ smtpUrl: `smtp://127.0.0.1:${port}`, timeoutMs: 400 });
      expect(run.status).toBe('completed');
      expect(run.epochs).toBe(3);
      expect(run.warning).toMatch(/could not check the SMTP server \(no answer from 127\.0\.0\.1:\d+ within 400 ms/);
      expect(run.firstEpochAfter).toBeLessThan(2000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('verify: false skips the check', async () => {
    const port = await closedPort();
    const w = warnings();
    const learn = toyLearner([
      new EmailCallback({ smtpUrl: `smtp://127.0.0.1:${port}`, from: FROM, to: TO, verify: false, retries: 0, logger: w.logger }),
    ]);
    await learn.fit(1);
    expect(learn.state.status).toBe('completed');
    expect(w.lines).toEqual([
      expect.stringMatching(/could not deliver the end message: connection to 127\.0\.0\.1:\d+ refused \(ECONNREFUSED\)/),
    ]);
  });
});

describe('SMTP failures at send time', () => {
  it('4xx (451) and a dropped connection are retried until the mail gets through', async () => {
    const s = await startSink();
    const w = warnings();
    s.faults.serverError(1, 451).reset(1);
    const email = emailTo(s, { logger: w.logger });
    await toyLearner([email]).fit(1);
    expect(s.received.map((m) => m.status)).toEqual([451, null, 250]);
    expect(email.report.delivered).toEqual(['end']);
    expect(w.lines).toEqual([]);
  });

  it('421 "try again in N seconds" is waited out as a rate limit', async () => {
    const s = await startSink();
    s.faults.rateLimit(1, 1);
    const email = emailTo(s);
    const started = performance.now();
    await toyLearner([email]).fit(1);
    expect(s.received.map((m) => m.status)).toEqual([421, 250]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
  });

  it('a 550 refusal is permanent: one attempt, one warning that names it, training unharmed', async () => {
    const s = await startSink();
    const w = warnings();
    s.faults.serverError(3, 550);
    const learn = toyLearner([emailTo(s, { logger: w.logger, retries: 3 })]);
    await learn.fit(1);
    expect(learn.state.status).toBe('completed');
    expect(s.received.map((m) => m.status)).toEqual([550]);
    expect(w.lines).toEqual([expect.stringMatching(/could not deliver the end message: refused: SMTP 550 .*\(not retried\)/)]);
  });

  it('a server that hangs after DATA: the attempt times out, the retry gets through', async () => {
    const s = await startSink();
    const w = warnings();
    s.faults.hang(1);
    const email = emailTo(s, { logger: w.logger, timeoutMs: 500 });
    const started = performance.now();
    await toyLearner([email]).fit(1);
    expect(s.received.map((m) => m.status)).toEqual([null, 250]);
    expect(email.report.delivered).toEqual(['end']);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(w.lines).toEqual([]);
  });

  it('out of retries: the last reason is logged once, without the password', async () => {
    const s = await startSink();
    const w = warnings();
    s.faults.serverError(5, 451);
    await toyLearner([emailTo(s, { logger: w.logger, retries: 1 })]).fit(1);
    expect(s.received).toHaveLength(2);
    expect(w.lines).toEqual([expect.stringMatching(/could not deliver the end message: SMTP 451 Requested action aborted/)]);
    expect(w.lines.join('\n')).not.toContain(AUTH.pass);
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
