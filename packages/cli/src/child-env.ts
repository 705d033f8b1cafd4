/**
 * The environment `epochcast run` gives its command: the user's, minus epochcast's own service
 * variables. The command's output goes into every message, so a credential it can see is one a
 * stray `print(os.environ)` or a config dump sends to every service; what it needs, the user
 * names with `--pass-env`.
 */
import { InvalidArgumentError } from 'commander';

/**
 * The variables of epochcast's services and its own (`EPOCHCAST_*`, some holding credentials: the
 * webhook's signing key, a Redis URL with a password). Matched without case: on Windows
 * `telegram_bot_token` is the same variable.
 */
const WITHHELD = /^(TELEGRAM_|SLACK_|NTFY_|EPOCHCAST_)|^SMTP_URL$/i;

/**
 * Settings without a secret that a command using epochcast itself (a Node training script) needs
 * to behave as its sibling runs do: the same socket directory (else it would not find the runs
 * sharing its bot), the same backend, `EPOCHCAST_DISABLE` in CI. Any other `EPOCHCAST_*`, a future
 * one included, is withheld.
 */
const SETTINGS = new Set([
  'EPOCHCAST_SOCKET_DIR',
  'EPOCHCAST_REDIS_LEASE_MS',
  'EPOCHCAST_BACKEND',
  'EPOCHCAST_DISABLE',
  'EPOCHCAST_RUN_NAME',
  'EPOCHCAST_OUT',
]);

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PASS_ENV_FORMAT = 'expected NAME[,NAME…] such as TELEGRAM_CHAT_ID, a prefix such as TELEGRAM_*, or * for all';

/** A `--pass-env` value, checked: names, `PREFIX*` patterns or `*`, added to the earlier ones (the flag repeats). */
export function parsePassEnv(value: string, previous: readonly string[] = []): string[] {
  const items = value.split(',').map((item) => item.trim());
  for (const item of items) {
    if (item === '') throw new InvalidArgumentError(`an empty name; ${PASS_ENV_FORMAT}.`);
    const name = item.endsWith('*') ? item.slice(0, -1) : item;
    if (name !== '' && !NAME.test(name)) throw new InvalidArgumentError(`'${item}' is not a variable name; ${PASS_ENV_FORMAT}.`);
  }
  return [...previous, ...items];
}

function passes(patterns: readonly string[], key: string): boolean {
  const upper = key.toUpperCase();
  return patterns.some((p) => (p.endsWith('*') ? upper.startsWith(p.slice(0, -1).toUpperCase()) : upper === p.toUpperCase()));
}

/**
 * `env` without epochcast's service variables, except those `pass` names. Variables that hold
 * nothing (undefined) are dropped, as a spawn would.
 */
export function commandEnv(env: NodeJS.ProcessEnv, pass: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (WITHHELD.test(key) && !SETTINGS.has(key.toUpperCase()) && !passes(pass, key)) continue;
    out[key] = value;
  }
  return out;
}

/** The exact names in `pass` that `env` does not have: most likely a typo, worth a warning. */
export function unsetNames(env: NodeJS.ProcessEnv, pass: readonly string[]): string[] {
  const present = new Set(Object.keys(env).map((k) => k.toUpperCase()));
  return pass.filter((p) => !p.endsWith('*') && !present.has(p.toUpperCase()));
}
