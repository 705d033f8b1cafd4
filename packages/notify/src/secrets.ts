import type { Notification } from './notification.js';

/**
 * The values one notifier must never show — tokens, passwords, webhook URLs — and the redaction of
 * any text that may carry them (an HTTP error quoting a URL, a training error quoting a config).
 */
export class SecretSet {
  private readonly values = new Set<string>();

  /** Declares secrets; values shorter than 4 characters are ignored (they would redact ordinary text). */
  add(...values: (string | undefined)[]): void {
    for (const value of values) {
      if (!value || value.length < 4) continue;
      this.values.add(value);
      this.values.add(encodeURIComponent(value));
    }
  }

  /** `text` with every secret replaced by `***`. */
  redact(text: string): string {
    let out = text;
    for (const secret of this.values) out = out.split(secret).join('***');
    return out;
  }

  /** The notification with every string a user or a library could have filled redacted. */
  redactNotification(n: Notification): Notification {
    const out: Notification = { ...n, run: { ...n.run, name: this.redact(n.run.name) } };
    if (n.stopReason !== undefined) out.stopReason = this.redact(n.stopReason);
    if (n.error)
      out.error = {
        name: this.redact(n.error.name),
        message: this.redact(n.error.message),
        ...(n.error.stack ? { stack: this.redact(n.error.stack) } : {}),
      };
    return out;
  }
}
