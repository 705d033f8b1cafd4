/**
 * Options, else environment variables, checked once at construction: a missing or malformed
 * setting is a ConfigError before training starts. Error messages never quote a token or a
 * webhook URL (both are credentials), only what is wrong with them.
 */
import { ConfigError } from '@epochcast/core';

/** How epoch messages appear in bot mode. */
export type SlackEpochMode = 'thread' | 'update';

export interface SlackSettings {
  mode: 'bot' | 'webhook';
  token?: string;
  channel?: string;
  webhookUrl?: URL;
  apiUrl: string;
  epochs: SlackEpochMode;
  minSendIntervalMs: number;
}

export interface SlackSettingsInput {
  token?: string | undefined;
  channel?: string | undefined;
  webhookUrl?: string | undefined;
  slackApiUrl?: string | undefined;
  epochs?: SlackEpochMode | undefined;
  minSendIntervalMs?: number | undefined;
}

const WHERE = 'SlackCallback';
const DEFAULT_API_URL = 'https://slack.com/api/';
/**
 * Slack's documented pace for chat.postMessage is about one message a second per channel; the
 * 50 ms margin covers requests that leave 1 s apart but arrive a few ms closer.
 */
export const SLACK_SEND_INTERVAL_MS = 1050;

/** A channel ID (C…, G…, D…, or a user ID for a DM), or a channel name with or without `#`. */
const CHANNEL_ID = /^[CGDUW][A-Z0-9]{2,}$/;
const CHANNEL_NAME = /^#?[^\s#,<>@]{1,80}$/;

function env(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  if (value === null || value === undefined) return String(value);
  return typeof value;
}

export function resolveSettings(input: SlackSettingsInput): SlackSettings {
  if (input.token !== undefined && input.webhookUrl !== undefined)
    throw new ConfigError(`${WHERE}: pass either token (and channel) for a bot, or webhookUrl for an incoming webhook, not both.`);
  // Options decide the mode when they name one; the environment only fills in what they leave out.
  const explicitHook = input.webhookUrl !== undefined;
  const explicitBot = !explicitHook && (input.token !== undefined || input.channel !== undefined);
  const token = explicitHook ? undefined : (input.token ?? env('SLACK_BOT_TOKEN'));
  const webhook = explicitBot ? undefined : (input.webhookUrl ?? (token === undefined ? env('SLACK_WEBHOOK_URL') : undefined));
  const epochs = input.epochs ?? 'thread';
  if (epochs !== 'thread' && epochs !== 'update')
    throw new ConfigError(`${WHERE}: epochs must be 'thread' or 'update'; received ${JSON.stringify(epochs)}.`);
  const minSendIntervalMs = input.minSendIntervalMs ?? SLACK_SEND_INTERVAL_MS;
  if (typeof minSendIntervalMs !== 'number' || !Number.isFinite(minSendIntervalMs) || minSendIntervalMs < 0)
    throw new ConfigError(`${WHERE}: minSendIntervalMs must be a finite number >= 0; received ${String(minSendIntervalMs)}.`);

  if (webhook !== undefined) {
    if (input.channel !== undefined || input.epochs === 'update')
      throw new ConfigError(
        `${WHERE}: an incoming webhook posts to the channel it was created for and cannot edit messages: drop ${input.channel !== undefined ? 'channel' : "epochs: 'update'"}, or use a bot token (SLACK_BOT_TOKEN + SLACK_CHANNEL).`,
      );
    return { mode: 'webhook', webhookUrl: webhookUrl(webhook), apiUrl: DEFAULT_API_URL, epochs, minSendIntervalMs };
  }
  if (token === undefined)
    throw new ConfigError(
      `${WHERE}: no Slack credentials. Set SLACK_BOT_TOKEN (xoxb-…) and SLACK_CHANNEL, or SLACK_WEBHOOK_URL; or pass { token, channel } or { webhookUrl }.`,
    );
  if (typeof token !== 'string' || !/^xox[a-z.-]/.test(token) || /\s/.test(token))
    throw new ConfigError(
      `${WHERE}: the bot token (token / SLACK_BOT_TOKEN) is malformed: expected a Slack token starting with "xoxb-" and no spaces; received ${describe(token)}.`,
    );
  const channel = input.channel ?? env('SLACK_CHANNEL');
  if (channel === undefined)
    throw new ConfigError(`${WHERE}: no channel. Set SLACK_CHANNEL or pass { channel }: a channel ID such as C0123456789, or #name.`);
  if (typeof channel !== 'string' || !(CHANNEL_ID.test(channel) || CHANNEL_NAME.test(channel)))
    throw new ConfigError(
      `${WHERE}: channel (SLACK_CHANNEL) must be a channel ID such as C0123456789 or a name such as #training, without spaces; received ${typeof channel === 'string' ? JSON.stringify(channel.slice(0, 90)) : describe(channel)}.`,
    );
  return { mode: 'bot', token, channel, apiUrl: apiUrl(input.slackApiUrl ?? env('SLACK_API_URL')), epochs, minSendIntervalMs };
}

function webhookUrl(raw: unknown): URL {
  let url: URL;
  try {
    url = new URL(String(raw));
  } catch {
    throw new ConfigError(
      `${WHERE}: the webhook URL (webhookUrl / SLACK_WEBHOOK_URL) is not a valid URL; received ${describe(raw)}. It looks like https://hooks.slack.com/services/T…/B…/….`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ConfigError(`${WHERE}: the webhook URL must be https://; received a ${url.protocol} URL.`);
  return url;
}

function apiUrl(raw: string | undefined): string {
  if (raw === undefined) return DEFAULT_API_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${WHERE}: slackApiUrl (SLACK_API_URL) is not a valid URL; received ${JSON.stringify(raw.slice(0, 90))}.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ConfigError(`${WHERE}: slackApiUrl (SLACK_API_URL) must be http:// or https://; received ${JSON.stringify(url.protocol)}.`);
  // WebClient appends the method name to this string: without the slash, `/apichat.postMessage`.
  return url.href.endsWith('/') ? url.href : `${url.href}/`;
}
