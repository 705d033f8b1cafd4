/**
 * Proof that a peer holds the account's secret. Any process of the same user can reach the local
 * hub, and anyone who can write to the Redis can publish to a run's channel; neither may command a
 * run unless it holds the secret (a bot token). The secret never leaves the process: runs prove
 * knowledge of a key derived from it (`scopeAuthKey`) with HMACs.
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '@epochcast/core/errors';
import type { Warn } from './callbacks.js';
import { isJsonObject, type JsonObject, parseJsonObject } from './json.js';
import { isRunId } from './records.js';
import type { ScopeMessage } from './types.js';

/** Domain separation from any other use of the same secret: changing it changes every key. */
const KEY_LABEL = 'epochcast coordination key v1';
const MIN_KEY_BYTES = 16;
/** base64url of a SHA-256 HMAC. */
const MAC_CHARS = 43;

/** How far a sealed message's timestamp may be from the receiver's clock (machines' clocks differ a little). */
export const MESSAGE_WINDOW_MS = 120_000;
/** Nonces of recent messages kept against replay; a run receives human-paced commands, far fewer than this within the window. */
const MAX_REMEMBERED_NONCES = 4096;
const SEALED = 'epochcast-sealed/1';

/**
 * The key runs of one account prove to each other, derived from the account's secret (HKDF-SHA256
 * with a fixed label): pass it as `authKey` when joining. Runs holding the same secret derive the
 * same key; a process without the secret cannot, and the secret itself is never sent.
 */
export function scopeAuthKey(service: string, ...secrets: string[]): Uint8Array {
  if (secrets.length === 0 || secrets.every((s) => s.length === 0))
    throw new ConfigError(`scopeAuthKey: pass the account's secret (e.g. the bot token) to derive ${service}'s key from.`);
  return new Uint8Array(hkdfSync('sha256', secrets.join('\u0000'), KEY_LABEL, `${KEY_LABEL}\u0000${service}`, 32));
}

/** The key of one scope: MACs over labelled parts, so that no proof made for one purpose (or scope) passes for another. */
export class ScopeAuth {
  readonly #key: Buffer;

  constructor(
    key: Uint8Array,
    private readonly scope: string,
  ) {
    if (!(key instanceof Uint8Array) || key.byteLength < MIN_KEY_BYTES)
      throw new ConfigError(
        `joinScope: authKey must be a Uint8Array of at least ${MIN_KEY_BYTES} bytes; derive it with scopeAuthKey(service, secret).`,
      );
    this.#key = Buffer.from(key);
  }

  mac(purpose: string, ...parts: string[]): string {
    // JSON: an unambiguous encoding of the parts, whatever characters they hold.
    return createHmac('sha256', this.#key)
      .update(JSON.stringify([purpose, this.scope, ...parts]))
      .digest('base64url');
  }

  verify(mac: unknown, purpose: string, ...parts: string[]): boolean {
    if (typeof mac !== 'string' || mac.length !== MAC_CHARS) return false;
    return timingSafeEqual(Buffer.from(mac), Buffer.from(this.mac(purpose, ...parts)));
  }

  /** Never shown: a key printed is a key leaked. */
  toJSON(): string {
    return '[ScopeAuth]';
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return '[ScopeAuth]';
  }
}

export function nonce(): string {
  return randomBytes(12).toString('base64url');
}

/** `message` from run `from` to run `to`, in an envelope whose MAC covers both ids, a timestamp, a nonce and the text. */
export function sealMessage(auth: ScopeAuth, from: string, to: string, message: ScopeMessage): ScopeMessage {
  const body = JSON.stringify(message);
  const t = Date.now();
  const n = nonce();
  return { [SEALED]: { from, to, t, n, body, mac: auth.mac('message', from, to, String(t), n, body) } };
}

/**
 * What run `self` receives when it holds a key: only sealed messages addressed to it, recent, not
 * seen before and with a valid MAC. The rest is dropped, counted, and warned about once.
 */
export class Inbox {
  private readonly seen = new Map<string, number>();
  private dropped = 0;

  constructor(
    private readonly auth: ScopeAuth,
    private readonly self: string,
    private readonly warn: Warn,
  ) {}

  /** The message inside `envelope`, or undefined when it must be dropped. */
  open(envelope: JsonObject): ScopeMessage | undefined {
    const message = this.check(envelope);
    if (message === undefined) this.drop();
    return message;
  }

  /** Counts a message dropped before it could be read (too long, not JSON). */
  reject(): void {
    this.drop();
  }

  private check(envelope: JsonObject): ScopeMessage | undefined {
    const sealed = envelope[SEALED];
    if (!isJsonObject(sealed)) return undefined;
    const { from, to, t, n, body, mac } = sealed;
    if (!isRunId(from) || to !== this.self || typeof t !== 'number' || !Number.isFinite(t)) return undefined;
    if (typeof n !== 'string' || n.length > 32 || typeof body !== 'string') return undefined;
    const now = Date.now();
    if (Math.abs(now - t) > MESSAGE_WINDOW_MS || this.seen.has(n)) return undefined;
    if (!this.auth.verify(mac, 'message', from, to, String(t), n, body)) return undefined;
    this.remember(n, t, now);
    return parseJsonObject(body);
  }

  private remember(n: string, t: number, now: number): void {
    this.seen.set(n, t);
    if (this.seen.size <= MAX_REMEMBERED_NONCES) return;
    // Oldest first (insertion order): one outside the window can be forgotten, as its message would be refused anyway.
    for (const [key, at] of this.seen) {
      if (this.seen.size <= MAX_REMEMBERED_NONCES && Math.abs(now - at) <= MESSAGE_WINDOW_MS) break;
      this.seen.delete(key);
    }
  }

  private drop(): void {
    this.dropped += 1;
    if (this.dropped > 1) return;
    this.warn(
      `epochcast: run ${this.self} dropped a message without a valid authentication code: only runs holding the account's secret ` +
        '(its bot token) may send it commands, so another process of this user or a Redis writer without it tried to; ' +
        'further ones are dropped without a word',
    );
  }
}
