/**
 * `epochcast run [--telegram] [--slack] [--email] [--ntfy] [--webhook URL] [--name NAME] [--stall DURATION] -- <command…>`:
 * runs any command — a Python training script above all — and reports it as a Learner run is
 * reported: the start, each epoch read from its output (Keras, tqdm, Lightning, fastai, Hugging
 * Face, or the `@epochcast` line protocol; see output/), the end with the epoch table and the loss
 * plot, or how it failed with its last lines. A `ReportedTraining` from @epochcast/core drives the
 * notifiers, so each reports the command exactly as it reports a fit: live-edited Telegram message,
 * Slack thread, e-mail with the CSV, /status and /stop from the chat, /runs beside the other runs on
 * the bot. The command runs without epochcast's credentials (child-env.ts), in its own process
 * group (process-group.ts); its output reaches the terminal as it comes.
 */

import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { type EpochReport, type ReportedEnd, ReportedTraining } from '@epochcast/core';
import { type AlertLevel, jobNotification, jobRunInfo, type Notifier, notifyAll } from '@epochcast/notify';
import { TELEGRAM_COMMANDS, type TelegramCommand } from '@epochcast/telegram';
import which from 'which';
import { commandEnv, unsetNames } from './child-env.js';
import { cliMessage, EXIT, isConfigError, prefixed, reportError } from './cli-errors.js';
import { closeNotifiers, type NotifierFlags, notifiersFromFlags } from './notifiers.js';
import { type OutputEvent, TrainingOutputReader } from './output/index.js';
import { CommandGroup, GROUPS, KILL_AFTER_S, STOP_GRACE_S, type StopState } from './process-group.js';
import type { CliIo } from './program.js';
import { StallWatch } from './stall.js';

export interface RunOptions extends NotifierFlags {
  name?: string;
  /** Service variables the command may see after all (names, `PREFIX*`, `*`); see child-env.ts. */
  passEnv?: readonly string[];
  /** Seconds between a stop signal passed on and SIGKILL to the command's group. */
  killAfter?: number;
  /** Milliseconds without output (or without progress, once some was seen) before a stall alert. */
  stall?: number;
  /** Seconds between a /stop's SIGINT and SIGTERM. */
  stopGrace?: number;
}

const WHERE = 'epochcast run';

function isHttpUrl(text: string): boolean {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  return url?.protocol === 'http:' || url?.protocol === 'https:';
}

/** Lines of output the end message quotes. */
export const TAIL_LINES = 20;
/** Lines of output a /status reply quotes. */
const STATUS_LINES = 10;
const NAME_MAX = 60;

/** `python train.py --lr 3e-4`, quoted where a shell would need it. */
export function commandLine(command: readonly string[]): string {
  return command.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`)).join(' ');
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Runs the command; resolves to the exit code epochcast should end with. */
export async function runCommand(io: CliIo, command: readonly string[], options: RunOptions): Promise<number> {
  if (!options.telegram && !options.slack && !options.email && !options.ntfy && options.webhook === undefined) {
    io.err('epochcast run: choose at least one of --telegram --slack --email --ntfy --webhook\n(add --help for usage)\n');
    return 2;
  }
  const [file] = command;
  if (file === undefined || file === '') {
    io.err('epochcast run: no command to run. Usage: epochcast run [options] -- <command…>\n(add --help for usage)\n');
    return 2;
  }
  const line = commandLine(command);
  const runName = options.name ?? truncate(line, NAME_MAX);
  if (options.webhook !== undefined && !isHttpUrl(options.webhook)) {
    // Not echoed: a webhook URL is a credential (Slack's and Discord's are).
    io.err(`${WHERE}: --webhook must be an http:// or https:// URL; received a string of ${options.webhook.length} characters.\n`);
    return EXIT.usage;
  }
  let notifiers: Notifier[];
  try {
    notifiers = notifiersFromFlags(options, { runName, telegramCommands: RUN_TELEGRAM_COMMANDS });
  } catch (error) {
    if (!isConfigError(error)) throw error;
    return reportError(io.err, WHERE, error);
  }
  try {
    return await runReported(io, command, options, notifiers, { line, runName });
  } finally {
    await closeNotifiers(notifiers);
  }
}

/** The Telegram commands a command's run obeys: all but /lr, which only a Learner in this process can honour. */
const RUN_TELEGRAM_COMMANDS: readonly TelegramCommand[] = TELEGRAM_COMMANDS.filter((c) => c !== 'lr');

async function runReported(
  io: CliIo,
  command: readonly string[],
  options: RunOptions,
  notifiers: Notifier[],
  { line, runName }: { line: string; runName: string },
): Promise<number> {
  const [file = '', ...args] = command;
  const schedule = `$ ${truncate(line, 200)}`;
  // Not found: say so as a shell does, and report only that (no start message for a typo).
  if (!(await findExecutable(file, io.env.PATH))) {
    io.err(`epochcast run: command not found: ${file}\n`);
    const run = jobRunInfo({ name: runName, schedule });
    await notifyAll(notifiers, jobNotification('error', run, 'failed', { error: { name: 'command not found', message: file } }));
    return 127;
  }

  let group: CommandGroup | undefined;
  const graceS = options.stopGrace ?? STOP_GRACE_S;
  const reader = new TrainingOutputReader((event) => onOutputEvent(event), { tailLines: TAIL_LINES });
  const training = new ReportedTraining(notifiers, {
    schedule,
    stopAction: `epochcast sends SIGINT to its command, and SIGTERM if it still runs ${graceS} s later`,
    onStop: () => group?.requestStop(graceS),
    statusLines: () => reader.tail().slice(-STATUS_LINES),
    onCallbackError: (error) => io.err(`epochcast run: ${error.message}\n`),
  });
  const alerts = new AlertGate(notifiers, (text) => io.err(`epochcast run: ${text}\n`));
  const applier = new EventApplier(training);
  let stall: StallWatch | undefined;
  const onOutputEvent = (event: OutputEvent): void => {
    if (event.kind !== 'alert') training.markFirstEpochStart();
    switch (event.kind) {
      case 'start':
        if (event.epochs !== undefined) training.setTotalEpochs(event.epochs);
        if (event.name !== undefined && options.name === undefined) training.rename(event.name);
        return;
      case 'epochs':
        training.setTotalEpochs(event.total);
        return;
      case 'epoch':
        stall?.progress();
        applier.epoch(event);
        return;
      case 'batch':
        stall?.progress();
        applier.batch(event.loss);
        return;
      case 'progress':
        stall?.progress();
        return;
      case 'alert':
        alerts.fromCommand(event.text, event.level);
        return;
    }
  };

  // The configuration is checked before the command starts (a rejected token fails now, not after ten hours of silence).
  try {
    await training.begin();
  } catch (error) {
    // A check refused the configuration (a rejected token): a setting to fix, as a missing one is.
    io.err(prefixed(WHERE, `${cliMessage(error instanceof Error ? error.message : String(error))}; the command was not started`));
    return EXIT.usage;
  }
  const pass = options.passEnv ?? [];
  for (const name of unsetNames(io.env, pass)) io.err(`epochcast run: --pass-env ${name}: no such variable is set, nothing passed\n`);
  const child = spawn(file, args, {
    stdio: ['inherit', 'pipe', 'pipe'],
    // Python block-buffers a pipe: without this, its output would arrive in lumps, or be lost on a crash.
    env: { PYTHONUNBUFFERED: '1', ...commandEnv(io.env, pass) },
    detached: GROUPS,
  });
  group = new CommandGroup(child, options.killAfter);
  if (options.stall !== undefined)
    stall = new StallWatch(
      options.stall,
      (text, level) => alerts.send(text, level),
      () => stallContext(training, reader),
    );
  const relays = [
    relay('stdout', child.stdout, process.stdout, (chunk) => {
      stall?.output();
      return reader.push('stdout', chunk);
    }),
    relay('stderr', child.stderr, process.stderr, (chunk) => {
      stall?.output();
      return reader.push('stderr', chunk);
    }),
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
  stall?.stop();
  for (const stream of relays) stream.finish(reader.end(stream.name));
  await applier.settled();

  let exitCode: number;
  if ('spawnError' in outcome) {
    const code = outcome.spawnError.code;
    exitCode = 126;
    const what = `cannot run the command (${code ?? outcome.spawnError.message})`;
    io.err(`epochcast run: ${what}: ${file}\n`);
    await finish(training, group, { status: 'failed', error: named(what, file) });
    return exitCode;
  }
  const { code, signal } = outcome;
  exitCode = signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1);
  const how = signal ? `killed by ${signal}` : `exit code ${exitCode}`;
  const lines = reader.tail();
  const last = [...lines].reverse().find((l) => l.trim() !== '');
  const fallback = signal ? `${line} was killed by ${signal}` : `${line} exited with code ${exitCode}`;
  const stopReason = stoppedBy(group, options.killAfter);
  if (training.stopRequested) {
    await finish(training, group, { status: 'stopped', outcome: how });
  } else if (stopReason !== undefined) {
    // Told to stop, however the command then ended: an interrupt, with how it ended.
    await finish(training, group, {
      status: 'interrupted',
      reason: stopReason,
      outcome: how,
      ...(exitCode === 0 ? {} : { error: named(how, last ?? fallback, lines.join('\n')) }),
    });
  } else if (exitCode === 0) {
    await finish(training, group, { status: 'completed', outcome: how });
  } else {
    await finish(training, group, { status: 'failed', outcome: how, error: named(how, last ?? fallback, lines.join('\n')) });
  }
  return exitCode;
}

/** The end message, sent and waited for (bounded by the notifiers' flush timeout); signals are epochcast's again after. */
async function finish(training: ReportedTraining, group: CommandGroup, end: ReportedEnd): Promise<void> {
  try {
    await training.end(end);
  } finally {
    group.release();
  }
}

function named(name: string, message: string, stack?: string): Error {
  const error = new Error(message);
  error.name = name;
  error.stack = stack ?? message;
  return error;
}

/** What a stall alert adds: the latest epoch read, and the last line shown. */
function stallContext(training: ReportedTraining, reader: TrainingOutputReader): string {
  const parts: string[] = [];
  const epochs = training.recorder.history.length;
  if (epochs > 0) {
    const total = training.state.totalEpochs;
    parts.push(`Last epoch read: ${epochs}${total > 0 ? `/${total}` : ''}.`);
  }
  const last = [...reader.tail()].reverse().find((l) => l.trim() !== '');
  if (last !== undefined) parts.push(`Last output: ${truncate(last, 200)}`);
  return parts.join(' ');
}

/**
 * Applies the reader's epochs and losses to the training in order, off the output's path: the
 * reader emits synchronously as chunks arrive; hooks run one event after another. Losses that
 * arrive while an event is being applied are applied together next, so the queue holds at most
 * one batch of them, however fast the command prints.
 */
class EventApplier {
  private chain: Promise<void> = Promise.resolve();
  private losses: number[] = [];
  private lossesQueued = false;
  private lastSampleAt = Number.NEGATIVE_INFINITY;
  private skipped: number | undefined;

  constructor(private readonly training: ReportedTraining) {}

  epoch(event: Extract<OutputEvent, { kind: 'epoch' }>): void {
    const report: EpochReport = { epoch: event.epoch, metrics: event.metrics };
    if (event.total !== undefined) report.totalEpochs = event.total;
    if (event.trainLoss !== undefined) report.trainLoss = event.trainLoss;
    if (event.validLoss !== undefined) report.validLoss = event.validLoss;
    if (event.lr !== undefined) report.lr = event.lr;
    if (this.skipped !== undefined) this.enqueueLoss(this.skipped);
    this.skipped = undefined;
    this.queue(async () => {
      await this.applyLosses();
      await this.training.epoch(report);
    });
  }

  /**
   * A loss read: a point of the plot at most every LOSS_SAMPLE_MS (a bar redrawn a million times
   * would otherwise cost a hook call per redraw); the one in between that came last is kept for
   * the epoch's end, whose train loss it may be.
   */
  batch(loss: number): void {
    const now = performance.now();
    if (now - this.lastSampleAt < LOSS_SAMPLE_MS) {
      this.skipped = loss;
      return;
    }
    this.lastSampleAt = now;
    this.skipped = undefined;
    this.enqueueLoss(loss);
  }

  private enqueueLoss(loss: number): void {
    if (this.losses.length < MAX_QUEUED_LOSSES) this.losses.push(loss);
    if (this.lossesQueued) return;
    this.lossesQueued = true;
    this.queue(() => this.applyLosses());
  }

  /** Resolves once everything queued so far has been applied. */
  settled(): Promise<void> {
    return this.chain;
  }

  private async applyLosses(): Promise<void> {
    this.lossesQueued = false;
    const losses = this.losses;
    this.losses = [];
    for (const loss of losses) await this.training.batch(loss);
  }

  private queue(step: () => Promise<void>): void {
    // The training reports hook failures itself; nothing here may break the chain.
    this.chain = this.chain.then(step).catch(() => {});
  }
}

/** Least time between two points of the loss plot read from the output. */
const LOSS_SAMPLE_MS = 50;

/** Losses waiting for their turn at most; the reader samples per chunk, so this is only reached by a pathological output. */
const MAX_QUEUED_LOSSES = 10_000;

/**
 * Alerts to every notifier: the stall watch's, and the command's own protocol alerts — those at
 * most one per PROTOCOL_ALERT_GAP_MS (a script printing alerts in a loop must not buzz the phone
 * every second), the ones in between counted and mentioned in the next.
 */
class AlertGate {
  private lastProtocolAlert = Number.NEGATIVE_INFINITY;
  private suppressed = 0;

  constructor(
    private readonly notifiers: readonly Notifier[],
    private readonly warn: (text: string) => void,
  ) {}

  send(text: string, level: AlertLevel): void {
    for (const notifier of this.notifiers) notifier.alert(text, { level });
  }

  fromCommand(text: string, level: AlertLevel): void {
    const now = Date.now();
    if (now - this.lastProtocolAlert < PROTOCOL_ALERT_GAP_MS) {
      if (this.suppressed === 0)
        this.warn(
          `the command sends alerts faster than one per ${PROTOCOL_ALERT_GAP_MS / 1000} s; the ones in between are counted, not sent`,
        );
      this.suppressed += 1;
      return;
    }
    this.lastProtocolAlert = now;
    const more = this.suppressed > 0 ? ` (${this.suppressed} more alert${this.suppressed === 1 ? '' : 's'} since the last one)` : '';
    this.suppressed = 0;
    this.send(`${text}${more}`, level);
  }
}

const PROTOCOL_ALERT_GAP_MS = 10_000;

/** Whether `file` names an executable file: a path as given, else a file in one of PATH's directories (PATHEXT on Windows). */
export async function findExecutable(file: string, pathVariable = ''): Promise<boolean> {
  return (await which(file, { nothrow: true, path: pathVariable })) !== null;
}

/** `interrupted by SIGTERM` when epochcast passed a stop signal on, with the SIGKILL if one followed. */
function stoppedBy(stop: StopState, killAfter = KILL_AFTER_S): string | undefined {
  const first = stop.received[0];
  if (first === undefined) return undefined;
  return stop.killed ? `interrupted by ${first}; still running ${killAfter} s later, killed with SIGKILL` : `interrupted by ${first}`;
}

/**
 * Passes the command's output on to epochcast's own stream as it comes — as `read` returns it (the
 * chunk without its protocol lines) — and to the reader. A stream that fails (EPIPE: `epochcast run
 * -- cmd | head -1` after its line) is dropped, not fatal: the output is still read to its end — the
 * command never blocks on a full pipe — and kept for the end message.
 */
function relay(
  name: 'stdout' | 'stderr',
  source: Readable,
  target: Writable,
  read: (chunk: Buffer) => Buffer,
): { name: 'stdout' | 'stderr'; finish(rest: Buffer): void } {
  let open = true;
  const close = () => {
    open = false;
    source.resume();
  };
  const write = (chunk: Buffer) => {
    if (chunk.length === 0 || !open || target.destroyed || !target.writable) return;
    if (!target.write(chunk)) {
      source.pause();
      target.once('drain', () => source.resume());
    }
  };
  target.on('error', close);
  source.on('data', (chunk: Buffer) => write(read(chunk)));
  return {
    name,
    finish: (rest) => {
      // What the reader still held (an unfinished line that looked like a protocol line) goes out now.
      write(rest);
      target.off('error', close);
    },
  };
}
