/**
 * The delay before retry number `attempt` (from 0): doubling from `minMs` up to `maxMs`, and
 * jittered so that clients dropped together (by a dying hub) do not all race back at once.
 */
export function backoffDelay(attempt: number, minMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2) + (attempt === 0 ? minMs / 2 : 0);
}

/** `promise`, or a rejection with `message()` once `ms` have passed; the timer never outlives the race. */
export async function withDeadline<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
