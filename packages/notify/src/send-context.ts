/**
 * What a plugin's `send` gets besides the notification (`SendContext`): the attempt's signal, steps
 * that a retry does not repeat, the pace for a further request, and the notification as text
 * messages within the service's limits.
 */
import { errorMessage } from './bounds.js';
import type { Attempt } from './delivery.js';
import { PermanentError } from './errors.js';
import type { Notification } from './notification.js';
import type { NotifierLimits } from './notifier.js';
import { type Markup, type MessageOptions, PLAIN, renderMessages } from './render/doc.js';

/** Options of `context.messages`: the render kit's, plus room to keep free in each message. */
export interface TextOptions extends MessageOptions {
  /** Characters to keep free in each message for text the plugin adds (a hint, a footer). Default 0. */
  reserve?: number;
}

/** What a plugin's `send` gets besides the notification: the attempt, and the base's help with it. */
export interface SendContext {
  /** Aborted when the attempt times out or the flush bound is reached: pass it to the HTTP client. */
  signal: AbortSignal;
  /** 1 for the first try. */
  attempt: number;
  /**
   * Runs `run` once per notification: once it succeeded, a retry of the send (after a later step
   * failed) skips it and gets its result again — so a retry never posts the text twice.
   */
  step<T>(name: string, run: () => Promise<T>): Promise<T>;
  /**
   * A step the message can do without (the photo after the text): refused for good
   * (PermanentError), it becomes one warning — `the end message was sent, but <name> was refused`
   * — and counts as done; any other failure fails the attempt, and the retry runs it again.
   */
  optionalStep(name: string, run: () => Promise<void>): Promise<void>;
  /**
   * Waits for the next request's turn on the service's pace (`limits.minSendIntervalMs`, shared
   * with the other runs on the account): call it before each further request of one send. The
   * wait does not count against `timeoutMs`.
   */
  pace(): Promise<void>;
  /**
   * The notification as text messages in `markup` (plain text by default): the headline, the
   * epoch table, the stack and the run details, each message within `limits.maxTextLength` (less
   * `reserve`), the table and the stack trimmed to fit `maxMessages` (default 1: one message, one buzz).
   */
  messages(markup?: Markup, options?: TextOptions): string[];
  /**
   * The run's latest epoch as an `epoch` notification of it would show it, whatever event this is:
   * what a plugin that edits one progress message in place (Telegram's live message) writes there
   * with the end, when the last epochs' edits were coalesced away behind a slow service.
   */
  epochMessages(markup?: Markup, options?: TextOptions): string[];
}

/** What the context needs of the notifier it serves. */
export interface SendContextHost {
  readonly limits: NotifierLimits;
  /** One warning line (prefixed and redacted by the notifier). */
  warn(text: string): void;
  /** Waits for the next request's turn on the service's pace. */
  pace(signal: AbortSignal): Promise<void>;
}

/** The context of one attempt at sending `n`. */
export function createSendContext(a: Attempt, n: Notification, notifier: SendContextHost): SendContext {
  const { steps } = a;
  const step = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    if (steps.has(name)) return steps.get(name) as T;
    const result = await run();
    steps.set(name, result);
    return result;
  };
  return {
    signal: a.signal,
    attempt: a.attempt,
    step,
    optionalStep: async (name, run) => {
      if (steps.has(name)) return;
      try {
        await run();
      } catch (error) {
        if (!(error instanceof PermanentError)) throw error;
        // The message itself got through: a refused extra is worth a warning, not a failed message.
        notifier.warn(`the ${n.event} message was sent, but ${name} was refused: ${errorMessage(error)}`);
      }
      steps.set(name, undefined);
    },
    pace: async () => {
      a.clock(false);
      try {
        await notifier.pace(a.signal);
      } finally {
        a.clock(true);
      }
    },
    messages: (markup = PLAIN, options = {}) => render(n, notifier, markup, options),
    epochMessages: (markup = PLAIN, options = {}) => {
      const { plot: _plot, error: _error, alert: _alert, ...progress } = n;
      return render({ ...progress, event: 'epoch' }, notifier, markup, options);
    },
  };
}

function render(n: Notification, notifier: SendContextHost, markup: Markup, options: TextOptions): string[] {
  const { reserve = 0, ...rest } = options;
  return renderMessages(n, markup, {
    maxMessages: 1,
    maxTableRows: 30,
    maxStackChars: 3000,
    ...rest,
    maxLength: Math.min(rest.maxLength ?? Number.POSITIVE_INFINITY, notifier.limits.maxTextLength) - reserve,
  });
}
