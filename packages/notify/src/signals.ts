/**
 * One process-wide SIGINT/SIGTERM guard shared by every notifier of every running fit, so that a
 * Ctrl-C stops the runs, lets each notifier deliver its `interrupt` message, and only then gives
 * the signal its default outcome (exit 130/143). A second signal, or the time bound, exits at once.
 */
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
type GuardedSignal = (typeof SIGNALS)[number];
const EXIT_CODES: Record<GuardedSignal, number> = { SIGINT: 130, SIGTERM: 143 };

type OnSignal = (signal: GuardedSignal) => void;

const holders = new Map<object, OnSignal>();
let received: GuardedSignal | undefined;
let deadline: NodeJS.Timeout | undefined;
let boundMs = 10_000;

function onProcessSignal(signal: GuardedSignal): void {
  if (received) {
    // A second Ctrl-C means "now": do not wait for deliveries.
    process.exit(EXIT_CODES[signal]);
  }
  received = signal;
  deadline = setTimeout(() => process.exit(EXIT_CODES[signal]), boundMs);
  deadline.unref();
  for (const notify of holders.values()) notify(signal);
}

const listeners = Object.fromEntries(SIGNALS.map((s) => [s, () => onProcessSignal(s)])) as Record<GuardedSignal, () => void>;

/** Starts guarding (first holder installs the listeners); `onSignal` is told when a signal arrives. */
export function holdSignals(holder: object, onSignal: OnSignal, timeoutMs: number): void {
  boundMs = Math.max(boundMs, timeoutMs);
  if (holders.size === 0) for (const s of SIGNALS) process.on(s, listeners[s]);
  holders.set(holder, onSignal);
}

/**
 * Stops guarding for this holder. When the last one lets go, the listeners are removed; if a
 * signal arrived meanwhile it is raised again, now with its default outcome — unless the
 * application has listeners of its own, whose business that signal then is.
 */
export function releaseSignals(holder: object): void {
  if (!holders.delete(holder) || holders.size > 0) return;
  for (const s of SIGNALS) process.off(s, listeners[s]);
  const signal = received;
  received = undefined;
  if (deadline) clearTimeout(deadline);
  deadline = undefined;
  if (signal && process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

/** The signal received while guarding, if any. */
export function receivedSignal(): GuardedSignal | undefined {
  return received;
}
