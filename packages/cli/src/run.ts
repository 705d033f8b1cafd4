/**
 * `epochcast run [--telegram] [--slack] [--email] [--webhook URL] [--name NAME] -- <command…>`:
 * runs any command (a Python training script too) and tells the notifiers when it starts and how
 * it ended — exit code or signal, duration, host and the last lines of its output. The command
 * runs without epochcast's credentials (child-env.ts), in its own process group (process-group.ts).
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { jobNotification, jobRunInfo, type Notification, type NotificationError, type Notifier, notifyAll } from '@epochcast/notify';
import { commandEnv, unsetNames } from './child-env.js';
import { closeNotifiers, isConfigError, type NotifierFlags, notifiersFromFlags } from './notifiers.js';
import { CommandGroup, GROUPS, KILL_AFTER_S, type StopState } from './process-group.js';
import type { CliIo } from './program.js';

export interface RunOptions extends NotifierFlags {
  name?: string;
  /** Service variables the command may see after all (names, `PREFIX*`, `*`); see child-env.ts. */
  passEnv?: readonly string[];
  /** Seconds between a stop signal passed on and SIGKILL to the command's group. */
  killAfter?: number;
}

/** Lines of output the end message quotes. */
export const TAIL_LINES = 20;
const LINE_MAX = 300;
const NAME_MAX = 60;

/** The last lines written to stdout and stderr, combined, without colours or progress-bar redraws. */
export class OutputTail {
  private readonly lines: string[] = [];
  private readonly partial = new Map<string, string>();

  constructor(private readonly max = TAIL_LINES) {}

  push(stream: string, chunk: Buffer | string): void {
    const text = (this.partial.get(stream) ?? '') + chunk.toString();
    const parts = text.split('\n');
    this.partial.set(stream, (parts.pop() ?? '').slice(-4 * LINE_MAX));
    for (const line of parts) this.add(line);
  }

  /** The last lines, the unfinished ones included. */
  snapshot(): string[] {
    const out = [...this.lines];
    for (const rest of this.partial.values()) {
      const line = clean(rest);
      if (line.trim() !== '') out.push(line);
    }
    while (out.length > 0 && out[0]?.trim() === '') out.shift();
    return out.slice(-this.max);
  }

  private add(raw: string): void {
    this.lines.push(clean(raw));
    if (this.lines.length > this.max) this.lines.shift();
  }
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences start with ESC
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007]*\u0007|\u001b[@-Z\\-_]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: other control characters are dropped
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

/** One output line as a terminal would end up showing it: after the last `\r`, no escapes. */
function clean(line: string): string {
  const shown = line.replace(/\r+$/, '').split('\r').at(-1) ?? '';
  const text = shown.replace(ANSI, '').replace(CONTROL, '').trimEnd();
  return text.length > LINE_MAX ? `${text.slice(0, LINE_MAX - 1)}…` : text;
}

/** `python train.py --lr 3e-4`, quoted where a shell would need it. */
export function commandLine(command: readonly string[]): string {
  return command.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`)).join(' ');
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Runs the command; resolves to the exit code epochcast should end with. */
export async function runCommand(io: CliIo, command: readonly string[], options: RunOptions): Promise<number> {
  if (!options.telegram && !options.slack && !options.email && options.webhook === undefined) {
    io.err('epochcast run: choose at least one of --telegram --slack --email --webhook\n(add --help for usage)\n');
    return 2;
  }
  const [file, ...args] = command;
  if (file === undefined || file === '') {
    io.err('epochcast run: no command to run. Usage: epochcast run [options] -- <command…>\n(add --help for usage)\n');
    return 2;
  }
  let notifiers: Notifier[];
  try {
    notifiers = notifiersFromFlags(options);
  } catch (error) {
    if (!isConfigError(error)) throw error;
    io.err(`epochcast run: ${error.message}\n`);
    return 2;
  }

  const line = commandLine(command);
  const run = jobRunInfo({ name: options.name ?? truncate(line, NAME_MAX), schedule: `$ ${truncate(line, 200)}` });
  const tail = new OutputTail();
  const pass = options.passEnv ?? [];
  for (const name of unsetNames(io.env, pass)) io.err(`epochcast run: --pass-env ${name}: no such variable is set, nothing passed\n`);
  const child = spawn(file, args, {
    stdio: ['inherit', 'pipe', 'pipe'],
    // Python block-buffers a pipe: without this, its output would arrive in lumps, or be lost on a crash.
    env: { PYTHONUNBUFFERED: '1', ...commandEnv(io.env, pass) },
    detached: GROUPS,
  });
  const group = new CommandGroup(child, options.killAfter);

  let started: Promise<void> = Promise.resolve();
  child.once('spawn', () => {
    started = notifyAll(notifiers, jobNotification('start', run, 'running'));
  });
  const relays = [
    relay(child.stdout, process.stdout, (chunk) => tail.push('stdout', chunk)),
    relay(child.stderr, process.stderr, (chunk) => tail.push('stderr', chunk)),
  ];

  const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null } | { spawnError: NodeJS.ErrnoException }>(
    (resolve) => {
      child.once('error', (error: NodeJS.ErrnoException) => {
        // Also emitted when a kill fails after the spawn; only a failed spawn ends the run here.
        if (child.pid === undefined) resolve({ spawnError: error });
      });
      child.once('close', (code, signal) => resolve({ code, signal }));
    },
  );
  group.ended();
  for (const stop of relays) stop();

  let exitCode: number;
  let end: Notification;
  if ('spawnError' in outcome) {
    const { code } = outcome.spawnError;
    const notFound = code === 'ENOENT';
    exitCode = notFound ? 127 : 126;
    const what = notFound ? 'command not found' : `cannot run the command (${code ?? outcome.spawnError.message})`;
    io.err(`epochcast run: ${what}: ${file}\n`);
    end = jobNotification('error', run, 'failed', { error: { name: what, message: file } });
  } else {
    const { code, signal } = outcome;
    exitCode = signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1);
    const how = signal ? `killed by ${signal}` : `exit code ${exitCode}`;
    run.schedule = `$ ${truncate(line, 200)} → ${how}`;
    const lines = tail.snapshot();
    const last = [...lines].reverse().find((l) => l.trim() !== '');
    const fallback = signal ? `${line} was killed by ${signal}` : `${line} exited with code ${exitCode}`;
    const error: NotificationError = { name: how, message: last ?? fallback, stack: lines.join('\n') };
    const stopReason = stoppedBy(group, options.killAfter);
    if (stopReason !== undefined) {
      // Told to stop, however the command then ended: an interrupt, with how it ended.
      end = jobNotification('interrupt', run, 'interrupted', { ...(exitCode === 0 ? {} : { error }), stopReason });
    } else if (exitCode === 0) {
      end = jobNotification('end', run, 'completed');
    } else {
      end = jobNotification('error', run, 'failed', { error });
    }
  }
  try {
    await started;
    await notifyAll(notifiers, end);
  } finally {
    group.release();
    await closeNotifiers(notifiers);
  }
  return exitCode;
}

/** `interrupted by SIGTERM` when epochcast passed a stop signal on, with the SIGKILL if one followed. */
function stoppedBy(stop: StopState, killAfter = KILL_AFTER_S): string | undefined {
  const first = stop.received[0];
  if (first === undefined) return undefined;
  return stop.killed ? `interrupted by ${first}; still running ${killAfter} s later, killed with SIGKILL` : `interrupted by ${first}`;
}

/**
 * Passes the command's output on to epochcast's own stream as it comes, and to `keep`. A stream
 * that fails (EPIPE: `epochcast run -- cmd | head -1` after its line) is dropped, not fatal: the
 * output is still read to its end — the command never blocks on a full pipe — and kept for the
 * end message.
 */
function relay(source: Readable, target: Writable, keep: (chunk: Buffer) => void): () => void {
  let open = true;
  const close = () => {
    open = false;
    source.resume();
  };
  target.on('error', close);
  source.on('data', (chunk: Buffer) => {
    keep(chunk);
    if (!open || target.destroyed || !target.writable) return;
    if (!target.write(chunk)) {
      source.pause();
      target.once('drain', () => source.resume());
    }
  });
  return () => target.off('error', close);
}
