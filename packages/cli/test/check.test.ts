// `epochcast test`: one test message through the real plugin, against the testkit's servers.
import { startNtfyServer, startSlackServer, startSmtpSink, startTelegramServer } from '@epochcast/testkit';
import { expect, test } from 'vitest';
import { cli } from './helpers.js';

test('test --telegram --slack --email: ✓ for each, and the message arrives', async () => {
  const [tg, slack, smtp] = await Promise.all([
    startTelegramServer(),
    startSlackServer({ token: 'xoxb-cli-test', channels: [{ id: 'C0TRAIN', name: 'training' }] }),
    startSmtpSink(),
  ]);
  try {
    const r = await cli(['test', '--telegram', '--slack', '--email'], {
      env: {
        TELEGRAM_BOT_TOKEN: tg.token,
        TELEGRAM_CHAT_ID: '42',
        TELEGRAM_API_ROOT: tg.url,
        SLACK_BOT_TOKEN: slack.token,
        SLACK_CHANNEL: '#training',
        SLACK_API_URL: slack.apiUrl,
        SMTP_URL: smtp.url,
        EMAIL_FROM: 'runs@example.test',
        EMAIL_TO: 'me@example.test',
      },
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      '✓ Telegram: test message delivered to chat 42\n' +
        '✓ Slack: test message delivered to channel #training\n' +
        '✓ e-mail: test message delivered to me@example.test\n',
    );
    expect(r.code).toBe(0);
    expect(tg.messages(42).map((m) => m.text)).toEqual([expect.stringMatching(/^✅ epochcast test completed/)]);
    expect(tg.received.some((c) => c.method === 'getMe')).toBe(true);
    expect(slack.messages('training').map((m) => m.text)).toEqual([expect.stringContaining('epochcast test completed')]);
    expect(smtp.received.map((m) => m.subject)).toEqual([expect.stringMatching(/^\[epochcast\] epochcast test completed/)]);
  } finally {
    await Promise.all([tg.close(), slack.close(), smtp.close()]);
  }
});

test('a wrong token, an unknown channel: ✗ with what is wrong, no secret printed, exit 1; a missing setting: exit 2', async () => {
  const [tg, slack] = await Promise.all([
    startTelegramServer({ token: '123456:right-token' }),
    startSlackServer({ token: 'xoxb-right', channels: ['#training'] }),
  ]);
  try {
    const wrongToken = await cli(['test', '--telegram'], {
      env: { TELEGRAM_BOT_TOKEN: '123456:WRONG-SECRET-token', TELEGRAM_CHAT_ID: '42', TELEGRAM_API_ROOT: tg.url },
    });
    expect(wrongToken.code).toBe(1);
    expect(wrongToken.stdout).toBe('');
    expect(wrongToken.stderr).toMatch(
      /^✗ Telegram: Telegram rejected the bot token \(401 Unauthorized\): check TELEGRAM_BOT_TOKEN; copy it again from @BotFather\.\n$/,
    );
    expect(wrongToken.stderr).not.toContain('WRONG-SECRET');

    const slackErrors = await Promise.all([
      cli(['test', '--slack'], { env: { SLACK_BOT_TOKEN: 'xoxb-WRONG-SECRET', SLACK_CHANNEL: '#training', SLACK_API_URL: slack.apiUrl } }),
      cli(['test', '--slack'], { env: { SLACK_BOT_TOKEN: 'xoxb-right', SLACK_CHANNEL: '#nowhere', SLACK_API_URL: slack.apiUrl } }),
    ]);
    expect(slackErrors[0].code).toBe(1);
    expect(slackErrors[0].stderr).toMatch(/^✗ Slack: .*invalid_auth/);
    expect(slackErrors[0].stderr).not.toContain('WRONG-SECRET');
    expect(slackErrors[1].code).toBe(1);
    expect(slackErrors[1].stderr).toMatch(
      /^✗ Slack: chat.postMessage: channel_not_found — Slack knows no channel "#nowhere" that this bot can see: check SLACK_CHANNEL.*\)\n$/,
    );

    // A setting missing is one to fix before anything is sent: exit 2, each line naming the variable.
    const missing = await cli(['test', '--email', '--telegram']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(
      '✗ Telegram: no bot token. Set TELEGRAM_BOT_TOKEN. Get one from @BotFather in Telegram (send it /newbot).\n' +
        '✗ e-mail: no SMTP server. Set SMTP_URL.\n',
    );
  } finally {
    await Promise.all([tg.close(), slack.close()]);
  }
});

test('test --ntfy: ✓ naming the topic and the server, the message on the topic; a wrong token: ✗ without it', async () => {
  const ntfy = await startNtfyServer({ token: 'tk_right0123456789' });
  try {
    const ok = await cli(['test', '--ntfy'], { env: { NTFY_URL: `${ntfy.url}/my-runs`, NTFY_TOKEN: 'tk_right0123456789' } });
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toBe(`✓ ntfy: test message delivered to topic my-runs on ${new URL(ntfy.url).host}\n`);
    expect(ok.code).toBe(0);
    expect(ntfy.messages('my-runs').map((m) => [m.title, m.priority, m.tags])).toEqual([
      ['epochcast test · completed', 3, ['white_check_mark']],
    ]);
    expect(ntfy.messages('my-runs')[0]?.message).toMatch(/^\*\*✅ epochcast test completed/);

    const wrong = await cli(['test', '--ntfy'], { env: { NTFY_URL: `${ntfy.url}/my-runs`, NTFY_TOKEN: 'tk_WRONGsecret42' } });
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toBe('');
    expect(wrong.stderr).toMatch(
      /^✗ ntfy: publish: HTTP 401 unauthorized \(ntfy code 40101\): ntfy refused the credentials; check NTFY_TOKEN/,
    );
    expect(wrong.stderr).not.toContain('WRONGsecret');

    const missing = await cli(['test', '--ntfy']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^✗ ntfy: no ntfy URL\. Set NTFY_URL: /);
  } finally {
    await ntfy.close();
  }
});
