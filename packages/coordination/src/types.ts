/**
 * Runs that share one service account (a sweep on one bot token, a team on one Slack channel)
 * coordinate through a `Coordinator`: each run joins the scope of that account, is listed to the
 * others, can be sent messages by run id, may be elected the scope's single leader (Telegram
 * allows one getUpdates poller per token), and reserves its sends on a budget shared by the scope
 * (Slack and Telegram allow about one message per second per channel or chat, for everyone).
 *
 * Two engines implement it: on one machine, a Unix socket hub whose listening socket is the lock
 * (the kernel frees it the moment its holder dies); across machines, Redis (`EPOCHCAST_REDIS_URL`).
 */

/** What the other runs of a scope (and `/runs`) see of a run. */
export interface RunRecord {
  /** The run id, 8 hex characters, shared with every message about the run. */
  id: string;
  name: string;
  host: string;
  pid: number;
  /** Unix ms. */
  startedAt: number;
  /** Epochs finished so far. */
  epoch: number;
  /** `running` while the fit runs, then how it ended (`completed`, `stopped`, …) while its last messages go out. */
  status?: string;
  totalEpochs: number;
  /** The latest value of the run's main metric (validation loss, else training loss), if any. */
  metric?: { name: string; value: number };
  /**
   * Where in the account the run's messages go, when that is narrower than the account: a
   * Telegram forum topic as `<chat id>/<topic id>`. Whoever receives a command there (the poller
   * may be another run's process) knows which run it addresses without being told.
   */
  thread?: string;
}

/** A message between runs of a scope: any JSON object. */
export type ScopeMessage = { readonly [key: string]: unknown };

export interface JoinOptions {
  record: RunRecord;
  /**
   * Messages sent to this run by `sendTo`. Called on the event loop, possibly before `join`
   * resolves; exceptions are logged, not thrown.
   */
  onMessage(message: ScopeMessage): void;
  /**
   * Set to compete for the scope's single leader role. `onElected` runs when this run becomes the
   * leader, `onDeposed` when it stops being it (lease lost, engine unreachable, `leave`). At most one
   * run of a scope is the leader at any time, give or take one lease on Redis (or, locally, a leader
   * whose event loop is blocked when its hub dies learns of it late).
   */
  leadership?: { onElected(): void; onDeposed(): void };
  /** One warning line (already free of secrets). */
  warn(line: string): void;
  /**
   * The scope's key (`scopeAuthKey(service, secret)`, at least 16 bytes), for a scope whose runs
   * hold a secret such as a bot token. Then every message between runs carries an HMAC (with a
   * timestamp and a nonce against replay) and a message without a valid one is dropped, the local
   * hub takes only runs that prove the key (and proves it back), and on Redis only records sealed
   * with it are listed or may hold the leader role: a process of the same user, or anyone who can
   * write to the Redis, cannot command a run or take its place without the secret.
   */
  authKey?: Uint8Array;
}

/** One run's membership of a scope. */
export interface Membership {
  readonly runId: string;
  /** Whether this run is the scope's leader now. */
  readonly isLeader: boolean;
  /** Which engine coordinates: `local` (one machine) or `redis`. */
  readonly engine: 'local' | 'redis';
  /** Updates what the others see of this run. Never throws and never waits: sent in the background. */
  update(patch: Partial<Omit<RunRecord, 'id'>>): void;
  /** The active runs of the scope, this one included, oldest first. Rejects when the engine does not answer in time. */
  runs(): Promise<RunRecord[]>;
  /** Delivers `message` to run `runId`'s `onMessage`. Resolves false when no such run is reachable. */
  sendTo(runId: string, message: ScopeMessage): Promise<boolean>;
  /**
   * Reserves the next send slot on the scope's shared budget (one send per `intervalMs` for all runs
   * of the scope together) and resolves with how long to wait before sending, in ms (negative when the
   * slot had already begun as the answer arrived, by that much). When the engine
   * cannot be reached it rejects (local) or paces this process alone (Redis): either way the caller
   * keeps its own pace too.
   */
  reserve(intervalMs: number): Promise<number>;
  /**
   * Gives up the leader role for good (calling `onDeposed` if this run leads) while staying a
   * member: the run still sends, shares the budget and receives messages, and another run is
   * elected at once. For a run whose duty as leader ends before its last messages are out.
   */
  resign(): void;
  /** Leaves the scope: deregisters, gives up leadership (calling `onDeposed`), stops every timer. */
  leave(): Promise<void>;
}

export interface Coordinator {
  readonly engine: 'local' | 'redis';
  /**
   * Joins `scope` (a name safe to show: never a token; hash secrets into it). Rejects when the engine
   * cannot be reached; the run then falls back to coordinating on this machine only.
   */
  join(scope: string, options: JoinOptions): Promise<Membership>;
}
