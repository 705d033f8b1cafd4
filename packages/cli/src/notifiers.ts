/**
 * The notifiers the CLI's flags ask for, each configured from its plugin's environment variables.
 * The notifications of a job that is not a fit (`run`, `test`) come from @epochcast/notify
 * (`jobRunInfo`, `jobNotification`, `notifyAll`): the same shape `notifyRun` sends.
 */
import { EmailCallback } from '@epochcast/email';
import { type Notifier, type NotifierLogger, WebhookCallback } from '@epochcast/notify';
import { NtfyCallback } from '@epochcast/ntfy';
import { SlackCallback } from '@epochcast/slack';
import { TelegramCallback, type TelegramCommand } from '@epochcast/telegram';
export type Service = 'telegram' | 'slack' | 'email' | 'ntfy';
export const SERVICES: readonly Service[] = ['telegram', 'slack', 'email', 'ntfy'];

export interface NotifierFlags {
  telegram?: boolean;
  slack?: boolean;
  email?: boolean;
  ntfy?: boolean;
  webhook?: string;
}

/** How the CLI's notifiers are set up beyond their environment variables. */
export interface CliNotifierOptions {
  /** Warnings go here (default: the plugin's, stderr). */
  logger?: NotifierLogger;
  /** Names the run in every message. */
  runName?: string;
  /** The Telegram commands the run obeys (default none: `epochcast test` sends one message and leaves). */
  telegramCommands?: readonly TelegramCommand[];
}

/** Options every CLI notifier shares: no Ctrl-C handling of a fit (epochcast passes signals on to its command). */
function common(options: CliNotifierOptions) {
  return {
    handleSignals: false,
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.runName ? { runName: options.runName } : {}),
  };
}

/** One notifier of a service, configured from the environment (the plugin's own variables). */
export function serviceNotifier(service: Service, options: CliNotifierOptions = {}): Notifier {
  switch (service) {
    case 'telegram':
      return new TelegramCallback({ ...common(options), commands: options.telegramCommands ?? false });
    case 'slack':
      return new SlackCallback(common(options));
    case 'email':
      return new EmailCallback(common(options));
    case 'ntfy':
      return new NtfyCallback(common(options));
  }
}

/**
 * The notifiers the flags ask for, each configured from its environment variables. A missing or
 * malformed setting is the plugin's ConfigError (rethrown as is).
 */
export function notifiersFromFlags(flags: NotifierFlags, options: CliNotifierOptions = {}): Notifier[] {
  const notifiers: Notifier[] = SERVICES.filter((s) => flags[s]).map((s) => serviceNotifier(s, options));
  if (flags.webhook !== undefined) notifiers.push(new WebhookCallback({ url: flags.webhook, ...common(options) }));
  return notifiers;
}

/** Closes what keeps sockets open (a pooled SMTP transport); never throws. */
export async function closeNotifiers(notifiers: readonly Notifier[]): Promise<void> {
  await Promise.all(notifiers.map((n) => n.close().catch(() => {})));
}
