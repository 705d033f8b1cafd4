/**
 * Reading and checking the e-mail settings. Every message here is built from the parts that are
 * safe to show (scheme, host, port, user, addresses) — never from the raw `SMTP_URL`, which
 * carries the password.
 */
import { ConfigError, describeValue } from '@epochcast/core';
import addressparser from 'nodemailer/lib/addressparser';

/** Where the mail goes, as parsed from `smtp://` / `smtps://` URLs; safe to print. */
export interface SmtpEndpoint {
  host: string;
  port: number;
  /** TLS from the first byte (`smtps://`, port 465) rather than STARTTLS. */
  secure: boolean;
  user: string | undefined;
}

export interface ParsedSmtpUrl extends SmtpEndpoint {
  /** Decoded password, when the URL has one. */
  password: string | undefined;
}

const WHERE = 'EmailCallback';

/** Parses `smtp[s]://[user[:pass]@]host[:port]`; a clear ConfigError that never quotes the URL otherwise. */
export function parseSmtpUrl(raw: unknown, source: string): ParsedSmtpUrl {
  if (typeof raw !== 'string' || raw.trim() === '')
    throw new ConfigError(
      `${WHERE}: ${source} must be a non-empty string such as "smtp://user:pass@smtp.example.com:587"; received ${describeValue(raw)}.`,
    );
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    // The string may well hold a password: say what is wrong with it, not what it is.
    throw new ConfigError(
      `${WHERE}: ${source} is not a valid URL (a string of ${raw.length} characters). Expected "smtp://user:pass@host:port" or "smtps://user:pass@host:port"; percent-encode special characters in the password (encodeURIComponent).`,
    );
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:')
    throw new ConfigError(
      `${WHERE}: ${source} must start with smtp:// or smtps://; received a URL starting with ${describeValue(url.protocol)}.`,
    );
  if (url.hostname === '') throw new ConfigError(`${WHERE}: ${source} has no host; expected "${url.protocol}//user:pass@host:port".`);
  const secure = url.protocol === 'smtps:';
  const user = url.username === '' ? undefined : safeDecode(url.username, source, 'user name');
  const password = url.password === '' ? undefined : safeDecode(url.password, source, 'password');
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? (secure ? 465 : 587) : Number(url.port),
    secure,
    user,
    password,
  };
}

function safeDecode(value: string, source: string, what: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new ConfigError(`${WHERE}: the ${what} in ${source} has a malformed percent-encoding; encode it with encodeURIComponent.`);
  }
}

// Loose on purpose: the SMTP server is the judge of deliverability; this catches typos such as a
// missing @, a stray space or a list pasted into `from`.
const ADDRESS = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.?[^\s@<>(),;:"]*$/;

/**
 * Parses `from` / `to` values: one string with addresses separated by commas (as `EMAIL_TO`
 * holds them), or a list of such strings. Display names are kept: `"Team <team@example.com>"`.
 */
export function parseAddresses(raw: unknown, name: string, source: string): string[] {
  const items = Array.isArray(raw) ? raw : [raw];
  if (raw === undefined || raw === null || items.length === 0 || !items.every((i) => typeof i === 'string'))
    throw new ConfigError(
      `${WHERE}: ${name} must be an e-mail address or a list of them (option ${name} or ${source}); received ${describeValue(raw)}.`,
    );
  const out: string[] = [];
  for (const item of items as string[]) {
    for (const entry of addressparser(item, { flatten: true })) {
      const address = entry.address.trim();
      if (!ADDRESS.test(address))
        throw new ConfigError(
          `${WHERE}: ${name} has an invalid e-mail address ${describeValue(address || item.trim())}; expected e.g. "me@example.com" or "Me <me@example.com>", several separated by commas.`,
        );
      out.push(entry.name ? `${quoteName(entry.name)} <${address}>` : address);
    }
  }
  if (out.length === 0)
    throw new ConfigError(`${WHERE}: ${name} holds no e-mail address (option ${name} or ${source}); expected e.g. "me@example.com".`);
  return out;
}

function quoteName(name: string): string {
  return /^[\w .-]*$/.test(name) ? name : `"${name.replace(/["\\]/g, '\\$&')}"`;
}
