/**
 * Options, else environment variables, checked once at construction: a missing or malformed
 * setting is a ConfigError before training starts. Error messages never quote the token or a
 * password, only what is wrong with them.
 */
import { ConfigError, describeValue } from '@epochcast/core';

/** ntfy's priorities by name, as its `Priority` header accepts them. */
export const PRIORITY_NAMES = { min: 1, low: 2, default: 3, high: 4, urgent: 5, max: 5 } as const;

/** A priority as ntfy reads it: 1 (min) to 5 (max/urgent), or its name. */
export type NtfyPriority = 1 | 2 | 3 | 4 | 5 | keyof typeof PRIORITY_NAMES;

/** ntfy's own default for attachments (`attachment-file-size-limit`, 15M); a self-hosted server may set another. */
export const DEFAULT_MAX_ATTACHMENT_BYTES = 15 * 1024 * 1024;

export interface NtfySettingsInput {
  url?: string | undefined;
  token?: string | undefined;
  priority?: NtfyPriority | undefined;
  clickUrl?: string | undefined;
  markdown?: boolean | undefined;
  maxAttachmentBytes?: number | undefined;
}

export interface NtfySettings {
  /** The server's base URL, without credentials, ending in `/` (`https://ntfy.sh/`). */
  server: URL;
  topic: string;
  /** The `Authorization` header value, when there are credentials. */
  authorization: string | undefined;
  /** The secret parts of the credentials, to register. */
  secrets: string[];
  priority: 1 | 2 | 3 | 4 | 5;
  clickUrl: string | undefined;
  markdown: boolean;
  maxAttachmentBytes: number;
}

const WHERE = 'NtfyCallback';
/** ntfy's rule for topic names. */
const TOPIC = /^[-_A-Za-z0-9]{1,64}$/;
/** An ntfy access token: `tk_` and 29 letters and digits; any length accepted, no spaces. */
const ACCESS_TOKEN = /^tk_[A-Za-z0-9]+$/;

function env(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

function describeSecret(value: unknown): string {
  return typeof value === 'string' ? `a string of ${value.length} characters` : describeValue(value);
}

export function resolveSettings(input: NtfySettingsInput): NtfySettings {
  const raw = input.url ?? env('NTFY_URL');
  if (raw === undefined)
    throw new ConfigError(
      `${WHERE}: no ntfy URL. Set NTFY_URL or pass { url }: the server and the topic, e.g. https://ntfy.sh/my-runs-7f3k (pick a topic nobody can guess: on ntfy.sh anyone who knows it can read it).`,
    );
  const { server, topic, userinfo } = parseTopicUrl(raw);
  const token = input.token ?? env('NTFY_TOKEN');
  if (userinfo !== undefined && token !== undefined)
    throw new ConfigError(
      `${WHERE}: credentials twice: the URL carries user:password@ and a token (token / NTFY_TOKEN) is set too. Keep one: the token, or the URL's credentials.`,
    );
  const credentials = userinfo ?? (token === undefined ? undefined : checkToken(token));
  return {
    server,
    topic,
    authorization: credentials?.header,
    secrets: credentials?.secrets ?? [],
    priority: priorityOf(input.priority ?? 'default'),
    clickUrl: input.clickUrl === undefined ? undefined : checkClickUrl(input.clickUrl),
    markdown: checkMarkdown(input.markdown),
    maxAttachmentBytes: checkAttachmentLimit(input.maxAttachmentBytes),
  };
}

interface Credentials {
  header: string;
  secrets: string[];
}

/** `https://[user:pass@]host[/prefix]/<topic>` as the server's base URL, the topic and the credentials. */
function parseTopicUrl(raw: unknown): { server: URL; topic: string; userinfo: Credentials | undefined } {
  let url: URL;
  try {
    url = new URL(String(raw));
  } catch {
    throw new ConfigError(
      `${WHERE}: the ntfy URL (url / NTFY_URL) is not a valid URL; received ${describeSecret(raw)}. It looks like https://ntfy.sh/my-runs.`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ConfigError(`${WHERE}: the ntfy URL must be https:// (or http:// for a server of your own); received a ${url.protocol} URL.`);
  if (url.search !== '' || url.hash !== '')
    throw new ConfigError(
      `${WHERE}: the ntfy URL must be the server and the topic only, without ?… or #…; pass priority, clickUrl and token as options.`,
    );
  const userinfo = url.username !== '' || url.password !== '' ? basicFromUrl(url) : undefined;
  const segments = url.pathname.split('/').filter((s) => s !== '');
  const topic = segments.pop();
  if (topic === undefined)
    throw new ConfigError(
      `${WHERE}: the ntfy URL names no topic: add it to the path, e.g. ${url.origin}/my-runs (a topic is the last path segment).`,
    );
  if (!TOPIC.test(topic))
    throw new ConfigError(
      `${WHERE}: the topic ${describeValue(decodeURIComponentSafe(topic))} is not one ntfy accepts: 1 to 64 letters, digits, '-' or '_'.`,
    );
  const server = new URL(`${url.protocol}//${url.host}/${segments.map((s) => `${s}/`).join('')}`);
  return { server, topic, userinfo };
}

function basicFromUrl(url: URL): Credentials {
  const user = decodeURIComponentSafe(url.username);
  const password = decodeURIComponentSafe(url.password);
  if (user === '' || password === '')
    throw new ConfigError(`${WHERE}: the ntfy URL's credentials must be user:password@ (both); or pass a token (tk_…) instead.`);
  return basic(user, password, [url.href, url.password]);
}

function basic(user: string, password: string, extra: string[] = []): Credentials {
  const encoded = Buffer.from(`${user}:${password}`, 'utf8').toString('base64');
  return { header: `Basic ${encoded}`, secrets: [password, `${user}:${password}`, encoded, ...extra] };
}

/** `tk_…` (an access token, sent as Bearer) or `user:password` (basic auth). */
function checkToken(token: unknown): Credentials {
  if (typeof token !== 'string' || /\s/.test(token))
    throw new ConfigError(
      `${WHERE}: the token (token / NTFY_TOKEN) must be an access token tk_… or user:password, without spaces; received ${describeSecret(token)}.`,
    );
  if (ACCESS_TOKEN.test(token)) return { header: `Bearer ${token}`, secrets: [token] };
  const colon = token.indexOf(':');
  if (colon > 0 && colon < token.length - 1) return basic(token.slice(0, colon), token.slice(colon + 1), [token]);
  throw new ConfigError(
    `${WHERE}: the token (token / NTFY_TOKEN) is malformed: expected an access token starting with "tk_" (ntfy token add, or the web app's account page) or user:password; received ${describeSecret(token)}.`,
  );
}

/** A priority as its number. */
export function priorityOf(value: unknown): 1 | 2 | 3 | 4 | 5 {
  if (value === 1 || value === 2 || value === 3 || value === 4 || value === 5) return value;
  if (typeof value === 'string' && Object.hasOwn(PRIORITY_NAMES, value)) return PRIORITY_NAMES[value as keyof typeof PRIORITY_NAMES];
  throw new ConfigError(
    `${WHERE}: priority must be 1 to 5 or one of ${Object.keys(PRIORITY_NAMES).join(', ')}; received ${describeValue(value)}.`,
  );
}

function checkClickUrl(value: unknown): string {
  let url: URL | undefined;
  try {
    url = new URL(String(value));
  } catch {
    url = undefined;
  }
  if (typeof value !== 'string' || url === undefined)
    throw new ConfigError(`${WHERE}: clickUrl must be a URL, e.g. https://wandb.ai/me/project; received ${describeValue(value)}.`);
  // Other schemes (mailto:, geo:, a dashboard app's own) are what ntfy's Click is for, too; only no spaces.
  return url.href;
}

function checkMarkdown(value: unknown): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'boolean') throw new ConfigError(`${WHERE}: markdown must be true or false; received ${describeValue(value)}.`);
  return value;
}

function checkAttachmentLimit(value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_ATTACHMENT_BYTES;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
    throw new ConfigError(
      `${WHERE}: maxAttachmentBytes must be a whole number of bytes >= 0 (0: never attach the plot); received ${describeValue(value)}.`,
    );
  return value;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
