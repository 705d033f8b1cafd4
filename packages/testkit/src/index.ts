export type { Fault, FaultKind, FaultScope } from './faults.js';
export { Faults, takeFault } from './faults.js';
export type { BodyEncoding, ReceivedFile } from './http.js';
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
export type { Match } from './record-log.js';
export type { RedisServer, RedisServerOptions } from './redis.js';
export { startRedisServer } from './redis.js';
export type { SlackCall, SlackFile, SlackMessage, SlackServer, SlackServerOptions } from './slack.js';
export { startSlackServer } from './slack.js';
export type { SlackBlocksError } from './slack-blocks.js';
export { validateSlackBlocks } from './slack-blocks.js';
export type { MailAttachment, ReceivedMail, SmtpSink, SmtpSinkOptions } from './smtp.js';
export { startSmtpSink } from './smtp.js';
export type { StreamSink, StreamWrite } from './stream.js';
export { startStreamSink } from './stream.js';
export type {
  BotCommand,
  PushCallbackQueryInput,
  PushUpdateInput,
  TelegramCall,
  TelegramServer,
  TelegramServerOptions,
  TgCallbackQuery,
  TgChat,
  TgDocument,
  TgMessage,
  TgPhotoSize,
  TgUpdate,
  TgUser,
} from './telegram.js';
export { startTelegramServer } from './telegram.js';
export type { ParsedText, ParseMode, ParseOptions, TgEntityType, TgMessageEntity } from './telegram-text.js';
export { parseTelegramText, visibleLength } from './telegram-text.js';
export type { WebhookRequest, WebhookServer, WebhookServerOptions } from './webhook.js';
export { SIGNATURE_HEADER, startWebhookServer, webhookSignature } from './webhook.js';
