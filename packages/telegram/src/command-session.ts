/**
 * One run's side of the chat's commands, for one fit: while the run is the elected leader of the
 * runs sharing the bot it polls getUpdates for all of them (`CommandPoller`), and whatever is routed
 * to it — by its own poller or another run's — it answers about itself (`RunCommands`). Replies go
 * at once but book a slot on the chat's shared budget.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { TrainingState } from '@epochcast/core';
import { formatLr, type TrainingHost } from '@epochcast/core';
import type { Membership, Notification, RunInfo, ScopeMessage, ScopeRequest } from '@epochcast/notify';
import { type Api, type Chat, TelegramApiError } from 'node-telegram-bot-api';
import { describeError } from './client.js';
import { CommandPoller, commandMenu, type RunDirectory, RunsUnavailable, type TelegramCommand } from './commands.js';
import { renderTelegram, TELEGRAM_MAX_MESSAGE, type TelegramMarkup } from './render.js';
import { type ChatRef, parseForwarded, type UserRef } from './routing.js';
import { RunCommands } from './run-commands.js';

export interface CommandSessionOptions {
  api: Api;
  markup: TelegramMarkup;
  enabled: ReadonlySet<TelegramCommand>;
  pollTimeoutSec: number;
  /** Time bound of a request that is a nicety (the command menu). */
  timeoutMs: number;
  /** The chat's least interval between messages, booked on the shared budget for each reply. */
  minSendIntervalMs: number;
  run: RunInfo;
  state: TrainingState;
  isAllowed(chat: Chat | ChatRef): boolean;
  isAllowedUser(user: UserRef | undefined): boolean;
  botUsername(): string | undefined;
  learnBotUsername(): Promise<string | undefined>;
  /** This run's membership of the bot's scope, once the notifier has joined it. */
  membership(): Promise<Membership | undefined> | undefined;
  setQuiet(quiet: boolean): void;
  /** One warning, prefixed and redacted by the notifier. */
  warn(text: string): void;
  redact(text: string): string;
}

export class CommandSession {
  /** This run's answers to the commands routed to it; none when commands are turned off. */
  private readonly answers: RunCommands | undefined;
  /** The getUpdates poller, while this run leads the runs sharing the bot. */
  private poller: CommandPoller | undefined;
  private stopping: Promise<void> = Promise.resolve();
  private ending = false;

  constructor(private readonly o: CommandSessionOptions) {
    this.answers = o.enabled.size > 0 ? this.runCommands() : undefined;
  }

  /** What this run asks of the runs sharing the bot: routed messages, and the leader's role when it listens. */
  scopeRequest(scope: string): ScopeRequest {
    return {
      scope,
      onMessage: (message) => this.onForwarded(message),
      ...(this.answers ? { leadership: { onElected: () => this.lead(), onDeposed: () => void this.stopPolling() } } : {}),
    };
  }

  /** Whether this run polls Telegram for commands now. */
  get polling(): boolean {
    return this.poller !== undefined;
  }

  /** The fit is over: hand the polling over now; what is routed here is answered until the run leaves. */
  async end(): Promise<void> {
    this.ending = true;
    await this.stopPolling();
  }

  private lead(): void {
    const { api } = this.o;
    if (this.ending || this.poller) return;
    this.poller = new CommandPoller({
      api,
      markup: this.o.markup,
      enabled: this.o.enabled,
      directory: this.directory(),
      startedAtSec: Math.floor(this.o.state.startedAt / 1000),
      pollTimeoutSec: this.o.pollTimeoutSec,
      isAllowed: (chat) => this.o.isAllowed(chat),
      isAllowedUser: (user) => this.o.isAllowedUser(user),
      botUsername: () => this.o.botUsername(),
      learnBotUsername: () => this.o.learnBotUsername(),
      warn: (text) => this.o.warn(text),
      paced: (request) => this.paced(request),
    });
    this.poller.start();
    // The command menu Telegram shows when the user types "/". Best effort: it is a nicety.
    api.setMyCommands({ commands: commandMenu(this.o.enabled) }, AbortSignal.timeout(this.o.timeoutMs)).catch(() => {});
  }

  /** Stops the poller; a second call (deposed, then the fit's end) waits for the same stop. */
  private stopPolling(): Promise<void> {
    const poller = this.poller;
    this.poller = undefined;
    if (poller) this.stopping = poller.stop();
    return this.stopping;
  }

  /** The runs sharing the bot, as the poller sees them (the membership may be elected before `join` resolves). */
  private directory(): RunDirectory {
    const joining = this.o.membership();
    return {
      runs: async () => {
        const membership = await joining;
        if (!membership) return [];
        return membership.runs().catch((error: unknown) => {
          throw new RunsUnavailable(error instanceof Error ? error.message : String(error));
        });
      },
      sendTo: async (runId, message) => (await joining)?.sendTo(runId, message) ?? false,
    };
  }

  /** A command or button press routed to this run by the leader's poller (maybe this run's own). */
  private onForwarded(message: ScopeMessage): void {
    const forwarded = parseForwarded(message);
    const answers = this.answers;
    if (!forwarded || !answers) return;
    const handled = forwarded.kind === 'command' ? answers.command(forwarded) : answers.button(forwarded);
    handled.catch((error: unknown) => this.o.warn(`could not answer a command: ${describeError(error)}`));
  }

  /**
   * A reply to a command goes at once (someone is waiting for it) but books a slot on the budget the
   * runs on this bot share, so their own messages make room; a 429 is waited out once, briefly.
   */
  private async paced<T>(request: () => Promise<T>): Promise<T> {
    const gap = this.o.minSendIntervalMs;
    if (gap > 0)
      void this.o
        .membership()
        ?.then((membership) => membership?.reserve(gap))
        .catch(() => {});
    try {
      return await request();
    } catch (error) {
      if (!(error instanceof TelegramApiError && error.errorCode === 429)) throw error;
      await sleep(Math.min((error.retryAfter ?? 1) * 1000, 10_000));
      return request();
    }
  }

  private runCommands(): RunCommands {
    return new RunCommands({
      api: this.o.api,
      markup: this.o.markup,
      runId: this.o.run.id,
      enabled: this.o.enabled,
      learner: this.o.state.learner,
      isAllowed: (chat) => this.o.isAllowed(chat),
      isAllowedUser: (user) => this.o.isAllowedUser(user),
      runLabel: () => this.runLabel(),
      statusText: () => this.statusText(),
      plotCaption: () => this.plotCaption(),
      setQuiet: (quiet) => this.o.setQuiet(quiet),
      warn: (text) => this.o.warn(text),
      paced: (request) => this.paced(request),
    });
  }

  /** `mnist-mlp (a1b2c3d4)`: names the run in every reply. */
  private runLabel(): string {
    return this.o.redact(`${this.o.run.name} (${this.o.run.id})`);
  }

  /**
   * The /status reply: where the fit is now, then the epoch table so far, then the lines the
   * training adds (a reported training's last output lines).
   */
  private statusText(): string {
    const { markup: m, run, state } = this.o;
    const learner = state.learner;
    const live = learner.state;
    const history = [...learner.recorder.history];
    const elapsed = Math.round((Date.now() - live.startedAt) / 1000);
    const epoch = `epoch ${epochOf(live.epoch + 1, live.totalEpochs)}`;
    const where =
      live.status !== 'running'
        ? live.status
        : history.at(-1)?.epoch === live.epoch
          ? `${epoch} done`
          : !Number.isFinite(live.numBatches)
            ? `${epoch} running`
            : live.training
              ? `${epoch}, batch ${live.batch + 1}/${live.numBatches}`
              : `${epoch}, validating`;
    const loss = Number.isFinite(live.smoothLoss) ? ` · loss ${live.smoothLoss.toPrecision(4)}` : '';
    const lr = learner.lrSetElsewhere && !Number.isFinite(live.lr) ? '' : ` · lr ${formatLr(live.lr)}`;
    const now = `📊 ${this.runLabel()} · ${where}${loss}${lr} · ${elapsed}s in`;
    const tail = this.statusLines(learner);
    if (history.length === 0) return this.o.redact(`${m.bold(now)}\n${m.text('No epoch has finished yet.')}${tail}`);
    const head = `${m.bold(now)}\n\n`;
    const n: Notification = {
      event: 'epoch',
      run,
      stats: history.at(-1),
      history,
      metricNames: [...learner.metricNames],
      durationMs: Date.now() - live.startedAt,
      status: 'running',
    };
    const body = renderTelegram(n, m, { maxLength: TELEGRAM_MAX_MESSAGE - head.length - tail.length, maxMessages: 1 })[0] ?? '';
    return this.o.redact(head + body + tail);
  }

  /** The training's own status lines, as a pre block of at most STATUS_TAIL_CHARS (the latest kept). */
  private statusLines(learner: TrainingHost): string {
    let lines: string[];
    try {
      lines = [...(learner.statusLines?.() ?? [])];
    } catch {
      return '';
    }
    while (lines.length > 0 && lines.join('\n').length > STATUS_TAIL_CHARS) lines = lines.slice(1);
    const text = lines.join('\n').slice(-STATUS_TAIL_CHARS);
    return text.trim() === '' ? '' : `\n\n${this.o.markup.text('Output:')}\n${this.o.markup.pre(text)}`;
  }

  private plotCaption(): string {
    const live = this.o.state.learner.state;
    const caption = `Loss so far · ${this.runLabel()} · epoch ${epochOf(live.epoch + 1, live.totalEpochs)}`;
    return this.o.markup.text(caption.slice(0, 900));
  }
}

/** Output lines a /status reply quotes at most, in characters: the table keeps the rest of the message. */
const STATUS_TAIL_CHARS = 1200;

/** `3/10`, or `3` while the planned number is not known (a reported training, before its output says). */
function epochOf(epoch: number, total: number): string {
  return total > 0 ? `${epoch}/${total}` : String(epoch);
}
