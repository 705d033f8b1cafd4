/**
 * One command connection and one subscriber connection per URL per process, shared by every
 * membership and closed when the last one leaves, so that a process exits by itself afterwards.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Command, Redis, type RedisOptions } from 'ioredis';
import { describeError } from '../errors.js';
import { urlSecrets } from '../redis-url.js';
import { withDeadline } from '../timing.js';

const COMMAND_TIMEOUT_MS = 2000;
const CONNECT_TIMEOUT_MS = 2000;
const QUIT_TIMEOUT_MS = 1000;
/** How often a join that cannot reach Redis asks again. */
const PING_INTERVAL_MS = 100;

/** What a connection needs of a membership: where to deliver its messages, whom to tell of an outage. */
export interface ConnectionMember {
  receive(text: string): void;
  warnOutage(reason: string): void;
}

/** The connections to one URL, shared by the memberships of this process. */
export class Connection {
  private static readonly byUrl = new Map<string, Connection>();

  static acquire(url: string): Connection {
    let connection = Connection.byUrl.get(url);
    if (!connection) {
      connection = new Connection(url);
      Connection.byUrl.set(url, connection);
    }
    connection.refs += 1;
    return connection;
  }

  readonly command: Redis;
  /** Joined memberships: those told about outages. */
  readonly members = new Set<ConnectionMember>();
  private subscriber: Redis | undefined;
  private readonly channels = new Map<string, ConnectionMember>();
  /** Memberships joined or joining; the connections close when it drops to 0. */
  private refs = 0;
  private down = false;
  /** The last connection error, which says more than "max retries per request" does. */
  private lastError: string | undefined;
  private readonly secrets: string[];
  /** Where sends are paced while Redis cannot be reached: this process only, but never in bursts. */
  readonly fallbackBudget = new Map<string, number>();

  private constructor(readonly url: string) {
    this.secrets = urlSecrets(url);
    const options: RedisOptions = {
      // Commands issued during a short blip wait for the reconnect, but a long outage fails them
      // after one retry instead of queueing heartbeats without bound.
      enableOfflineQueue: true,
      maxRetriesPerRequest: 1,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: CONNECT_TIMEOUT_MS,
      retryStrategy: (times) => Math.min(100 * times, 1000),
      // How long disconnect() lets a socket linger: we QUIT first, or the server is gone. ioredis
      // also arms this timer for a socket already closed (nothing clears it), holding the process up.
      disconnectTimeout: 100,
      // Shown by CLIENT LIST, so that whoever runs the Redis can tell epochcast's clients apart.
      connectionName: `epochcast-${process.pid}`,
    };
    this.command = new Redis(url, options);
    this.watch(this.command);
  }

  /**
   * Resolves once Redis answers PING, trying again until `withinMs` has passed: a refused
   * connection fails at once, yet a server restarting may be back a second later.
   */
  async reachable(withinMs: number): Promise<void> {
    const until = performance.now() + withinMs;
    let last: unknown;
    for (;;) {
      const left = until - performance.now();
      if (left <= 0) throw new Error(`Redis did not answer within ${withinMs} ms${last === undefined ? '' : ` (${this.explain(last)})`}`);
      // Its own timeout rather than a race: a command left queued while the connection is
      // reconnecting survives disconnect() with its timer, which would keep the process up.
      const ping = new Command('ping', [], { replyEncoding: 'utf8' });
      ping.setTimeout(Math.ceil(left));
      this.command.sendCommand(ping);
      try {
        await ping.promise;
        this.answered();
        return;
      } catch (error) {
        if (!(error instanceof Error && /timed out/i.test(error.message))) last = error;
        await sleep(Math.min(PING_INTERVAL_MS, Math.max(0, until - performance.now())));
      }
    }
  }

  /** The subscriber, created with the first subscription: a subscribed connection takes no other commands. */
  async subscribe(channel: string, member: ConnectionMember): Promise<void> {
    if (!this.subscriber) {
      // No ready check (INFO) and no client info (CLIENT SETINFO) on this one: ioredis 5.8.2+ can
      // write a SUBSCRIBE queued during connect ahead of them, and Redis then refuses them with
      // "Connection in subscriber mode" (ioredis #2037, fixed in 6.0) and the join fails.
      const subscriber = this.command.duplicate({ enableReadyCheck: false, disableClientInfo: true });
      this.watch(subscriber);
      subscriber.on('message', (ch: string, text: string) => this.channels.get(ch)?.receive(text));
      this.subscriber = subscriber;
    }
    this.channels.set(channel, member);
    await this.subscriber.subscribe(channel);
  }

  unsubscribe(channel: string): void {
    if (!this.channels.delete(channel) || this.refs <= 1) return;
    this.subscriber?.unsubscribe(channel).catch(() => {});
  }

  /** Counts a failed command; the first failure of an outage warns every member once. */
  failed(error: unknown): void {
    if (this.down) return;
    this.down = true;
    const reason = this.explain(error);
    for (const member of this.members) member.warnOutage(reason);
  }

  /** Any answer from Redis ends the outage (a paused server never drops the connection, so 'ready' alone would not). */
  answered(): void {
    this.down = false;
    this.lastError = undefined;
  }

  /** The error as one line without the URL's password. */
  explain(error: unknown): string {
    let text = describeError(error);
    if (/max retries per request|connection is closed/i.test(text)) text = this.lastError ?? 'connection lost';
    for (const secret of this.secrets) text = text.split(secret).join('***');
    return text;
  }

  async release(): Promise<void> {
    this.refs -= 1;
    if (this.refs > 0) return;
    if (Connection.byUrl.get(this.url) === this) Connection.byUrl.delete(this.url);
    const connections = [this.command, ...(this.subscriber ? [this.subscriber] : [])];
    await Promise.all(
      connections.map(async (connection) => {
        try {
          if (connection.status === 'ready') await withDeadline(connection.quit(), QUIT_TIMEOUT_MS, () => 'quit timed out');
        } catch {
          // Closed below either way.
        } finally {
          connection.disconnect();
        }
      }),
    );
  }

  private watch(connection: Redis): void {
    // Without a listener, ioredis prints every reconnect failure; the outage warning says it once.
    connection.on('error', (error: unknown) => {
      this.lastError = describeError(error);
      this.failed(error);
    });
    connection.on('ready', () => this.answered());
  }
}
