/**
 * How every command says what went wrong, and with which exit code (the CLI's README documents
 * both): one prefix, `epochcast <command>: `, and the setting named as a user of the command sets
 * it — an environment variable or a flag. The plugins' ConfigErrors are written for library users:
 * they start with the class that threw (`TelegramCallback: `) and name a constructor option beside
 * the variable (`Pass { token } or set TELEGRAM_BOT_TOKEN`); `cliMessage` rewrites those forms.
 * Loads no plugin and no tfjs: `--help` and `telegram chats` stay fast.
 */
import { ConfigError } from '@epochcast/core/errors';
import { redactSecrets } from '@epochcast/notify/secrets';

/** Exit codes: done, failed, and a usage or configuration error (a setting to fix; nothing was done). */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Whether an error is a configuration error of a plugin (by class, or by name across package copies). */
export function isConfigError(error: unknown): error is Error {
  return error instanceof ConfigError || (error instanceof Error && error.name === 'ConfigError');
}

/** Constructor options a command sets from a flag: `{ token: '--token' }` for `telegram chats`. */
export type OptionFlags = Readonly<Record<string, string>>;

// `TelegramCallback: `, `selectBackend: `, `ReportedTraining.begin: `: where the library threw. A
// service's name (`telegram: `, `Slack: `) has no capital inside and stays: it says which one failed.
const LIBRARY_PREFIX = /^[A-Za-z][a-z]*[A-Z][A-Za-z]*(?:\.[a-z][A-Za-z]*)?: /;
const VARIABLE = '[A-Z][A-Z0-9_]*[A-Z0-9]';
const OPTION = '[a-z][A-Za-z]*';

/**
 * A library's message as the CLI prints it (without any prefix): its location prefix removed, each
 * constructor option replaced by its variable or, where `flags` maps it, by the flag; secrets
 * registered anywhere in the process masked.
 */
export function cliMessage(message: string, flags: OptionFlags = {}): string {
  return namingSettings(message.replace(LIBRARY_PREFIX, ''), flags);
}

/**
 * A message with each constructor option named by its variable or flag, in the forms the plugins
 * word them (test/cli-errors.test.ts runs each command against them); a service's answer is quoted
 * as it is otherwise.
 */
export function namingSettings(message: string, flags: OptionFlags = {}): string {
  const option = (name: string, variable: string) => (flags[name] ? `${flags[name]} / ${variable}` : variable);
  const text = message
    // "… into TELEGRAM_BOT_TOKEN (or pass { token })", "(or the token option)" → "… (or --token)" where mapped, else nothing
    .replace(new RegExp(` \\(or pass \\{ (${OPTION}) \\}\\)| \\(or the (${OPTION}) option\\)`, 'g'), (_, pass?: string, the?: string) => {
      const flag = flags[pass ?? the ?? ''];
      return flag ? ` (or ${flag})` : '';
    })
    // "Pass { token } or set TELEGRAM_BOT_TOKEN" → "Set TELEGRAM_BOT_TOKEN"
    .replace(new RegExp(`Pass \\{[^}]*\\}(?: \\(or \\{[^}]*\\}\\))? or set (${VARIABLE})`, 'g'), 'Set $1')
    // "Set NTFY_URL or pass { url }: …", "…; or pass { token, channel } or { webhookUrl }.", ", or pass { proxy: false } to send directly"
    .replace(/[;,]? or pass \{[^}]*\}(?: or \{[^}]*\})*(?: to [^.;:]*)?/g, '')
    // "slackApiUrl (SLACK_API_URL)", "apiRoot (or TELEGRAM_API_ROOT)" → "SLACK_API_URL", "TELEGRAM_API_ROOT"
    .replace(new RegExp(`\\b(${OPTION}) \\((?:or )?(${VARIABLE})\\)`, 'g'), (_, name: string, v: string) => option(name, v))
    // "(token / SLACK_BOT_TOKEN)", "(option to or EMAIL_TO)" → "(SLACK_BOT_TOKEN)", "(EMAIL_TO)"
    .replace(
      new RegExp(`\\((?:option )?(${OPTION})(?: /| or) (${VARIABLE})\\)`, 'g'),
      (_, name: string, v: string) => `(${option(name, v)})`,
    );
  return redactSecrets(text);
}

/** `epochcast <command>: <message>\n`, the message's own copy of the prefix dropped: one prefix, never two. */
export function prefixed(where: string, message: string): string {
  const text = message.startsWith(`${where}: `) ? message.slice(where.length + 2) : message;
  return `${where}: ${text}\n`;
}

/**
 * Prints what an error says under the command's prefix and returns the exit code: 2 for a
 * ConfigError (a missing or malformed setting), 1 for anything else.
 */
export function reportError(err: (text: string) => void, where: string, error: unknown, flags: OptionFlags = {}): number {
  const message = error instanceof Error ? error.message : String(error);
  err(prefixed(where, cliMessage(message, flags)));
  return isConfigError(error) ? EXIT.usage : EXIT.failed;
}
