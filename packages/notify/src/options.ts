/**
 * The options every notifier shares, checked once at construction: a missing or malformed setting
 * is a ConfigError naming the option and the fix, before training starts.
 */
import { resolveRedisUrl } from '@epochcast/coordination';
import { ConfigError, checkInteger, checkNonNegative, checkPositive, describeValue } from '@epochcast/core';
import { NOTIFY_EVENTS, type NotifyEvent } from './notification.js';
import type { ProxySetting } from './proxy-config.js';

/** Where notifiers write their warnings; replace it to route them into your own logging. */
export interface NotifierLogger {
  warn(line: string): void;
}

export interface NotifierOptions {
  /** Events to send. Default: every event (a plugin may narrow its own default: e-mail sends end, error, interrupt, alert). */
  on?: readonly NotifyEvent[];
  /** Send an epoch message every N epochs. Default 1. */
  every?: number;
  /** Least time between two epoch messages, in ms; epochs in between are coalesced (the newest wins). Default 0. */
  minIntervalMs?: number;
  /** Names the run in every message. Default `EPOCHCAST_RUN_NAME`, else the script's file name. */
  runName?: string;
  /** Attach the loss plot to end messages (where the service shows images). Default true. */
  plot?: boolean;
  /** Time bound of one send attempt, in ms. Default 10,000. */
  timeoutMs?: number;
  /**
   * Further attempts after a failed send (network errors, 5xx, timeouts). Waiting out a rate limit
   * (429) uses up none of them, but `retries: 0` turns every retry off, 429 included. Default 4.
   */
  retries?: number;
  /** Default true; `EPOCHCAST_DISABLE=1` turns every notifier off. */
  enabled?: boolean;
  /**
   * How long the end of a fit waits for the last messages, in ms. Default 30,000. The notifiers of
   * a fit flush side by side, so the end waits for the slowest service, not the sum. Time spent
   * waiting for this run's turn behind other runs on the same account (a sweep) is not counted,
   * up to 90 s more.
   */
  flushTimeoutMs?: number;
  /** Stop the fit and report `interrupt` on SIGINT/SIGTERM. Default true. */
  handleSignals?: boolean;
  /** Where warnings go. Default: one line on stderr. */
  logger?: NotifierLogger;
  /**
   * Runs that share one account (a bot token, a channel) coordinate: one command poller, one send
   * budget. On one machine they do so through a local socket; with a Redis URL (default
   * `EPOCHCAST_REDIS_URL`), across machines.
   */
  redisUrl?: string;
  /**
   * The proxy for this notifier's requests: `'http://user:password@proxy:3128'` for every request
   * (NO_PROXY does not apply), or `false` to send directly whatever the environment says. Default:
   * the environment, as curl reads it — `HTTPS_PROXY`/`HTTP_PROXY` (SMTP: `ALL_PROXY`) and
   * `NO_PROXY`, lower case first. Its credentials are never shown.
   */
  proxy?: ProxySetting;
}

/** The options after checking, every default filled in. */
export interface ResolvedNotifierOptions {
  on: readonly NotifyEvent[] | undefined;
  every: number;
  minIntervalMs: number;
  runName: string | undefined;
  plot: boolean;
  timeoutMs: number;
  retries: number;
  enabled: boolean;
  flushTimeoutMs: number;
  handleSignals: boolean;
  logger: NotifierLogger;
  redisUrl: string | undefined;
  proxy: ProxySetting | undefined;
}

/** One line on stderr per warning. */
export const stderrLogger: NotifierLogger = { warn: (line) => process.stderr.write(`${line}\n`) };

/** Checks `options` (of the notifier named `where`) and fills in the defaults. */
export function resolveNotifierOptions(where: string, options: NotifierOptions): ResolvedNotifierOptions {
  if (options === null || typeof options !== 'object')
    throw new ConfigError(`${where}: options must be an object; received ${describeValue(options)}.`);
  const { on, runName } = options;
  if (on !== undefined && (!Array.isArray(on) || !on.every((e) => NOTIFY_EVENTS.includes(e))))
    throw new ConfigError(
      `${where}: on must be a list of events from ${NOTIFY_EVENTS.join(', ')}; received ${describeValue(on)}${Array.isArray(on) ? ` containing ${describeValue(on.find((e) => !NOTIFY_EVENTS.includes(e)))}` : ''}.`,
    );
  if (runName !== undefined && (typeof runName !== 'string' || runName.trim() === ''))
    throw new ConfigError(`${where}: runName must be a non-empty string; received ${describeValue(runName)}.`);
  return {
    on,
    every: checkInteger(where, 'every', options.every ?? 1, 1),
    minIntervalMs: checkNonNegative(where, 'minIntervalMs', options.minIntervalMs ?? 0),
    runName,
    plot: options.plot ?? true,
    timeoutMs: checkPositive(where, 'timeoutMs', options.timeoutMs ?? 10_000),
    retries: checkInteger(where, 'retries', options.retries ?? 4, 0),
    enabled: (options.enabled ?? true) && process.env.EPOCHCAST_DISABLE !== '1',
    flushTimeoutMs: checkNonNegative(where, 'flushTimeoutMs', options.flushTimeoutMs ?? 30_000),
    handleSignals: options.handleSignals ?? true,
    logger: options.logger ?? stderrLogger,
    redisUrl: resolveRedisUrl(where, options.redisUrl),
    proxy: checkProxyOption(where, options.proxy),
  };
}

/** The `proxy` option's shape; its URL is checked where it is used (proxy-config.ts). */
function checkProxyOption(where: string, proxy: unknown): ProxySetting | undefined {
  if (proxy === undefined || proxy === false) return proxy;
  if (typeof proxy === 'string' && proxy.trim() !== '') return proxy;
  throw new ConfigError(
    `${where}: proxy must be a proxy URL such as "http://proxy.example.com:3128", or false to send directly; received ${typeof proxy === 'string' ? 'an empty string' : describeValue(proxy)}.`,
  );
}
