/**
 * `epochcast test --telegram|--slack|--email|--ntfy`: checks a configuration the way a run would — the
 * plugin's own check first (Telegram getMe, Slack auth.test, SMTP login), then one short message
 * through the real plugin — and says what is wrong when it fails.
 */

import { EmailCallback, type EmailCallbackOptions } from '@epochcast/email';
import { jobNotification, jobRunInfo, type Notifier, type NotifierLogger } from '@epochcast/notify';
import { NtfyCallback, type NtfyCallbackOptions } from '@epochcast/ntfy';
import { SlackCallback, type SlackCallbackOptions } from '@epochcast/slack';
import { TelegramCallback, type TelegramCallbackOptions } from '@epochcast/telegram';
import { cliMessage, EXIT, isConfigError, namingSettings } from './cli-errors.js';
import { SERVICES, type Service } from './notifiers.js';
import type { CliIo } from './program.js';

const CHECK_TIMEOUT_MS = 10_000;

function makeNotifier(service: Service, logger: NotifierLogger): Notifier {
  // One quick retry: a test should answer in seconds, not back off for a minute.
  const common = { handleSignals: false, retries: 1, timeoutMs: CHECK_TIMEOUT_MS, flushTimeoutMs: 3 * CHECK_TIMEOUT_MS, logger };
  switch (service) {
    case 'telegram':
      return new TelegramCallback({ ...common, commands: false } satisfies TelegramCallbackOptions);
    case 'slack':
      return new SlackCallback(common satisfies SlackCallbackOptions);
    case 'email':
      return new EmailCallback(common satisfies EmailCallbackOptions);
    case 'ntfy':
      return new NtfyCallback(common satisfies NtfyCallbackOptions);
  }
}

/** Where the test message went, in the words of each service. */
function destination(notifier: Notifier): string {
  if (notifier instanceof TelegramCallback) return `chat ${notifier.chatId}`;
  if (notifier instanceof SlackCallback)
    return notifier.mode === 'webhook' ? "the incoming webhook's channel" : `channel ${notifier.channel}`;
  if (notifier instanceof EmailCallback) return notifier.to.join(', ');
  if (notifier instanceof NtfyCallback) return notifier.destination;
  return notifier.service;
}

const LABEL: Record<Service, string> = { telegram: 'Telegram', slack: 'Slack', email: 'e-mail', ntfy: 'ntfy' };

type Outcome = { ok: true; where: string } | { ok: false; reason: string; setting?: true };

/**
 * Checks each chosen service; 0 when every one got its message, 2 when a setting is missing or
 * malformed (or none was chosen), else 1 when one failed (refused, unreachable).
 */
export async function testNotifiers(io: CliIo, options: Partial<Record<Service, boolean>>): Promise<number> {
  const chosen = SERVICES.filter((s) => options[s]);
  if (chosen.length === 0) {
    io.err('epochcast test: choose at least one of --telegram --slack --email --ntfy\n(add --help for usage)\n');
    return EXIT.usage;
  }
  let exitCode: number = EXIT.ok;
  for (const service of chosen) {
    const outcome = await testOne(service);
    if (outcome.ok) io.out(`✓ ${LABEL[service]}: test message delivered to ${outcome.where}\n`);
    else {
      // One line per service, its label the only prefix.
      io.err(`✗ ${LABEL[service]}: ${outcome.reason}\n`);
      exitCode = Math.max(exitCode, outcome.setting ? EXIT.usage : EXIT.failed);
    }
  }
  return exitCode;
}

async function testOne(service: Service): Promise<Outcome> {
  const warnings: string[] = [];
  let check: Notifier;
  try {
    check = makeNotifier(service, { warn: (line) => warnings.push(line) });
  } catch (error) {
    // A missing or malformed setting, found before anything is sent: worded for the command line.
    if (isConfigError(error)) return { ok: false, reason: cliMessage(error.message), setting: true };
    throw error;
  }
  try {
    try {
      await check.checkConfiguration();
    } catch (error) {
      return { ok: false, reason: namingSettings(error instanceof Error ? error.message : String(error)) };
    }
    const run = jobRunInfo({ name: 'epochcast test', schedule: 'a test message from `epochcast test`: this configuration works' });
    const report = await check.notify(jobNotification('end', run, 'completed'));
    const failure = report.failed[0];
    // The base words a refusal for a log line ("refused: … (not retried)"); here it is the answer.
    if (failure)
      return { ok: false, reason: namingSettings(check.redact(failure.reason.replace(/^refused: /, '').replace(/ \(not retried\)$/, ''))) };
    if (!report.delivered.includes('end')) return { ok: false, reason: warnings.join('; ') || 'the message was not sent' };
    return { ok: true, where: destination(check) };
  } finally {
    await check.close();
  }
}
