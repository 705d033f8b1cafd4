/**
 * The secret registry: one for the whole process. Every notifier registers its secrets (tokens,
 * passwords, webhook URLs, signing keys) when it is built, and every notifier redacts ALL of them
 * — whichever service they belong to — from what it sends, logs or throws. Per-notifier redaction
 * was not enough: a training error (or a wrapped command's output) quoting the Slack token went to
 * Telegram, e-mail and the webhook as it was.
 *
 * Secrets are only ever added, never removed, for the life of the process. A notifier that is gone
 * may have put its secret into a string (an error, a printed configuration) that another notifier
 * sends later, so forgetting it would be a leak; remembering it costs at most an extra `***`. That
 * is also why the registry does not leak between tests in a harmful way: a test can only see more
 * redaction than it asked for, never less (and vitest runs each test file in its own process).
 * Anything registered shorter than 4 characters is ignored: it would redact ordinary words.
 *
 * The registry lives on `globalThis` (under a `Symbol.for` key, not enumerable), so that two
 * copies of @epochcast/notify in one process — a CLI's and an application's — still share it.
 */
import { inspect } from 'node:util';
import { urlSecrets } from '@epochcast/coordination';
import type { EpochStats } from '@epochcast/core';
import type { Notification, NotificationError, RunInfo } from './notification.js';

/** Shorter values are ignored: `pass` would already turn "passed" into "***ed". */
const MIN_SECRET_LENGTH = 4;
const MASK = '***';

// A Telegram bot token `<bot id>:<secret>`: the part after the colon is the secret on its own.
const TELEGRAM_TOKEN = /^\d{1,20}:([A-Za-z0-9_-]+)$/;
// An Authorization header value: the credential after the scheme is the secret on its own.
const AUTH_SCHEME = /^(?:Bearer|Basic|Token|Bot)\s+(\S+)$/i;
// A Slack incoming webhook's path `/services/T…/B…/<secret>`: the path, and its last segment.
const SLACK_HOOK_PATH = /^\/services\/[^/]+\/[^/]+\/([^/]+)\/?$/;

/** Every form in which `value` (or its secret part) may turn up in a text. */
export function secretForms(value: string): string[] {
  const forms = new Set<string>();
  const add = (text: string | undefined): void => {
    const s = text?.trim();
    if (!s || s.length < MIN_SECRET_LENGTH) return;
    forms.add(s);
    // As a URL or a form would carry it, and as a JSON string would (a printed configuration).
    forms.add(encodeURIComponent(s));
    forms.add(new URLSearchParams({ s }).toString().slice(2));
    forms.add(JSON.stringify(s).slice(1, -1));
  };
  const trimmed = value.trim();
  add(trimmed);
  add(TELEGRAM_TOKEN.exec(trimmed)?.[1]);
  add(AUTH_SCHEME.exec(trimmed)?.[1]);
  for (const part of urlSecretParts(trimmed)) add(part);
  return [...forms];
}

/** The secret parts of a URL registered as a secret: the URL as normalised, its credentials, a Slack webhook's path. */
function urlSecretParts(text: string): string[] {
  const url = parseUrl(text);
  if (!url) return [];
  const parts = [url.href, ...credentialsOf(url)];
  const hook = SLACK_HOOK_PATH.exec(url.pathname);
  if (hook) parts.push(url.pathname, hook[1] as string);
  return parts;
}

function parseUrl(text: string): URL | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return undefined;
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** A URL's password and credential-like query values, by coordination's rule for Redis URLs (one rule for both). */
function credentialsOf(url: URL): string[] {
  return urlSecrets(url.href);
}

/**
 * The credentials of a URL that is not itself a secret (a Redis URL: its host may be shown, its
 * password never), to register instead of the URL.
 */
export function urlCredentials(text: string | undefined): string[] {
  const url = text === undefined ? undefined : parseUrl(text.trim());
  return url ? credentialsOf(url) : [];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The secrets themselves, behind a private field: printing the registry shows only how many. */
class SecretRegistry {
  readonly #forms = new Set<string>();
  /** One alternation of every form, longest first (a URL before the password inside it); rebuilt after an add. */
  #pattern: RegExp | undefined;

  add(values: readonly (string | null | undefined)[]): void {
    for (const value of values) {
      if (typeof value !== 'string') continue;
      for (const form of secretForms(value)) {
        if (this.#forms.has(form)) continue;
        this.#forms.add(form);
        this.#pattern = undefined;
      }
    }
  }

  redact(text: string): string {
    if (this.#forms.size === 0 || text.length < MIN_SECRET_LENGTH) return text;
    this.#pattern ??= new RegExp(
      [...this.#forms]
        .sort((a, b) => b.length - a.length)
        .map(escapeRegExp)
        .join('|'),
      'g',
    );
    return text.replace(this.#pattern, MASK);
  }

  [inspect.custom](): string {
    return `SecretRegistry { ${this.#forms.size} forms }`;
  }

  toJSON(): { forms: number } {
    return { forms: this.#forms.size };
  }
}

const KEY = Symbol.for('epochcast.secretRegistry');

function registry(): SecretRegistry {
  const holder = globalThis as { [KEY]?: SecretRegistry };
  const found = holder[KEY];
  if (found && typeof found.add === 'function' && typeof found.redact === 'function') return found;
  const created = new SecretRegistry();
  Object.defineProperty(globalThis, KEY, { value: created, enumerable: false, configurable: false, writable: false });
  return created;
}

/**
 * Declares values that must never appear in anything epochcast sends, logs or throws: every
 * notifier in the process redacts them, whatever service they belong to. Each is also recognised
 * trimmed, URL-encoded, JSON-escaped and by its secret part (a Telegram token's part after the
 * colon, a URL's password and credential-like query values, a Slack webhook's path, the credential
 * of an Authorization header). Values shorter than 4 characters and non-strings are ignored.
 * Notifier plugins call `this.registerSecret(…)` instead; this is for code that handles secrets
 * outside a notifier (a CLI, a wrapper).
 */
export function registerSecret(...values: (string | null | undefined)[]): void {
  registry().add(values);
}

/** `text` with every registered secret, of every service, replaced by `***`. */
export function redactSecrets(text: string): string {
  return registry().redact(text);
}

/**
 * The notification with every string that a user, a library or a wrapped command could have
 * filled redacted: the run's details (its name and command line among them), the stop reason,
 * the error, an alert's text, and metric names. Objects are copied only where something changed.
 */
export function redactNotification(n: Notification): Notification {
  const out: Notification = { ...n, run: redactRun(n.run), metricNames: n.metricNames.map(redactSecrets) };
  if (n.stopReason !== undefined) out.stopReason = redactSecrets(n.stopReason);
  if (n.error) out.error = redactError(n.error);
  if (n.alert) out.alert = { ...n.alert, text: redactSecrets(n.alert.text) };
  const renamed = renamedMetrics(n);
  if (renamed) {
    out.history = n.history.map((stats) => redactStats(stats, renamed));
    if (n.stats) out.stats = redactStats(n.stats, renamed);
  }
  return out;
}

function redactRun(run: RunInfo): RunInfo {
  const out: Record<string, unknown> = { ...run };
  for (const [key, value] of Object.entries(run)) if (typeof value === 'string') out[key] = redactSecrets(value);
  return out as unknown as RunInfo;
}

function redactError(error: NotificationError): NotificationError {
  return {
    name: redactSecrets(error.name),
    message: redactSecrets(error.message),
    ...(error.stack !== undefined ? { stack: redactSecrets(error.stack) } : {}),
  };
}

/** Metric names that redaction changes, old → new; undefined when none does (the usual case: no copy). */
function renamedMetrics(n: Notification): Map<string, string> | undefined {
  const names = new Set<string>();
  for (const stats of n.stats ? [...n.history, n.stats] : n.history) for (const name of Object.keys(stats.metrics)) names.add(name);
  const renamed = new Map<string, string>();
  for (const name of names) {
    const redacted = redactSecrets(name);
    if (redacted !== name) renamed.set(name, redacted);
  }
  return renamed.size > 0 ? renamed : undefined;
}

function redactStats(stats: EpochStats, renamed: ReadonlyMap<string, string>): EpochStats {
  const metrics: Record<string, number> = {};
  for (const [name, value] of Object.entries(stats.metrics)) metrics[renamed.get(name) ?? name] = value;
  return { ...stats, metrics };
}
