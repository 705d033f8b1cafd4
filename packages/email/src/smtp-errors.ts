/**
 * nodemailer's errors, translated into what the Notifier base acts on. Messages are rebuilt from
 * the error's code, SMTP reply and the endpoint — never from the transport's options or URL.
 */
import {
  ConfigRejectedError,
  PermanentError,
  type ProxyChoice,
  ProxyRefusedError,
  ProxyUnreachableError,
  RateLimitError,
  TransientError,
} from '@epochcast/notify';
import type { SmtpEndpoint } from './config.js';

/** The fields nodemailer puts on its errors (SMTP reply, stage, Node's socket code). */
interface SmtpFailure {
  message: string;
  name?: string;
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  cause?: unknown;
}

function failure(error: unknown): SmtpFailure {
  if (error instanceof Error) return error as Error & SmtpFailure;
  return { message: String(error) };
}

/** Socket-level codes: the server could not be reached or went away. Worth another try. */
const NETWORK = new Set([
  'ECONNECTION',
  'ESOCKET',
  'ETIMEDOUT',
  'EDNS',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPROXY',
]);

/**
 * The server's own "try again in N seconds", as some servers (and the testkit's sink) put in a 4xx
 * reply. Only an explicit number is honoured; a bare "try again later" gets the base's backoff.
 */
const RETRY_HINT = /(?:try again|retry)(?: later)?(?: in| after)? (\d{1,5}) ?(s|secs?|seconds?|m|mins?|minutes?)\b/i;
const MAX_HINT_MS = 10 * 60_000;

/** "421 Too many messages…" — the server's reply line, or nodemailer's message when there is none. */
function reply(f: SmtpFailure): string {
  const text = (f.response ?? f.message).replace(/\s+/g, ' ').trim();
  return f.responseCode !== undefined && !text.startsWith(String(f.responseCode)) ? `${f.responseCode} ${text}` : text;
}

/** Why a socket failed, in words, from the innermost code nodemailer kept. */
function networkReason(f: SmtpFailure, endpoint: SmtpEndpoint | undefined, timeoutMs: number): string {
  const where = endpoint ? `${endpoint.host}:${endpoint.port}` : 'the SMTP server';
  const inner = socketCode(f);
  if (inner === 'ECONNREFUSED') return `connection to ${where} refused (ECONNREFUSED)`;
  if (inner === 'ENOTFOUND' || inner === 'EAI_AGAIN' || f.code === 'EDNS')
    return `SMTP host ${endpoint ? `"${endpoint.host}" ` : ''}not found (${inner ?? f.code})`;
  if (inner === 'ECONNRESET') return `connection to ${where} reset (ECONNRESET)`;
  if (f.code === 'ETIMEDOUT' || inner === 'ETIMEDOUT')
    return `no answer from ${where} within ${timeoutMs} ms (${f.message.replace(/\s+/g, ' ')})`;
  return `${where}: ${f.message.replace(/\s+/g, ' ')} (${f.code ?? inner})`;
}

/** The Node socket code under nodemailer's wrapper (`ESOCKET` → `read ECONNRESET`). */
function socketCode(f: SmtpFailure): string | undefined {
  const fromMessage = /\b(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE)\b/.exec(f.message)?.[1];
  const cause = f.cause instanceof Error ? (f.cause as Error & { code?: string }).code : undefined;
  return fromMessage ?? cause ?? (f.code && NETWORK.has(f.code) && f.code.startsWith('E') ? f.code : undefined);
}

/**
 * An SMTP 5xx reply refuses the credentials (53x), the sender, a recipient or the message
 * (55x): retrying cannot help. A 500–504 at the end of DATA is different: the only thing sent
 * then is the terminating ".", so it cannot be our syntax — it is the server failing mid-way
 * (some relays and proxies answer 500/502/503 while restarting), and a fresh connection may pass.
 */
function permanentReply(f: SmtpFailure & { responseCode: number }): boolean {
  if (f.responseCode < 500) return false;
  const atDataEnd = f.command === 'DATA' || f.command === '.' || f.command === undefined;
  return !(atDataEnd && f.responseCode <= 504 && f.code !== 'EENVELOPE' && f.code !== 'EAUTH');
}

/** Maps a failed `sendMail` to RateLimitError / TransientError / PermanentError. */
export function sendError(error: unknown, endpoint: SmtpEndpoint | undefined, timeoutMs: number): Error {
  const f = failure(error);
  if (f.name === 'AbortError' || f.code === 'EABORT' || f.code === 'ABORT_ERR') return new TransientError('sending aborted');
  if (f.responseCode !== undefined && Number.isInteger(f.responseCode)) {
    const text = reply(f);
    const code = f.responseCode;
    if (code >= 400 && code < 500) {
      const hint = RETRY_HINT.exec(text);
      if (hint?.[1] && hint[2]) {
        const ms = Number(hint[1]) * (hint[2].toLowerCase().startsWith('m') ? 60_000 : 1000);
        if (ms <= MAX_HINT_MS) return new RateLimitError(ms, `SMTP ${text}`);
      }
      return new TransientError(`SMTP ${text}`, code);
    }
    if (code >= 500 && code < 600) {
      const response = { ...f, responseCode: code };
      return permanentReply(response)
        ? new PermanentError(`SMTP ${text}${f.command ? ` (after ${f.command.split(' ')[0]})` : ''}`, code)
        : new TransientError(`SMTP ${text}`, code);
    }
  }
  if (f.code && NETWORK.has(f.code)) return new TransientError(networkReason(f, endpoint, timeoutMs), undefined, { cause: error });
  if (socketCode(f)) return new TransientError(networkReason(f, endpoint, timeoutMs), undefined, { cause: error });
  // Our own message could not be built or was refused before any server saw it: sending it again changes nothing.
  if (f.code === 'EMESSAGE' || f.code === 'ECONFIG' || f.code === 'EENVELOPE' || f.code === 'EMAXRECIPIENTS')
    return new PermanentError(`${f.message} (${f.code})`);
  return new TransientError(f.code ? `${f.message} (${f.code})` : f.message);
}

/**
 * A failed `transporter.verify()` at the start of training, as the Notifier base's verify policy
 * takes it: the server refused the login, wants one, or speaks another TLS mode → ConfigRejectedError
 * (the run fails before its first epoch); the server could not be reached or did not answer →
 * TransientError (one warning; training goes on and each mail is retried).
 */
export function verifyFailure(error: unknown, endpoint: SmtpEndpoint | undefined, timeoutMs: number): Error {
  const f = failure(error);
  const where = endpoint ? `${endpoint.host}:${endpoint.port}` : 'the SMTP server';
  if (f.name === 'AbortError' || f.code === 'EABORT') return new TransientError(`no answer from ${where} within ${timeoutMs} ms`);
  if (f.code === 'EAUTH' || f.responseCode === 535 || f.responseCode === 534 || f.responseCode === 530)
    return new ConfigRejectedError(
      `${where} refused the login${endpoint?.user ? ` as "${endpoint.user}"` : ''}: ${reply(f)}. Check the user name and password in SMTP_URL (or the transport's auth).`,
    );
  if (f.code === 'ENOAUTH')
    return new ConfigRejectedError(
      `${where} wants a login but no credentials were given: put user:password in SMTP_URL (or auth in the transport).`,
    );
  if (f.code === 'ETLS' || /SSL|TLS|certificate|wrong version number/i.test(f.message))
    return new ConfigRejectedError(
      `TLS with ${where} failed: ${f.message.replace(/\s+/g, ' ')}. Port 465 wants smtps://, ports 25 and 587 want smtp:// (STARTTLS).`,
    );
  if (f.responseCode !== undefined) {
    const refusal = `${where} refused the connection: ${reply(f)}`;
    return f.responseCode >= 500 ? new ConfigRejectedError(refusal, f.responseCode) : new TransientError(refusal, f.responseCode);
  }
  const code = socketCode(f);
  if (code === 'ECONNREFUSED')
    return new TransientError(
      `cannot connect to ${where}: connection refused (ECONNREFUSED). Is the SMTP server running, and is the port right?`,
    );
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || f.code === 'EDNS')
    return new TransientError(
      `cannot connect to the SMTP server: host ${endpoint ? `"${endpoint.host}" ` : ''}not found (${code ?? f.code}). Check the host in SMTP_URL.`,
    );
  if (f.code === 'ETIMEDOUT' || code === 'ETIMEDOUT')
    return new TransientError(`no answer from ${where} within ${timeoutMs} ms (${f.message.replace(/\s+/g, ' ')})`);
  return new TransientError(`${where}: ${f.message.replace(/\s+/g, ' ')}${f.code ? ` (${f.code})` : ''}`);
}

const PROXY_CONNECT_FAILURES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * The proxy's part in a failure, when the mail went through one: nodemailer's CONNECT answer other
 * than 2xx (`Invalid response from proxy: 407`), or a socket that never reached the proxy (with a
 * proxy, nothing else is connected to). A 5xx answer is the SMTP server unreachable beyond it: not
 * the proxy's failure.
 */
export function proxyError(error: unknown, proxy: ProxyChoice | undefined, endpoint: SmtpEndpoint | undefined): Error | undefined {
  if (!proxy) return undefined;
  const f = failure(error);
  const where = endpoint ? `${endpoint.host}:${endpoint.port}` : 'the SMTP server';
  const status = /Invalid response from proxy: (\d{3})/.exec(f.message)?.[1];
  if (status !== undefined) return Number(status) < 500 ? new ProxyRefusedError(proxy, Number(status), where) : undefined;
  const code = socketCode(f);
  return code !== undefined && PROXY_CONNECT_FAILURES.has(code) ? new ProxyUnreachableError(proxy, code, where) : undefined;
}
