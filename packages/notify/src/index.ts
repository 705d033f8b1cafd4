// The public API of @epochcast/notify, and nothing else.

export { type Membership, type RunRecord, type ScopeMessage, scopeName } from '@epochcast/coordination';
// The error every plugin throws for a bad option (from @epochcast/core), and what plugins need of
// the runs sharing an account (from @epochcast/coordination).
export { ConfigError } from '@epochcast/core';
export { ConsoleCallback, type ConsoleCallbackOptions, type TextWriter } from './console.js';
export { httpError, PermanentError, RateLimitError, TransientError } from './errors.js';
export { NOTIFY_EVENTS, type Notification, type NotificationError, type NotifyEvent, type RunInfo } from './notification.js';
export {
  type DeliveryReport,
  Notifier,
  type NotifierLimits,
  type NotifierLogger,
  type NotifierOptions,
  rank,
  type ScopeRequest,
  type SendContext,
} from './notifier.js';
export { type NotifyRunOptions, notifyRun } from './notify-run.js';
export * from './render/index.js';
export { WebhookCallback, type WebhookCallbackOptions, type WebhookPayload } from './webhook.js';
