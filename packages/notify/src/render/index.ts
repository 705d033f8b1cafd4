// The service-neutral render kit: what a notification says (headline, numbers, the epoch table, the
// stack, run details), laid out as blocks and packed into messages of a length limit. A plugin adds
// its format (a Markup, or its own structure such as Slack's blocks) on top.

export {
  type Block,
  type Budget,
  buildContent,
  type Content,
  errorText,
  formatCount,
  formatTimestamp,
  type Markup,
  type MessageOptions,
  MIN_MESSAGE_LENGTH,
  notificationDetails,
  PLAIN,
  pack,
  renderBlock,
  renderBlocks,
  renderMessages,
  type Span,
} from './doc.js';
export {
  type BestEpoch,
  type BestEpochOptions,
  bestEpoch,
  bestPhrase,
  epochOf,
  errorSummary,
  etaMs,
  formatDuration,
  formatLoss,
  formatMetric,
  type HeadlineOptions,
  headline,
  isJob,
  isPercentMetric,
  latestStats,
  metricGoal,
  metricPhrase,
  notificationOutcome,
  OUTCOME_EMOJI,
  type Outcome,
  plotFileName,
  runLabel,
  VALID_LOSS,
} from './format.js';
export { escapeMarkdown, MARKDOWN } from './markdown.js';
export { cleanText, cut, ELLIPSIS, escapeHtml, escapeHtmlText, oneLine, plural } from './strings.js';
export {
  BEST_MARKER,
  type EpochRowSlot,
  type EpochTableOptions,
  epochTable,
  selectEpochRows,
  type TrimStackOptions,
  trimStack,
} from './table.js';
export { type RenderTextOptions, renderText } from './text.js';
