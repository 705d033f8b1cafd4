/**
 * What the commands say for themselves: their list and descriptions (/help, the menu Telegram
 * shows when the user types `/`), and the list of runs (/runs).
 */
import type { RunRecord } from '@epochcast/notify';
import type { TelegramMarkup as Markup } from './render.js';
import { isRunCommand } from './routing.js';

/** The commands a chat can send running fits. */
export const TELEGRAM_COMMANDS = ['status', 'plot', 'stop', 'lr', 'quiet', 'verbose', 'runs', 'help'] as const;
export type TelegramCommand = (typeof TELEGRAM_COMMANDS)[number];

const DESCRIPTIONS: Readonly<Record<TelegramCommand, string>> = {
  status: 'the latest epoch table',
  plot: 'the loss plot so far',
  stop: 'stop training after the current batch (asks first)',
  lr: 'the learning rate; /lr 3e-4 sets it',
  quiet: 'mute the epoch updates',
  verbose: 'resume the epoch updates',
  runs: 'the active runs sharing this bot',
  help: 'this list',
};

/** The command menu Telegram shows when the user types `/`. */
export function commandMenu(enabled: ReadonlySet<TelegramCommand>): { command: string; description: string }[] {
  return TELEGRAM_COMMANDS.filter((c) => enabled.has(c)).map((c) => ({ command: c, description: DESCRIPTIONS[c] }));
}

/** The /runs answer: every run sharing the bot, with where it is. */
export function runsText(m: Markup, runs: readonly RunRecord[]): string {
  if (runs.length === 0) return m.text('No run is active.');
  const now = Date.now();
  const lines = runs.map((r) => {
    const metric = r.metric ? ` · ${r.metric.name} ${formatMetricValue(r.metric.value)}` : '';
    const when = (r.status ?? 'running') === 'running' ? formatAge(now - r.startedAt) : `${r.status}, sending its last messages`;
    return `• ${m.bold(r.name)} ${m.code(r.id)}${m.text(` · ${r.host} · epoch ${r.epoch}/${r.totalEpochs}${metric} · ${when}`)}`;
  });
  const title = runs.length === 1 ? '1 active run' : `${runs.length} active runs`;
  const hint = runs.length > 1 ? `\n\n${m.text('Name one after a command: /status <id or name prefix>.')}` : '';
  return `${m.bold(`🏃 ${title}`)}\n${lines.join('\n')}${hint}`;
}

/** The /help answer: the enabled commands, and how to name a run when several share the bot. */
export function helpText(m: Markup, enabled: ReadonlySet<TelegramCommand>, runs: readonly RunRecord[]): string {
  const lines = TELEGRAM_COMMANDS.filter((c) => enabled.has(c) || c === 'help').map(
    (c) => `/${c}${isRunCommand(c) && runs.length > 1 ? ' [run]' : ''} ${m.text(`— ${DESCRIPTIONS[c]}`)}`,
  );
  const [only] = runs;
  const head = runs.length === 1 && only ? `${only.name} (${only.id})` : `${runs.length} active runs`;
  const hint = runs.length > 1 ? `\n\n${m.text('[run] is a run id or the start of a run name; without it you are asked which run.')}` : '';
  return `${m.bold(head)}\n${lines.join('\n')}${hint}`;
}

function formatMetricValue(value: number): string {
  return Math.abs(value) >= 1e-3 && Math.abs(value) < 1e4 ? value.toFixed(4) : value.toPrecision(3);
}

function formatAge(ms: number): string {
  const min = Math.floor(ms / 60_000);
  if (min < 1) return 'started just now';
  if (min < 60) return `started ${min} min ago`;
  return `started ${Math.floor(min / 60)} h ${min % 60} min ago`;
}
