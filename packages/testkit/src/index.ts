export type { AnsweredFault, ServiceCall, ServiceRequest } from './fake-service.js';
export { FakeService } from './fake-service.js';
export type { Fault, FaultKind, FaultScope } from './faults.js';
export { Faults, takeFault } from './faults.js';
export type { BodyEncoding, ReceivedFile } from './http.js';
export type { FastCheckApi } from './notifications.js';
export {
  arbitraryNotification,
  failedNotification,
  HOSTILE_TEXT,
  hostileNotification,
  LONE_SURROGATE,
  SAMPLE_HISTORY,
  SAMPLE_STACK,
  sampleNotification,
  sampleStats,
} from './notifications.js';
export type { NtfyAttachment, NtfyPublish, NtfyServer, NtfyServerOptions } from './ntfy.js';
export { startNtfyServer } from './ntfy.js';
export { slotLateness } from './pacing.js';
export type { ProxyRequest, ProxyServer, ProxyServerOptions } from './proxy.js';
export { startProxyServer } from './proxy.js';
export type { LocalServer, Match, RecordingServer, ServiceRecord } from './record-log.js';
export type { RedisServer, RedisServerOptions } from './redis.js';
export { findRedisServer, redisSkipReason, startRedisServer } from './redis.js';
export type { SlackCall, SlackServer, SlackServerOptions } from './slack.js';
export { startSlackServer } from './slack.js';
export type { SlackBlocksError } from './slack-blocks.js';
export { validateSlackBlocks } from './slack-blocks.js';
export type { SlackFile, SlackMessage } from './slack-workspace.js';
export type { MailAttachment, ReceivedMail, SmtpSink, SmtpSinkOptions } from './smtp.js';
export { startSmtpSink } from './smtp.js';
export type { StreamSink, StreamWrite } from './stream.js';
export { startStreamSink } from './stream.js';
export type { PushCallbackQueryInput, PushUpdateInput, TelegramCall, TelegramServer, TelegramServerOptions } from './telegram.js';
export { startTelegramServer } from './telegram.js';
export type { ParsedText, ParseMode, ParseOptions } from './telegram-text.js';
export { parseTelegramText, visibleLength } from './telegram-text.js';
export type { ForumRights, TopicRecord } from './telegram-topics.js';
export type {
  BotCommand,
  TgCallbackQuery,
  TgChat,
  TgDocument,
  TgEntityType,
  TgForumTopic,
  TgMessage,
  TgMessageEntity,
  TgPhotoSize,
  TgUpdate,
  TgUser,
} from './telegram-types.js';
export type { RedirectStatus, WebhookRequest, WebhookServer, WebhookServerOptions } from './webhook.js';
export { DELIVERY_HEADER, SIGNATURE_HEADER, startWebhookServer, webhookSignature } from './webhook.js';
