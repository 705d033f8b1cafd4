// The renderers' public API: one Notification in, text for each service out.

export type { MessageOptions } from './doc.js';
export { type EmailOptions, emailSubject, LOSS_PLOT_CID, type RenderedEmail, renderEmail } from './email.js';
export {
  type BestEpoch,
  type BestEpochOptions,
  bestEpoch,
  formatDuration,
  formatLoss,
  formatMetric,
  type HeadlineOptions,
  headline,
  isPercentMetric,
  metricGoal,
  notificationOutcome,
  OUTCOME_EMOJI,
  type Outcome,
} from './format.js';
export {
  renderSlack,
  SLACK_LIMITS,
  type SlackBlock,
  type SlackContextBlock,
  type SlackDividerBlock,
  type SlackHeaderBlock,
  type SlackMessage,
  type SlackMrkdwn,
  type SlackOptions,
  type SlackPlainText,
  type SlackSectionBlock,
} from './slack.js';
export { cleanText, cut, escapeHtml, escapeMarkdownV2, escapeMarkdownV2Code, escapeSlack, escapeTelegramHtml, oneLine } from './strings.js';
export {
  BEST_MARKER,
  type EpochRowSlot,
  type EpochTableOptions,
  epochTable,
  selectEpochRows,
  type TrimStackOptions,
  trimStack,
} from './table.js';
export {
  renderTelegramCaption,
  renderTelegramHtml,
  renderTelegramMarkdownV2,
  TELEGRAM_MAX_CAPTION,
  TELEGRAM_MAX_MESSAGE,
  type TelegramCaptionOptions,
  type TelegramOptions,
} from './telegram.js';
export { type RenderTextOptions, renderText } from './text.js';
