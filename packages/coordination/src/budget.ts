/**
 * Bounds on the send budget a scope shares. Any member can book it (and on Redis anyone who can
 * write the key): one booking, or a pile of them, must not hold every other run's messages back
 * for longer than the honest runs of a scope could.
 */

/**
 * The longest slot one reservation books: services ask for a second or so between messages (3 s
 * in a Telegram group); a notifier that asks for more keeps its own longer pace on top.
 */
export const MAX_BOOKING_MS = 5_000;
/** How far ahead of now the budget may be booked: a slot further out is granted this far out. */
export const MAX_BACKLOG_MS = 60_000;

/** `intervalMs` as booked: at most MAX_BOOKING_MS. */
export function bookedInterval(intervalMs: number): number {
  return Math.min(Math.max(0, intervalMs), MAX_BOOKING_MS);
}
