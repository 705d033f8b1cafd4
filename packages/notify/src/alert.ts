/** The checks and bounds on an alert's text and level, shared by `notifier.alert()` and `jobNotification`. */
import { ConfigError, describeValue } from '@epochcast/core';
import { ALERT_LEVELS, type AlertLevel, type NotificationAlert } from './notification.js';
import { cut } from './render/strings.js';
import { redactSecrets } from './secret-registry.js';

/** Longest alert text kept: an alert is a sentence or a paragraph, and a script's line may be megabytes. */
export const ALERT_TEXT_MAX = 1000;

/** How far past the kept text redaction looks: further than any secret is long (a PEM key is ~3 KB). */
const REDACTION_MARGIN = 8192;

/** The level when none is given: loud, as an alert that is not worth a sound would be an epoch message. */
export const DEFAULT_ALERT_LEVEL: AlertLevel = 'warning';

/** Options of `notifier.alert()`. */
export interface AlertOptions {
  /** `info` (quiet where the service can be quiet), `warning` (default) or `critical`. */
  level?: AlertLevel;
}

/**
 * `text` and `options` checked and bounded: a ConfigError naming the problem and the fix for
 * anything else than a non-empty string and a known level; the text cut to 1000 characters.
 */
export function checkAlert(where: string, text: unknown, options: unknown): NotificationAlert {
  // What is quoted back may be anything the caller had at hand: a secret among it is redacted.
  const quote = (value: unknown) => redactSecrets(describeValue(value));
  if (typeof text !== 'string' || text.trim() === '')
    throw new ConfigError(
      `${where}: the alert's text must be a non-empty string; received ${quote(text)}. Pass what happened, e.g. alert('loss is NaN at epoch 3', { level: 'critical' }).`,
    );
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options)))
    throw new ConfigError(`${where}: the alert's options must be an object such as { level: 'warning' }; received ${quote(options)}.`);
  const level = (options as { level?: unknown } | undefined)?.level ?? DEFAULT_ALERT_LEVEL;
  if (!ALERT_LEVELS.includes(level as AlertLevel))
    throw new ConfigError(
      `${where}: the alert's level must be one of ${ALERT_LEVELS.join(', ')}; received ${quote(level)}. Pass e.g. { level: 'critical' }, or leave it out for 'warning'.`,
    );
  // Redacted before it is cut, or the cut could leave half a secret that the redaction at send no
  // longer recognises; the send redacts again (a secret registered meanwhile). The slice first keeps
  // a megabyte line from costing a megabyte of matching: a secret that begins within the 1000
  // characters kept ends well within the slice.
  return { text: cut(redactSecrets(text.slice(0, ALERT_TEXT_MAX + REDACTION_MARGIN)), ALERT_TEXT_MAX), level: level as AlertLevel };
}
