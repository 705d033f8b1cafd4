/**
 * The updates of the local Telegram server and how a bot gets them: the queue confirmed by
 * getUpdates `offset`, `allowed_updates`, long polls (`timeout`), the webhook that excludes
 * getUpdates, and Telegram's rule for two pollers at once (409 Conflict, answered at most every
 * `conflictThrottleMs`).
 */

import type { ServiceCall } from './fake-service.js';
import { bool, int, str } from './params.js';
import type { TelegramCall } from './telegram.js';
import { botParam } from './telegram-errors.js';
import type { TgUpdate } from './telegram-types.js';

type Call = ServiceCall<TelegramCall>;

/** What the queue needs of the server: its answers and its timers. */
export interface UpdateAnswers {
  ok(call: Call, result: unknown): void;
  fail(call: Call, code: number, description: string): void;
  setTimer(fn: () => void, ms: number): () => void;
}

export interface UpdateQueueOptions {
  conflictThrottleMs: number;
  conflictLoser: 'older' | 'newer';
}

interface LongPoll {
  call: Call;
  limit: number;
  cancelTimer: () => void;
}

const CONFLICT_GET_UPDATES = 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running';
const CONFLICT_WEBHOOK = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first";
const LONG_POLL_MAX_TIMEOUT_SEC = 50;
// Telegram's default: every update type except chat_member, message_reaction and message_reaction_count.
const NOT_DEFAULT_UPDATES = new Set(['chat_member', 'message_reaction', 'message_reaction_count']);

export class UpdateQueue {
  readonly #answers: UpdateAnswers;
  readonly #options: UpdateQueueOptions;
  #updates: TgUpdate[] = [];
  #nextUpdateId = 1;
  #allowedUpdates: Set<string> | undefined;
  #poll: LongPoll | undefined;
  #nextConflictAt = 0;
  #webhookUrl = '';

  constructor(answers: UpdateAnswers, options: UpdateQueueOptions) {
    this.#answers = answers;
    this.#options = options;
  }

  /** Updates not yet confirmed by a getUpdates `offset`. */
  get pending(): readonly TgUpdate[] {
    return this.#updates;
  }

  /** The webhook URL set by setWebhook ('' when none). */
  get webhookUrl(): string {
    return this.#webhookUrl;
  }

  /** Queues an update (numbered here) and answers a pending long poll that may take it. */
  push(content: Omit<TgUpdate, 'update_id'>): TgUpdate {
    const update: TgUpdate = { update_id: this.#nextUpdateId++, ...content };
    this.#updates.push(update);
    if (this.#poll && this.#isAllowed(update)) this.#answerPoll(this.#poll);
    return update;
  }

  getUpdates(call: Call): void {
    const p = call.params;
    if (this.#webhookUrl) {
      this.#conflict(call, CONFLICT_WEBHOOK);
      return;
    }
    const offset = int(p.offset, 0);
    const limit = Math.min(Math.max(int(p.limit, 100), 1), 100);
    const timeout = Math.min(Math.max(int(p.timeout, 0), 0), LONG_POLL_MAX_TIMEOUT_SEC);
    const allowed = botParam(p.allowed_updates, "Bad Request: can't parse allowed_updates JSON object");
    if (Array.isArray(allowed) && allowed.length > 0) this.#allowedUpdates = new Set(allowed.map(String));

    // A negative offset keeps only the last -offset updates; a positive one confirms all before it.
    if (offset < 0) this.#updates = this.#updates.slice(offset);
    else if (offset > 0) this.#updates = this.#updates.filter((u) => u.update_id >= offset);
    this.#updates = this.#updates.filter((u) => this.#isAllowed(u));
    const available = this.#updates.slice(0, limit);

    if (timeout === 0 || available.length > 0) {
      this.#answers.ok(call, available);
      return;
    }

    if (this.#options.conflictLoser === 'newer' && this.#poll) {
      this.#conflict(call, CONFLICT_GET_UPDATES);
      return;
    }
    // As the official server does: the new long poll takes over and the pending one is
    // terminated with 409, so the poller that was there first is the one told to stop.
    this.#abortPoll(CONFLICT_GET_UPDATES);
    const poll: LongPoll = {
      call,
      limit,
      cancelTimer: this.#answers.setTimer(() => this.#answerPoll(poll), timeout * 1000),
    };
    this.#poll = poll;
    call.res.once('close', () => {
      if (this.#poll === poll) {
        poll.cancelTimer();
        this.#poll = undefined;
      }
    });
  }

  setWebhook(p: Record<string, unknown>): true {
    this.#webhookUrl = str(p.url) ?? '';
    if (this.#webhookUrl) this.#abortPoll('Conflict: terminated by setWebhook request');
    if (bool(p.drop_pending_updates)) this.#updates = [];
    return true;
  }

  deleteWebhook(p: Record<string, unknown>): true {
    this.#webhookUrl = '';
    if (bool(p.drop_pending_updates)) this.#updates = [];
    return true;
  }

  /** Forgets the pending long poll; the server's close() ends its request. */
  close(): void {
    this.#poll = undefined;
  }

  #answerPoll(poll: LongPoll): void {
    if (this.#poll !== poll) return;
    this.#poll = undefined;
    poll.cancelTimer();
    this.#updates = this.#updates.filter((u) => this.#isAllowed(u));
    this.#answers.ok(poll.call, this.#updates.slice(0, poll.limit));
  }

  #abortPoll(description: string): void {
    const previous = this.#poll;
    if (!previous) return;
    this.#poll = undefined;
    previous.cancelTimer();
    this.#conflict(previous.call, description);
  }

  #conflict(call: Call, description: string): void {
    const t = Date.now();
    if (t >= this.#nextConflictAt) {
      this.#nextConflictAt = t + this.#options.conflictThrottleMs;
      this.#answers.fail(call, 409, description);
    } else {
      this.#answers.setTimer(() => this.#answers.fail(call, 409, description), this.#options.conflictThrottleMs);
    }
  }

  #isAllowed(update: TgUpdate): boolean {
    const type = Object.keys(update).find((k) => k !== 'update_id') ?? '';
    return this.#allowedUpdates ? this.#allowedUpdates.has(type) : !NOT_DEFAULT_UPDATES.has(type);
  }
}
