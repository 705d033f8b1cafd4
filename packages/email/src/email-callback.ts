import { ConfigError, describeValue, historyCsv } from '@epochcast/core';
import {
  type Notification,
  Notifier,
  type NotifierLimits,
  type NotifierOptions,
  type NotifyEvent,
  type ProxyChoice,
  proxyRoute,
  type SendContext,
  type VerifyContext,
} from '@epochcast/notify';
import { createTransport, type Mail } from 'nodemailer';
import type { SMTPPoolOptions } from 'nodemailer/lib/smtp-pool';
import type { SMTPTransportOptions } from 'nodemailer/lib/smtp-transport';
import { parseAddresses, parseSmtpUrl, type SmtpEndpoint } from './config.js';
import { LOSS_PLOT_CID, renderEmail } from './render.js';
import { proxyError, sendError, verifyFailure } from './smtp-errors.js';

/** Options of {@link EmailCallback}: where to send (`smtpUrl` or `transport`), from whom, to whom. */
export interface EmailCallbackOptions extends NotifierOptions {
  /**
   * `smtp://user:pass@host:port` (STARTTLS when the server offers it; port 587 by default) or
   * `smtps://user:pass@host:port` (TLS from the start; port 465 by default). Percent-encode special
   * characters of the password. Default `SMTP_URL`. The password never appears in any log,
   * error or message.
   */
  smtpUrl?: string;
  /**
   * Instead of `smtpUrl`: nodemailer SMTP transport options (`{ host, port, secure, auth, … }`,
   * `pool: true` for a pool), or a transporter made with nodemailer's `createTransport` (any
   * transport — SES, sendmail — used as is, and not closed by this callback).
   */
  transport?: SMTPTransportOptions | SMTPPoolOptions | Mail;
  /** The sender, `"epochcast <runs@example.com>"` or a bare address. Default `EMAIL_FROM`. */
  from?: string;
  /** One or more recipients: a list, or one string separated by commas. Default `EMAIL_TO`. */
  to?: string | readonly string[];
  /** Starts every subject. Default `[epochcast]`. */
  subjectPrefix?: string;
  /**
   * Check the server and the login (`transporter.verify()`) when training begins, so a wrong host
   * or password fails the run before its first epoch instead of at its end. Default true.
   */
  verify?: boolean;
}

/** E-mail sends end, error, interrupt and alerts; epoch mails (a digest every `every` epochs) only when asked. */
const EMAIL_DEFAULT_EVENTS: readonly NotifyEvent[] = ['end', 'error', 'interrupt', 'alert'];

/**
 * Sends run summaries by e-mail through nodemailer: a subject with the outcome and the best
 * metric, an HTML body with inline CSS (epoch table with the best row highlighted, run details,
 * the loss plot inline by `cid:`, the escaped stack trace of a failure), a plain-text
 * alternative, and the epoch history as a CSV attachment.
 *
 * ```ts
 * new EmailCallback({ smtpUrl: 'smtps://me:app-password@smtp.example.com', from: 'runs@example.com', to: ['me@example.com'] })
 * ```
 *
 * Events default to `end`, `error`, `interrupt` and `alert` (`callback.alert(text, { level })`: a
 * mail whose subject starts `[alert]`); add `'epoch'` to `on` for progress mails, and `every: N`
 * to make each one a digest of N epochs (each carries the whole table so far).
 */
export class EmailCallback extends Notifier {
  readonly service = 'email';
  // Mail has no practical length limit and shows images inline.
  readonly limits: NotifierLimits = { maxTextLength: 1_000_000, images: true };
  protected override defaultEvents = EMAIL_DEFAULT_EVENTS;
  protected override verifies = 'the SMTP server';

  /** The sender, as given (display name kept). */
  readonly from: string;
  /** Every recipient, as given. */
  readonly to: readonly string[];
  /** Host, port, TLS mode and user of the SMTP server, when known: safe to print. */
  readonly endpoint: SmtpEndpoint | undefined;
  /** Holds the login: a private field, out of reach of anything that prints the callback. */
  readonly #transporter: Mail;
  private readonly ownsTransporter: boolean;
  private readonly subjectPrefix: string | undefined;
  private readonly verifyOnStart: boolean;
  /** The proxy the SMTP connection tunnels through (CONNECT), when one applies. */
  private readonly proxy: ProxyChoice | undefined;

  constructor(options: EmailCallbackOptions = {}) {
    super(options);
    const o = options;
    const env = process.env;
    // A transport given in code wins over SMTP_URL from the environment; both given in code is a mistake.
    if (o.smtpUrl !== undefined && o.transport !== undefined)
      throw new ConfigError('EmailCallback: pass either smtpUrl or transport, not both.');
    const timeouts = timeoutDefaults(this.options.timeoutMs);
    if (o.transport !== undefined) {
      if (o.transport === null || typeof o.transport !== 'object')
        throw new ConfigError(
          `EmailCallback: transport must be nodemailer transport options or a transporter; received ${describeValue(o.transport)}.`,
        );
      if (isTransporter(o.transport)) {
        this.#transporter = o.transport;
        this.ownsTransporter = false;
        this.endpoint = endpointOf(transportOptions(o.transport));
        this.registerSecret(...secretsOf(transportOptions(o.transport)));
      } else {
        const smtp = o.transport as SMTPTransportOptions;
        if (typeof smtp.url === 'string') {
          const parsed = parseSmtpUrl(smtp.url, 'transport.url');
          this.registerSecret(smtp.url, parsed.password);
        }
        this.registerSecret(...secretsOf(smtp));
        // A proxy in the transport options is the caller's; else the `proxy` option or ALL_PROXY.
        if (typeof smtp.proxy === 'string') this.registerSecret(smtp.proxy);
        const endpoint = endpointOf(smtp);
        this.proxy = smtp.proxy === undefined && endpoint ? smtpProxy(o.proxy, endpoint) : undefined;
        const proxy = this.proxy ? { proxy: this.proxy.url.href } : {};
        this.#transporter = createTransport({ ...timeouts, ...proxy, ...smtp } as SMTPTransportOptions);
        this.ownsTransporter = true;
        this.endpoint = endpointOf(transportOptions(this.#transporter));
      }
    } else {
      const source = o.smtpUrl !== undefined ? 'smtpUrl' : 'SMTP_URL';
      const raw = o.smtpUrl ?? env.SMTP_URL;
      if (raw === undefined || raw === '')
        throw new ConfigError(
          'EmailCallback: no SMTP server. Pass { smtpUrl: "smtps://user:pass@smtp.example.com" } (or { transport }) or set SMTP_URL.',
        );
      // The whole URL and its password (the registry derives it, encoded and decoded): none may reach
      // a log line. Registered before it is checked: a malformed URL may still hold a password.
      if (typeof raw === 'string') this.registerSecret(raw);
      const parsed = parseSmtpUrl(raw, source);
      this.registerSecret(parsed.password);
      const { password, ...endpoint } = parsed;
      this.endpoint = endpoint;
      this.proxy = smtpProxy(o.proxy, endpoint);
      this.#transporter = createTransport({
        ...timeouts,
        ...(this.proxy ? { proxy: this.proxy.url.href } : {}),
        host: parsed.host,
        port: parsed.port,
        secure: parsed.secure,
        ...(parsed.user !== undefined ? { auth: { user: parsed.user, pass: password ?? '' } } : {}),
      });
      this.ownsTransporter = true;
    }
    const from = parseAddresses(o.from ?? env.EMAIL_FROM, 'from', 'EMAIL_FROM');
    if (from.length > 1) throw new ConfigError(`EmailCallback: from must be one address; received ${from.length} (${from.join(', ')}).`);
    this.from = from[0] as string;
    this.to = parseAddresses(o.to ?? env.EMAIL_TO, 'to', 'EMAIL_TO');
    if (o.subjectPrefix !== undefined && typeof o.subjectPrefix !== 'string')
      throw new ConfigError(`EmailCallback: subjectPrefix must be a string; received ${describeValue(o.subjectPrefix)}.`);
    this.subjectPrefix = o.subjectPrefix;
    this.verifyOnStart = o.verify ?? true;
  }

  /** Checks host, port, TLS and login before the first epoch: a refused login fails the run, an unreachable server is a warning. */
  protected override async verify({ signal }: VerifyContext): Promise<void> {
    if (!this.verifyOnStart || typeof this.#transporter.transporter.verify !== 'function') return;
    try {
      // nodemailer's verify() takes no signal; its own timeouts (set from timeoutMs) end the socket.
      await untilAborted(this.#transporter.verify(), signal);
    } catch (error) {
      throw proxyError(error, this.proxy, this.endpoint) ?? verifyFailure(error, this.endpoint, this.options.timeoutMs);
    }
  }

  protected async send(n: Notification, { signal }: SendContext): Promise<void> {
    const email = renderEmail(n, this.subjectPrefix !== undefined ? { subjectPrefix: this.subjectPrefix } : {});
    const attachments: NonNullable<Parameters<Mail['sendMail']>[0]['attachments']> = [];
    if (n.plot)
      attachments.push({ filename: 'loss.png', content: Buffer.from(await n.plot.png()), cid: LOSS_PLOT_CID, contentType: 'image/png' });
    if (n.history.length > 0)
      attachments.push({
        filename: `${fileSlug(n.run.name)}-history.csv`,
        content: historyCsv(n.history, n.metricNames),
        contentType: 'text/csv',
      });
    try {
      await this.#transporter.sendMail({
        from: this.from,
        to: [...this.to],
        subject: email.subject,
        text: email.text,
        html: email.html,
        attachments,
        // Mail filters and threading: which run, which event.
        headers: { 'X-Epochcast-Run': `${n.run.id}`, 'X-Epochcast-Event': n.event },
        // nodemailer ends the SMTP connection when the base aborts the attempt (time bound, flush bound).
        signal,
      });
    } catch (error) {
      throw proxyError(error, this.proxy, this.endpoint) ?? sendError(error, this.endpoint, this.options.timeoutMs);
    }
  }

  /**
   * Closes the transporter this callback made: a pooled transport (`transport: { pool: true, … }`)
   * keeps idle connections open between runs until then. A plain SMTP transport holds nothing
   * between mails, and a transporter passed in is left to its owner.
   */
  override async close(): Promise<void> {
    if (this.ownsTransporter) this.#transporter.close();
  }
}

/**
 * nodemailer's defaults wait minutes (2 min to connect, 10 min of silence); here each is bounded by
 * the notifier's per-attempt `timeoutMs`, so a dead server shows up as a timely, retryable error.
 */
function timeoutDefaults(timeoutMs: number): SMTPTransportOptions {
  const ms = Math.max(1, Math.round(timeoutMs));
  return { connectionTimeout: ms, greetingTimeout: ms, socketTimeout: ms, dnsTimeout: ms, socketCloseTimeout: 1000 };
}

/**
 * The proxy for the SMTP server: the `proxy` option, else `ALL_PROXY` (curl's variable for SMTP;
 * HTTPS_PROXY is for https://) unless NO_PROXY names the host. nodemailer tunnels through it with
 * CONNECT; the proxy must allow CONNECT to the SMTP port (many allow only 443).
 */
function smtpProxy(proxy: NotifierOptions['proxy'], endpoint: SmtpEndpoint): ProxyChoice | undefined {
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return proxyRoute('EmailCallback', proxy, 'smtp').choose(new URL(`${endpoint.secure ? 'smtps' : 'smtp'}://${host}:${endpoint.port}`));
}

function isTransporter(value: object): value is Mail {
  return typeof (value as { sendMail?: unknown }).sendMail === 'function';
}

/** The transport's effective options (nodemailer's SMTP transports merge a `url` into them). */
function transportOptions(mail: Mail): SMTPTransportOptions | undefined {
  const inner = (mail.transporter as { options?: unknown }).options;
  const options = inner ?? mail.options;
  return options !== null && typeof options === 'object' ? (options as SMTPTransportOptions) : undefined;
}

function endpointOf(options: SMTPTransportOptions | undefined): SmtpEndpoint | undefined {
  if (!options || typeof options.host !== 'string') return undefined;
  const secure = options.secure === true;
  return {
    host: options.host,
    port: options.port !== undefined ? Number(options.port) : secure ? 465 : 587,
    secure,
    user: options.auth?.user,
  };
}

function secretsOf(options: SMTPTransportOptions | undefined): (string | undefined)[] {
  const auth = options?.auth;
  const key = auth?.privateKey;
  const privateKey =
    typeof key === 'string' ? key : Buffer.isBuffer(key) ? key.toString('utf8') : key && 'key' in key ? String(key.key) : undefined;
  return [auth?.pass, auth?.accessToken, auth?.refreshToken, auth?.clientSecret, privateKey];
}

/** A name for the CSV file: the run's name with anything a file system or mail client dislikes replaced. */
function fileSlug(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[^\w.-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 60);
  return slug || 'run';
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function abortError(): Error {
  const error = new Error('aborted');
  error.name = 'AbortError';
  return error;
}
