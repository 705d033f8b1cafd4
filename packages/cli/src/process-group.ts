/**
 * The command of `epochcast run` in its own process group, and the signals epochcast passes on to
 * it. Its own group, because a terminal's Ctrl-C goes to every process of the foreground group:
 * sharing epochcast's, the command got each SIGINT twice (from the terminal and passed on). In
 * exchange epochcast must pass on whatever the terminal or a supervisor sends to it alone: the
 * four stop signals, and Ctrl-Z / `fg`.
 */
import type { ChildProcess } from 'node:child_process';

/** Signals that ask epochcast to stop; each delivery is passed on to the command's group once. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** Seconds a command may take to end after a stop signal before its group is SIGKILLed. */
export const KILL_AFTER_S = 30;

/** Seconds a command may take to end after the SIGINT of a stop asked from afar (/stop) before it gets SIGTERM. */
export const STOP_GRACE_S = 30;

/**
 * Windows has no process groups to signal (and `detached` there opens a new console): the
 * command then shares epochcast's console and gets signals as before.
 */
export const GROUPS = process.platform !== 'win32';

export interface StopState {
  /** Every stop signal passed on, in order of arrival. */
  readonly received: readonly StopSignal[];
  /** Whether the command was still running `killAfterS` after the first one and got SIGKILL. */
  readonly killed: boolean;
}

/**
 * Passes epochcast's signals on to the command's process group until `release()`; kills the group
 * when it outstays a stop. `child` must have been spawned `detached` where GROUPS holds. Between
 * `ended()` and `release()` (the end message on its way, bounded by the notifiers' flush timeout)
 * a stop signal no longer ends epochcast: the end is always reported.
 */
export class CommandGroup implements StopState {
  readonly received: StopSignal[] = [];
  killed = false;
  /** Whether a stop was asked from afar (`requestStop`). */
  requested = false;
  private timer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private readonly listeners = new Map<NodeJS.Signals, () => void>();

  constructor(
    private readonly child: ChildProcess,
    private readonly killAfterS = KILL_AFTER_S,
  ) {
    for (const signal of STOP_SIGNALS) this.listen(signal, () => this.stop(signal));
    if (GROUPS) {
      // Ctrl-Z stops epochcast's group only. SIGSTOP, not SIGTSTP: the command's group has no
      // parent in its session, and the kernel drops terminal stop signals sent to such a group.
      this.listen('SIGTSTP', () => {
        this.signal('SIGSTOP');
        process.kill(process.pid, 'SIGSTOP');
      });
      this.listen('SIGCONT', () => this.signal('SIGCONT'));
    }
  }

  /** A stop signal reached epochcast: on to the command, and a deadline for it to end. */
  private stop(signal: StopSignal): void {
    this.received.push(signal);
    this.signal(signal);
    this.timer ??= setTimeout(() => {
      this.killed = true;
      this.signal('SIGKILL');
    }, this.killAfterS * 1000);
  }

  /**
   * A stop asked from afar (Telegram's /stop): SIGINT to the command's group — Python raises
   * KeyboardInterrupt, which training loops and frameworks handle — then SIGTERM `graceS` later if
   * it still runs, then SIGKILL `killAfterS` after that.
   */
  requestStop(graceS = STOP_GRACE_S): void {
    if (this.requested) return;
    this.requested = true;
    this.signal('SIGINT');
    this.graceTimer = setTimeout(() => {
      this.signal('SIGTERM');
      this.timer ??= setTimeout(() => {
        this.killed = true;
        this.signal('SIGKILL');
      }, this.killAfterS * 1000);
    }, graceS * 1000);
  }

  /**
   * The command has ended (its output closed). After a stop, whatever it left in its group (a
   * worker that ignored the signal) is killed rather than left orphaned.
   */
  ended(): void {
    clearTimeout(this.timer);
    clearTimeout(this.graceTimer);
    if (this.received.length > 0 || this.requested) this.signal('SIGKILL');
  }

  /** Signals reach epochcast as they did before: for the moment it exits. */
  release(): void {
    clearTimeout(this.timer);
    clearTimeout(this.graceTimer);
    for (const [signal, listener] of this.listeners) process.off(signal, listener);
    this.listeners.clear();
  }

  private listen(signal: NodeJS.Signals, listener: () => void): void {
    this.listeners.set(signal, listener);
    process.on(signal, listener);
  }

  private signal(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      if (GROUPS) process.kill(-pid, signal);
      else this.child.kill(signal);
    } catch {
      // ESRCH: the group has ended already.
    }
  }
}
