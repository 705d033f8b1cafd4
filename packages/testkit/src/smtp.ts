/** An SMTP sink on 127.0.0.1: `smtp-server` receives, `mailparser` parses, nothing is delivered. */

import type { AddressInfo, Socket } from 'node:net';
import { type AddressObject, simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { type Fault, type Faults, takeFault } from './faults.js';
import { type LocalServer, RecordingServer, type ServiceRecord } from './record-log.js';

export interface MailAttachment {
  filename: string | null;
  contentType: string;
  /** Content-ID without angle brackets, for inline images referenced as `cid:…`. */
  cid: string | null;
  contentDisposition: string;
  content: Buffer;
  size: number;
}

export interface ReceivedMail extends ServiceRecord {
  /** Address in the From header. */
  from: string;
  /** Addresses in the To header. */
  to: string[];
  cc: string[];
  subject: string;
  /** HTML body with `cid:` links kept as sent (mailparser would otherwise inline them as data: URLs). */
  html: string | null;
  text: string | null;
  attachments: MailAttachment[];
  messageId: string | null;
  /** Header lines by lowercased name; repeated headers joined with `, `. */
  headers: Record<string, string>;
  /** The SMTP envelope (MAIL FROM / RCPT TO), which may differ from the headers (Bcc). */
  envelope: { mailFrom: string; rcptTo: string[] };
  /** The authenticated user, if the client logged in. */
  user: string | null;
  /** The whole message as received, for checks such as "no secret anywhere in it". */
  raw: string;
  /** SMTP reply code given to the message (250 when accepted); `null` after a hang or reset. */
  status: number | null;
}

export interface SmtpSinkOptions {
  /** Require AUTH (PLAIN/LOGIN) with these credentials; wrong ones get 535. Default: no AUTH needed, any accepted. */
  auth?: { user: string; pass: string };
}

export interface SmtpSink extends LocalServer<ReceivedMail> {
  readonly host: string;
  readonly port: number;
  /** `smtp://[user:pass@]127.0.0.1:port`, as `SMTP_URL` expects. */
  readonly url: string;
  /** Every message that reached the end of DATA, faulted ones included (see `status`); each is the call `message`. */
  readonly received: readonly ReceivedMail[];
  /**
   * Faults apply per message at the end of DATA (`rateLimit` → 421, `serverError` → 451 by
   * default, `hang`, `reset`), except `unauthorized`, which fails the next AUTH with 535.
   */
  readonly faults: Faults;
}

class SmtpError extends Error {
  constructor(
    message: string,
    readonly responseCode: number,
  ) {
    super(message);
  }
}

function addresses(value: AddressObject | AddressObject[] | undefined): string[] {
  const list = value === undefined ? [] : Array.isArray(value) ? value : [value];
  return list.flatMap((group) => group.value.map((a) => a.address ?? '')).filter((a) => a !== '');
}

class SmtpSinkImpl extends RecordingServer<ReceivedMail> implements SmtpSink {
  readonly host = '127.0.0.1';
  port = 0;
  readonly #server: SMTPServer;
  readonly #auth: { user: string; pass: string } | undefined;
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #closing: Promise<void> | undefined;

  constructor(options: SmtpSinkOptions) {
    super((m) => `"${m.subject}"(${m.status ?? m.fault ?? 'pending'})`);
    this.#auth = options.auth;
    this.#server = new SMTPServer({
      // STARTTLS would present smtp-server's self-signed certificate, which nodemailer rejects.
      disabledCommands: ['STARTTLS'],
      authOptional: !this.#auth,
      allowInsecureAuth: true,
      authMethods: ['PLAIN', 'LOGIN'],
      logger: false,
      banner: 'epochcast testkit SMTP sink',
      onAuth: (auth, _session, callback) => {
        const fault = takeFault(this.faults, 'auth', (kind) => kind === 'unauthorized');
        const expected = this.#auth;
        if (fault || (expected && (auth.username !== expected.user || auth.password !== expected.pass))) {
          callback(new SmtpError('Authentication credentials invalid', 535));
          return;
        }
        callback(null, { user: auth.username ?? '' });
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          this.#onMessage(Buffer.concat(chunks), session, callback).catch((error: unknown) => {
            callback(new SmtpError(`testkit could not parse the message: ${error instanceof Error ? error.message : String(error)}`, 451));
          });
        });
      },
    });
    this.#server.server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  get url(): string {
    const auth = this.#auth ? `${encodeURIComponent(this.#auth.user)}:${encodeURIComponent(this.#auth.pass)}@` : '';
    return `smtp://${auth}${this.host}:${this.port}`;
  }
  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.server.once('error', reject);
      this.#server.listen(0, this.host, () => {
        this.#server.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.#server.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.log.close();
      for (const timer of this.#timers) clearTimeout(timer);
      this.#timers.clear();
      this.#server.close(() => resolve());
      for (const socket of this.#sockets) socket.destroy();
    });
    return this.#closing;
  }

  async #onMessage(raw: Buffer, session: SMTPServerSession, callback: (err?: Error | null) => void): Promise<void> {
    const parsed = await simpleParser(raw, { keepCidLinks: true });
    const headers: Record<string, string> = {};
    for (const { key, line } of parsed.headerLines) {
      const value = line.slice(line.indexOf(':') + 1).trim();
      headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
    }
    const envelope = session.envelope;
    const mail: ReceivedMail = {
      from: addresses(parsed.from)[0] ?? '',
      to: addresses(parsed.to),
      cc: addresses(parsed.cc),
      subject: parsed.subject ?? '',
      html: typeof parsed.html === 'string' ? parsed.html : null,
      text: parsed.text ?? null,
      attachments: parsed.attachments.map((a) => ({
        filename: a.filename ?? null,
        contentType: a.contentType,
        cid: a.cid ?? null,
        contentDisposition: a.contentDisposition ?? (a.related ? 'inline' : 'attachment'),
        content: a.content,
        size: a.size,
      })),
      messageId: parsed.messageId ?? null,
      headers,
      envelope: {
        mailFrom: envelope.mailFrom ? envelope.mailFrom.address : '',
        rcptTo: envelope.rcptTo.map((r) => r.address),
      },
      user: typeof session.user === 'string' ? session.user : null,
      raw: raw.toString('utf8'),
      status: null,
      at: Date.now(),
    };
    if (this.#closing) return;
    this.log.push(mail, 'message');

    if (this.faults.latencyMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          resolve();
        }, this.faults.latencyMs);
        this.#timers.add(timer);
      });
      if (this.#closing) return;
    }

    const fault = takeFault(this.faults, 'message', (kind) => kind !== 'unauthorized' || !this.#auth);
    if (fault) {
      mail.fault = fault.kind;
      this.log.touch(mail);
      this.#applyFault(fault, mail, session, callback);
      return;
    }
    mail.status = 250;
    this.log.touch(mail);
    callback(null);
  }

  #applyFault(fault: Fault, mail: ReceivedMail, session: SMTPServerSession, callback: (err?: Error | null) => void): void {
    const reject = (code: number, message: string): void => {
      mail.status = code;
      this.log.touch(mail);
      callback(new SmtpError(message, code));
    };
    switch (fault.kind) {
      case 'rateLimit':
        reject(421, `Too many messages, try again in ${fault.retryAfterSec} seconds`);
        return;
      case 'serverError':
        reject(fault.status ?? 451, 'Requested action aborted: local error in processing');
        return;
      case 'unauthorized':
        reject(530, 'Authentication required');
        return;
      case 'reset': {
        for (const socket of this.#sockets) {
          if (socket.remotePort === session.remotePort) socket.resetAndDestroy();
        }
        return;
      }
      case 'hang':
        return;
    }
  }
}

/** Start an SMTP sink on 127.0.0.1 (ephemeral port), plain text (no STARTTLS). */
export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const sink = new SmtpSinkImpl(options);
  await sink.listen();
  return sink;
}
