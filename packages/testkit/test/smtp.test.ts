import { createTransport } from 'nodemailer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type SmtpSink, startSmtpSink } from '../src/index.js';

const AUTH = { user: 'trainer', pass: 's3cret-pass' };
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

let sink: SmtpSink;

beforeEach(async () => {
  sink = await startSmtpSink({ auth: AUTH });
});

afterEach(async () => {
  await sink.close();
});

function transport(auth = AUTH) {
  return createTransport({
    host: sink.host,
    port: sink.port,
    secure: false,
    auth,
    connectionTimeout: 2_000,
    greetingTimeout: 2_000,
    socketTimeout: 2_000,
  });
}

async function rejection(promise: Promise<unknown>): Promise<Error & { responseCode?: number; code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { responseCode?: number };
  }
  throw new Error('expected a rejection');
}

describe('SMTP sink', () => {
  it('receives a message with an inline cid image and an attachment', async () => {
    await transport().sendMail({
      from: 'epochcast <runs@example.test>',
      to: ['me@example.test', 'team@example.test'],
      bcc: 'archive@example.test',
      subject: 'mnist: finished',
      text: 'accuracy 0.98',
      html: '<p>accuracy <b>0.98</b></p><img src="cid:loss-plot">',
      attachments: [
        { filename: 'loss.png', content: PNG, cid: 'loss-plot', contentType: 'image/png' },
        { filename: 'history.csv', content: 'epoch,loss\n0,1.2\n', contentType: 'text/csv' },
      ],
    });
    const mail = await sink.waitFor((m) => m.subject === 'mnist: finished');
    expect(mail).toMatchObject({
      from: 'runs@example.test',
      to: ['me@example.test', 'team@example.test'],
      text: 'accuracy 0.98',
      user: 'trainer',
      status: 250,
      envelope: { mailFrom: 'runs@example.test', rcptTo: ['me@example.test', 'team@example.test', 'archive@example.test'] },
    });
    // cid: links stay as sent (mailparser would turn them into data: URLs).
    expect(mail.html).toContain('src="cid:loss-plot"');
    const inline = mail.attachments.find((a) => a.cid === 'loss-plot');
    expect(inline).toMatchObject({ filename: 'loss.png', contentType: 'image/png', contentDisposition: 'inline' });
    expect(inline?.content.equals(PNG)).toBe(true);
    const csv = mail.attachments.find((a) => a.filename === 'history.csv');
    expect(csv?.content.toString()).toBe('epoch,loss\n0,1.2\n');
    expect(mail.headers.subject).toBe('mnist: finished');
    expect(mail.raw).not.toContain(AUTH.pass);
  });

  it('rejects wrong credentials with 535', async () => {
    const error = await rejection(transport({ user: 'trainer', pass: 'wrong' }).sendMail({ from: 'a@x.test', to: 'b@x.test', text: 'x' }));
    expect(error.responseCode).toBe(535);
    expect(sink.received).toHaveLength(0);
  });

  it('needs no AUTH when started without auth, and exposes an smtp:// URL', async () => {
    const open = await startSmtpSink();
    try {
      expect(open.url).toBe(`smtp://127.0.0.1:${open.port}`);
      await createTransport(open.url).sendMail({ from: 'a@x.test', to: 'b@x.test', subject: 'hi', text: 'x' });
      expect((await open.waitFor()).user).toBeNull();
    } finally {
      await open.close();
    }
    expect(sink.url).toBe(`smtp://trainer:s3cret-pass@127.0.0.1:${sink.port}`);
  });
});

describe('SMTP faults', () => {
  const mail = { from: 'a@x.test', to: 'b@x.test', subject: 'retry me', text: 'x' };

  it('fails the next messages with 421 and 451, then accepts', async () => {
    sink.faults.rateLimit(1, 30).serverError(1);
    const client = transport();
    expect((await rejection(client.sendMail(mail))).responseCode).toBe(421);
    expect((await rejection(client.sendMail(mail))).responseCode).toBe(451);
    await client.sendMail(mail);
    expect(sink.received.map((m) => m.status)).toEqual([421, 451, 250]);
  });

  it('fails the next AUTH on an unauthorized fault', async () => {
    sink.faults.unauthorized(1);
    expect((await rejection(transport().sendMail(mail))).responseCode).toBe(535);
    await transport().sendMail(mail);
  });

  it('drops the connection on reset and stalls on hang', async () => {
    sink.faults.reset(1).hang(1);
    const dropped = await rejection(transport().sendMail(mail));
    // nodemailer wraps the socket error: code ESOCKET, message 'read ECONNRESET'.
    expect([dropped.code, dropped.message]).toEqual(['ESOCKET', expect.stringContaining('ECONNRESET')]);
    const started = Date.now();
    const hung = await rejection(
      createTransport({ host: sink.host, port: sink.port, secure: false, auth: AUTH, socketTimeout: 300 }).sendMail(mail),
    );
    expect(hung.code).toBe('ETIMEDOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('delays answers with latency', async () => {
    sink.faults.latency(200);
    const started = Date.now();
    await transport().sendMail(mail);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });
});
