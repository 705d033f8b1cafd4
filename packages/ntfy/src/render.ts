/**
 * What each ntfy message of a run says: its title (the run and what happened), the tags ntfy shows
 * as an emoji before the title, its priority, and the text, from the render kit (the headline, the
 * epoch table, the stack, the run details) in CommonMark or plain text.
 */
import { cut, headline, MARKDOWN, type Notification, notificationOutcome, type Outcome, oneLine, runLabel } from '@epochcast/notify';

/** A priority as ntfy's number: 1 min, 2 low, 3 default, 4 high, 5 urgent. */
export type PriorityNumber = 1 | 2 | 3 | 4 | 5;

/** Longest title: ntfy keeps any, but a phone shows one line of it. */
const TITLE_MAX = 200;

/** ntfy's tag for each outcome: an emoji short code, shown before the title. */
const OUTCOME_TAG: Readonly<Record<Exclude<Outcome, 'alert'>, string>> = {
  started: 'hourglass_flowing_sand',
  progress: 'chart_with_upwards_trend',
  completed: 'white_check_mark',
  stopped: 'stop_sign',
  failed: 'x',
  interrupted: 'warning',
};

const ALERT_TAG = { info: 'information_source', warning: 'warning', critical: 'rotating_light' } as const;

/** The tag of the plot's message. */
export const PLOT_TAG = 'chart_with_downwards_trend';

/** The words after the run's name in a title. */
const OUTCOME_WORDS: Readonly<Record<Outcome, string>> = {
  started: 'started',
  progress: 'epoch',
  completed: 'completed',
  stopped: 'stopped',
  failed: 'failed',
  interrupted: 'interrupted',
  alert: 'alert',
};

/** A message as ntfy's JSON publishing takes it, topic aside. */
export interface NtfyMessage {
  title: string;
  message: string;
  tags: string[];
  priority: PriorityNumber;
  markdown: boolean;
}

/** The emoji tag of a notification. */
export function tagsOf(n: Notification): string[] {
  if (n.event === 'alert') return [ALERT_TAG[n.alert?.level ?? 'warning']];
  return [OUTCOME_TAG[notificationOutcome(n) as Exclude<Outcome, 'alert'>]];
}

/**
 * How loud a notification is, around the configured `priority` (default 3): epochs low (2, no sound
 * or vibration), never louder than `priority`; a crash and a warning alert high (4), never quieter;
 * a critical alert urgent (5, which rings through Do Not Disturb where allowed); the rest `priority`.
 */
export function priorityFor(n: Notification, base: PriorityNumber): PriorityNumber {
  if (n.event === 'epoch') return Math.min(base, 2) as PriorityNumber;
  if (n.event === 'error') return Math.max(base, 4) as PriorityNumber;
  if (n.event === 'alert') {
    const level = n.alert?.level ?? 'warning';
    if (level === 'critical') return 5;
    if (level === 'warning') return Math.max(base, 4) as PriorityNumber;
  }
  return base;
}

/** "mnist-mlp · completed", "mnist-mlp · epoch 3/5": the run first, since a phone may cut the rest. */
export function titleOf(n: Notification): string {
  const outcome = notificationOutcome(n);
  const epoch = outcome === 'progress' && n.stats ? ` ${n.stats.epoch + 1}/${n.run.totalEpochs}` : '';
  return cut(`${runLabel(n)} · ${OUTCOME_WORDS[outcome]}${epoch}`, TITLE_MAX);
}

/** An epoch's text: its headline alone (losses and metrics), one line, as a push about progress should be. */
export function epochText(n: Notification): string {
  return oneLine(headline(n, { emoji: false }));
}

/** The plot's caption, without markup: "📉 mnist-mlp (a1b2c3d4) · losses". */
export function plotCaption(n: Notification): string {
  return cut(`Losses of ${runLabel(n)} (${oneLine(n.run.id)})`, TITLE_MAX);
}

/** The markup of full messages: CommonMark, or plain text when markdown is off. */
export function markupFor(markdown: boolean) {
  return markdown ? MARKDOWN : undefined;
}
