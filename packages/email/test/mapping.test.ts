import { historyCsv } from '@epochcast/core';
import { PermanentError, RateLimitError, TransientError } from '@epochcast/notify';
import { describe, expect, it } from 'vitest';
import { parseSmtpUrl } from '../src/config.js';
import { sendError } from '../src/smtp-errors.js';

const endpoint = { host: 'smtp.example.test', port: 587, secure: false, user: 'me' };
const smtp = (responseCode: number, command: string, response: string, code = 'EMESSAGE') =>
  Object.assign(new Error(`Message failed: ${response}`), { code, responseCode, command, response });

describe('SMTP errors → what the Notifier base does', () => {
  const table: [string, unknown, unknown][] = [
    ['421 with a wait', smtp(421, 'DATA', '421 Too many messages, try again in 30 seconds'), RateLimitError],
    ['421 without a wait', smtp(421, 'DATA', '421 Service not available'), TransientError],
    ['450 mailbox busy', smtp(450, 'RCPT TO', '450 Mailbox busy', 'EENVELOPE'), TransientError],
    ['500 at the end of DATA', smtp(500, 'DATA', '500 Internal error'), TransientError],
    ['501 to MAIL FROM', smtp(501, 'MAIL FROM', '501 Bad sender address syntax', 'EENVELOPE'), PermanentError],
    ['550 unknown recipient', smtp(550, 'RCPT TO', '550 No such user', 'EENVELOPE'), PermanentError],
    ['554 content refused', smtp(554, 'DATA', '554 Message rejected as spam'), PermanentError],
    ['535 bad login', smtp(535, 'AUTH PLAIN', '535 Authentication credentials invalid', 'EAUTH'), PermanentError],
    ['socket reset', Object.assign(new Error('read ECONNRESET'), { code: 'ESOCKET' }), TransientError],
    ['connection timeout', Object.assign(new Error('Connection timeout'), { code: 'ETIMEDOUT' }), TransientError],
    ['a message nodemailer cannot build', Object.assign(new Error('bad attachment'), { code: 'EMESSAGE' }), PermanentError],
  ];
  it.each(table)('%s', (_, error, kind) => {
    expect(sendError(error, endpoint, 10_000)).toBeInstanceOf(kind as typeof Error);
  });

  it('takes the wait from the reply and names the endpoint for network errors', () => {
    expect((sendError(smtp(421, 'DATA', '421 try again in 2 minutes'), endpoint, 1000) as RateLimitError).retryAfterMs).toBe(120_000);
    expect(sendError(Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:587'), { code: 'ESOCKET' }), endpoint, 1000).message).toBe(
      'connection to smtp.example.test:587 refused (ECONNREFUSED)',
    );
  });
});

describe('configuration parsing', () => {
  it('reads smtp:// and smtps:// URLs, decoding the credentials', () => {
    expect(parseSmtpUrl('smtps://me%40example.com:p%3As%2Fs@mail.example.com', 'SMTP_URL')).toEqual({
      host: 'mail.example.com',
      port: 465,
      secure: true,
      user: 'me@example.com',
      password: 'p:s/s',
    });
    expect(parseSmtpUrl('smtp://mail.example.com:2525', 'SMTP_URL')).toMatchObject({ port: 2525, secure: false, user: undefined });
  });

  it('writes the history CSV in CSVLogger’s format, quoting where CSV needs it', () => {
    const stats = { epoch: 0, totalEpochs: 1, trainLoss: 0.5, validLoss: Number.NaN, metrics: { 'acc,top1': 0.25 }, lr: 0.1, timeMs: 1234 };
    expect(historyCsv([stats], ['acc,top1'])).toBe('epoch,train_loss,valid_loss,"acc,top1",time\n0,0.5,NaN,0.25,1.234\n');
  });
});
