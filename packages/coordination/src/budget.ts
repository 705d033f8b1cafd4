/**
 * Bounds on the send budget a scope shares. Any member can book it (and on Redis anyone who can
 * write the key): one booking, or a pile of them, must not hold every other run's messages back
 * for longer than the honest runs of a scope could.
 */

/** The longest slot one reservation books: services ask for about a second between messages. */
export const MAX_BOOKING_MS = 10_000;
/** How far ahead of now the budget may be booked: a slot further out is granted this far out. */
export const MAX_BACKLOG_MS = 60_000;

/** `intervalMs` as booked: at most MAX_BOOKING_MS. */
export function bookedInterval(intervalMs: number): number {
  return Math.min(Math.max(0, intervalMs), MAX_BOOKING_MS);
}
