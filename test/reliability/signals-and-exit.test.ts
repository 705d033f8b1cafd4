/**
 * Issue 8, signals and idle process, in real child processes with Telegram, Slack and e-mail at
 * once (configured from the environment), against testkit servers running in THIS process.
 *
 * - SIGINT / SIGTERM mid-epoch: each of the three delivers its interrupt message, then the child
 *   dies of the signal (a shell shows 130 / 143), with no hang. The single-notifier version with a
 *   webhook is packages/core/test/notifiers/signals.test.ts.
 * - Idle: after `fit` returns the process exits by itself (no open handles) while the servers —
 *   and Telegram's pending long poll — stay up. Telegram alone: packages/telegram/test/lifecycle.test.ts.
 */
import {
  type SlackServer,
  type SmtpSink,
  startSlackServer,
  startSmtpSink,
  startTelegramServer,
  type TelegramServer,
} from '@epochcast/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { runFixture } from './child.js';
import { leakedSecrets } from './helpers.js';

const TG_TOKEN = '909090:signals-SECRET-token';
const CHAT = 5150;
const SLACK_TOKEN = 'xoxb-signals-SECRET-77';
const SMTP_PASSWORD = 'signals-SECRET-pw';

let telegram: TelegramServer;
let slack: SlackServer;
let smtp: SmtpSink;

beforeAll(async () => {
  [telegram, slack, smtp] = await Promise.all([
    startTelegramServer({ token: TG_TOKEN }),
    startSlackServer({ token: SLACK_TOKEN }),
    startSmtpSink(),
  ]);
});
afterAll(async () => {
  await Promise.all([telegram.close(), slack.close(), smtp.close()]);
});
beforeEach(() => {
  telegram.clearReceived();
  slack.clearReceived();
  smtp.clearReceived();
});

function env(mode: 'idle' | 'forever'): Record<string, string> {
  return {
    MODE: mode,
    TELEGRAM_BOT_TOKEN: TG_TOKEN,
    TELEGRAM_CHAT_ID: String(CHAT),
    TELEGRAM_API_ROOT: telegram.url,
    SLACK_BOT_TOKEN: SLACK_TOKEN,
    SLACK_CHANNEL: '#training',
    SLACK_API_URL: slack.apiUrl,
    SMTP_URL: `smtp://trainer:${SMTP_PASSWORD}@${smtp.host}:${smtp.port}`,
    EMAIL_FROM: 'runs@example.test',
    EMAIL_TO: 'me@example.test',
  };
}

const telegramTexts = () =>
  telegram.received.filter((c) => c.method === 'sendMessage' && c.status === 200).map((c) => String(c.params.text));
const slackTexts = () =>
  slack.received.filter((c) => c.method === 'chat.postMessage' && c.status === 200 && !c.error).map((c) => String(c.params.text));
const mails = () => smtp.received.filter((m) => m.status === 250);
const secrets = [TG_TOKEN, TG_TOKEN.split(':')[1] ?? '', SLACK_TOKEN, SMTP_PASSWORD];

describe('SIGINT and SIGTERM mid-epoch, three notifiers', () => {
  test.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    '%s: Telegram, Slack and e-mail each deliver the interrupt; the process dies of the signal (exit %i) within 10 s',
    async (signal, _shellCode) => {
      const child = runFixture('three-notifiers-run.mjs', env('forever'));
      await child.printed('training\n');
      const sentAt = performance.now();
      child.process.kill(signal);
      const exit = await child.exited;

      // Killed by the signal itself, re-raised after the interrupt was sent (a shell reports 128 + n).
      expect({ code: exit.code, signal: exit.signal }, exit.stderr).toEqual({ code: null, signal });
      expect(exit.at - sentAt).toBeLessThan(10_000);
      expect(exit.stdout).not.toContain('done');

      const tg = telegramTexts();
      expect(
        tg.some((t) => /interrupted/.test(t) && t.includes(`interrupted by ${signal}`)),
        tg.join('\n---\n'),
      ).toBe(true);
      const sl = slackTexts();
      expect(
        sl.some((t) => /interrupted/.test(t)),
        sl.join('\n---\n'),
      ).toBe(true);
      const m = mails();
      expect(m).toHaveLength(1);
      expect(m[0]?.subject).toMatch(/interrupted/);
      expect(leakedSecrets([...tg, ...sl, ...m.map((x) => x.raw), exit.stderr].join('\n'), secrets)).toEqual([]);
    },
  );
});

describe('an idle process after fit', () => {
  test('with all three plugins (Telegram commands on), the process exits by itself within 2 s of fit returning', async () => {
    const child = runFixture('three-notifiers-run.mjs', env('idle'));
    const doneAt = await child.printed('done');
    const exit = await child.exited;
    expect(exit.code, exit.stderr).toBe(0);
    expect(exit.at - doneAt).toBeLessThan(2000);
    // Everything was delivered before fit returned: start and end for chat, the end for e-mail.
    expect(exit.stdout).toContain('done [["start","end"],["start","end"],["end"]]');
    // Telegram's getUpdates long poll was running (its server is still up, the poll still pending):
    // it did not hold the process.
    expect(telegram.received.some((c) => c.method === 'getUpdates')).toBe(true);
    // No warning from any notifier (tfjs's own banner aside).
    expect(exit.stderr).not.toMatch(/epochcast/);
  });
});
