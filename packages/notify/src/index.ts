// The public API of @epochcast/notify, and nothing else.

// What plugins need of the runs sharing an account (from @epochcast/coordination), and the error a
// plugin throws for a bad option (from @epochcast/core), so a plugin imports from here alone.
export { type Membership, type RunRecord, type ScopeMessage, scopeAuthKey, scopeName } from '@epochcast/coordination';
export { ConfigError } from '@epochcast/core';
export type { AlertOptions } from './alert.js';
export {
  type AlertRule,
  type AlertRuleOptions,
  Alerts,
  type AlertsOptions,
  type DivergenceOptions,
  divergence,
  nanLoss,
  type PlateauOptions,
  plateau,
  type SlowEpochOptions,
  slowEpoch,
  type ThresholdOp,
  threshold,
} from './alerts.js';
export { ConsoleCallback, type ConsoleCallbackOptions, type TextWriter } from './console.js';
export type { DeliveryReport } from './delivery.js';
export {
  ConfigRejectedError,
  httpError,
  PermanentError,
  ProxyRefusedError,
  ProxyUnreachableError,
  RateLimitError,
  TransientError,
} from './errors.js';
export {
  type AlertLevel,
  NOTIFY_EVENTS,
  type Notification,
  type NotificationAlert,
  type NotificationError,
  type NotifyEvent,
  type RunInfo,
} from './notification.js';
export { Notifier, type NotifierLimits, type VerifyContext } from './notifier.js';
export { jobNotification, type NotifyRunOptions, notifyAll, notifyRun } from './notify-run.js';
export type { NotifierLogger, NotifierOptions } from './options.js';
export type { ScopeRequest } from './pacing.js';
export { type ProxyChoice, type ProxyRoute, type ProxySetting, proxyRoute } from './proxy-config.js';
export { type ProxyFetchHooks, proxyFetch } from './proxy-fetch.js';
export * from './render/index.js';
export { type JobRunOptions, jobRunInfo, rank } from './run-info.js';
export { redactSecrets, registerSecret } from './secrets.js';
export type { SendContext, TextOptions } from './send-context.js';
export { WebhookCallback, type WebhookCallbackOptions, type WebhookPayload } from './webhook.js';
export {
  type VerifyWebhookSignatureOptions,
  verifyWebhookSignature,
  WebhookSignatureError,
  type WebhookSignatureFailure,
} from './webhook-signature.js';
