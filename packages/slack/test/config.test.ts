import { ConfigError } from '@epochcast/core';
import { afterEach, describe, expect, test } from 'vitest';
import { SlackCallback } from '../src/index.js';
import { TOKEN } from './helpers.js';

const VARS = ['SLACK_BOT_TOKEN', 'SLACK_CHANNEL', 'SLACK_WEBHOOK_URL', 'SLACK_API_URL'] as const;
const saved = Object.fromEntries(VARS.map((v) => [v, process.env[v]]));

afterEach(() => {
  for (const v of VARS) {
    if (saved[v] === undefined) delete process.env[v];
    else process.env[v] = saved[v];
  }
});

function clearEnv(): void {
  for (const v of VARS) delete process.env[v];
}

/** The ConfigError a construction throws, checked to carry no secret. */
function configError(make: () => unknown, ...secrets: string[]): string {
  let caught: unknown;
  try {
    make();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const message = (caught as Error).message;
  for (const secret of secrets) expect(message).not.toContain(secret);
  return message;
}

describe('SlackCallback configuration', () => {
  test('nothing set: says which variables to set', () => {
    clearEnv();
    expect(configError(() => new SlackCallback())).toMatch(/SLACK_BOT_TOKEN.*SLACK_CHANNEL.*SLACK_WEBHOOK_URL/);
  });

  test('bot mode from the environment, the API URL normalised', () => {
    clearEnv();
    Object.assign(process.env, { SLACK_BOT_TOKEN: TOKEN, SLACK_CHANNEL: '#training', SLACK_API_URL: 'http://127.0.0.1:9/api' });
    const slack = new SlackCallback();
    expect(slack.mode).toBe('bot');
    expect(slack.channel).toBe('#training');
    expect(slack.limits).toMatchObject({ images: true, minSendIntervalMs: 1050 });
    expect(slack.redact(`token ${TOKEN}`)).toBe('token ***');
  });

  test('webhook mode from the environment: no images, no edits, no epoch messages by default; the URL is secret', () => {
    clearEnv();
    const url = 'https://hooks.slack.com/services/T000/B000/abcdefSECRET123';
    process.env.SLACK_WEBHOOK_URL = url;
    const slack = new SlackCallback();
    expect(slack.mode).toBe('webhook');
    expect(slack.limits).toMatchObject({ images: false });
    expect(slack.wants('epoch')).toBe(false);
    expect(slack.wants('end')).toBe(true);
    expect(slack.redact(`posting to ${url} failed`)).not.toContain('abcdefSECRET123');
  });

  test('options win over the environment; a bot token wins over a webhook URL in the environment', () => {
    clearEnv();
    process.env.SLACK_WEBHOOK_URL = 'https://hooks.slack.com/services/T000/B000/xyz';
    process.env.SLACK_BOT_TOKEN = TOKEN;
    process.env.SLACK_CHANNEL = 'C0123456789';
    expect(new SlackCallback().mode).toBe('bot');
    expect(new SlackCallback({ webhookUrl: 'https://hooks.slack.com/services/T1/B1/other' }).mode).toBe('webhook');
    expect(new SlackCallback({ channel: '#other' }).channel).toBe('#other');
  });

  test.each([
    ['a token that is no Slack token', { token: 'hunter2-secret', channel: '#training' }, /malformed.*xoxb-/, ['hunter2-secret']],
    ['a token with a space', { token: `${TOKEN} x`, channel: '#training' }, /malformed/, [TOKEN]],
    ['no channel', { token: TOKEN }, /no channel.*SLACK_CHANNEL/, [TOKEN]],
    ['a channel with spaces', { token: TOKEN, channel: 'my channel' }, /channel \(SLACK_CHANNEL\) must be/, [TOKEN]],
    ['a webhook URL that is no URL', { webhookUrl: 'hooks.slack.com/services/SECRETPART' }, /not a valid URL/, ['SECRETPART']],
    [
      'a webhook with a channel',
      { webhookUrl: 'https://hooks.slack.com/services/T/B/SECRETPART', channel: '#x' },
      /drop channel/,
      ['SECRETPART'],
    ],
    [
      'a webhook with epoch edits',
      { webhookUrl: 'https://hooks.slack.com/services/T/B/SECRETPART', epochs: 'update' as const },
      /cannot edit/,
      ['SECRETPART'],
    ],
    ['both modes', { token: TOKEN, webhookUrl: 'https://hooks.slack.com/services/T/B/SECRETPART' }, /not both/, [TOKEN, 'SECRETPART']],
    ['a bad API URL', { token: TOKEN, channel: '#training', slackApiUrl: 'ftp://example.com/api/' }, /http:\/\/ or https:\/\//, [TOKEN]],
    ['an unknown epochs mode', { token: TOKEN, channel: '#training', epochs: 'edit' as 'update' }, /'thread' or 'update'/, [TOKEN]],
  ])('a clear error at construction: %s', (_, options, pattern, secrets) => {
    clearEnv();
    expect(configError(() => new SlackCallback(options), ...secrets)).toMatch(pattern);
  });

  test('shared notifier options are still checked by the base', () => {
    clearEnv();
    expect(configError(() => new SlackCallback({ token: TOKEN, channel: '#t', every: 0 }))).toMatch(/every/);
  });
});
