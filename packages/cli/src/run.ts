/**
 * `epochcast run [--telegram] [--slack] [--email] [--webhook URL] [--name NAME] -- <command…>`:
 * runs any command (a Python training script too) and tells the notifiers when it starts and how
 * it ended — exit code or signal, duration, host and the last lines of its output.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { jobNotification, jobRunInfo, type Notification, type Notifier, notifyAll } from '@epochcast/notify';
import { closeNotifiers, isConfigError, type NotifierFlags, notifiersFromFlags } from './notifiers.js';
import type { CliIo } from './program.js';

export interface RunOptions extends NotifierFlags {
  name?: string;
}

/** Lines of output the end message quotes. */
export const TAIL_LINES = 20;
const LINE_MAX = 300;
const NAME_MAX = 60;
const FORWARDED = ['SIGINT', 'SIGTERM'] as const;

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
  const child = spawn(file, args, {
    stdio: ['inherit', 'pipe', 'pipe'],
    // Python block-buffers a pipe: without this, its output would arrive in lumps, or be lost on a crash.
    env: { PYTHONUNBUFFERED: '1', ...io.env },
  });

  let received: (typeof FORWARDED)[number] | undefined;
  const forward = Object.fromEntries(
    FORWARDED.map((signal) => [
      signal,
      () => {
        received = signal;
        child.kill(signal);
      },
    ]),
  ) as Record<(typeof FORWARDED)[number], () => void>;
  for (const s of FORWARDED) process.on(s, forward[s]);

  let started: Promise<void> = Promise.resolve();
  child.once('spawn', () => {
    started = notifyAll(notifiers, jobNotification('start', run, 'running'));
  });
  for (const [name, stream, target] of [
    ['stdout', child.stdout, process.stdout],
    ['stderr', child.stderr, process.stderr],
  ] as const) {
    stream.on('data', (chunk: Buffer) => tail.push(name, chunk));
    stream.pipe(target, { end: false });
  }

  const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null } | { spawnError: NodeJS.ErrnoException }>(
    (resolve) => {
      child.once('error', (error: NodeJS.ErrnoException) => {
        // Also emitted when a kill fails after the spawn; only a failed spawn ends the run here.
        if (child.pid === undefined) resolve({ spawnError: error });
      });
      child.once('close', (code, signal) => resolve({ code, signal }));
    },
  );
  for (const s of FORWARDED) process.off(s, forward[s]);

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
    const lines = tail.snapshot();
    const last = [...lines].reverse().find((l) => l.trim() !== '');
    if (signal) {
      exitCode = 128 + (constants.signals[signal] ?? 0);
      const error = { name: `killed by ${signal}`, message: last ?? `${line} was killed by ${signal}`, stack: lines.join('\n') };
      run.schedule = `$ ${truncate(line, 200)} → killed by ${signal}`;
      end =
        received === signal
          ? jobNotification('interrupt', run, 'interrupted', { error, stopReason: `interrupted by ${signal}` })
          : jobNotification('error', run, 'failed', { error });
    } else {
      exitCode = code ?? 1;
      run.schedule = `$ ${truncate(line, 200)} → exit code ${exitCode}`;
      end =
        exitCode === 0
          ? jobNotification('end', run, 'completed')
          : jobNotification('error', run, 'failed', {
              error: { name: `exit code ${exitCode}`, message: last ?? `${line} exited with code ${exitCode}`, stack: lines.join('\n') },
            });
    }
  }
  try {
    await started;
    await notifyAll(notifiers, end);
  } finally {
    await closeNotifiers(notifiers);
  }
  return exitCode;
}
