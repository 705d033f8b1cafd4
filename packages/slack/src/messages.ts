/**
 * What each Slack message of a run says. Built on core's `renderSlack` (header, fields, the epoch
 * table and the stack in code blocks, escaping, Slack's block limits), arranged for a thread:
 * a card in the channel, one line per epoch in the thread, a summary broadcast at the end, and
 * alerts.
 */
import {
  bestEpoch,
  cut,
  formatDuration,
  formatLoss,
  formatMetric,
  headline,
  type Notification,
  notificationOutcome,
  OUTCOME_EMOJI,
  oneLine,
} from '@epochcast/notify';
import { escapeSlack, renderSlack, SLACK_LIMITS, type SlackBlock, type SlackMessage } from './render.js';

type Field = { type: 'mrkdwn'; text: string; verbatim: true };

/** Longest raw field value: escaping can grow it 5× (`&amp;`), still under Slack's 2000 per field. */
const FIELD_VALUE_MAX = 380;

function field(label: string, value: string): Field {
  return { type: 'mrkdwn', text: `*${label}*\n${escapeSlack(cut(oneLine(value), FIELD_VALUE_MAX))}`, verbatim: true };
}

/** The headline alone, as mrkdwn: what the fallback `text` of a short message is. */
function headlineText(n: Notification): string {
  return escapeSlack(headline(n));
}

/**
 * The run's card: the message in the channel that the thread hangs from. At the start it reads
 * "⏳ mnist-mlp (a1b2c3d4) started on host · 5 epochs · …" with the run details; at the end it is
 * edited to the outcome ("✅ … completed 5 epochs in 3m 12s · best …"). Tables and stacks stay in the thread.
 */
export function cardMessage(n: Notification): SlackMessage {
  const full = renderSlack(n);
  const blocks = full.blocks.filter((b) => b.type === 'header' || b.type === 'context' || (b.type === 'section' && b.fields));
  return { text: headlineText(n), blocks };
}

/** The card while the run goes, with `epochs: 'update'`: the latest epoch's headline and the table so far. */
export function liveCardMessage(n: Notification): SlackMessage {
  return { ...renderSlack(n), text: headlineText(n) };
}

/**
 * An alert: its headline ("🚨 mnist-mlp · loss is NaN at epoch 3") as the header, its whole text
 * when the headline shows less, the run details (epochs so far during a fit) as fields. No table.
 */
export function alertMessage(n: Notification): SlackMessage {
  return renderSlack(n);
}

/** One epoch, one line in the thread: "📈 mnist-mlp epoch 3/5 · train_loss 0.2171 · valid_loss 0.1843 · accuracy 94.05%". */
export function epochMessage(n: Notification): { text: string } {
  return { text: headlineText(n) };
}

/**
 * The last word (end, error, interrupt): the header, the summary fields (status, duration, best
 * metric, final losses and metrics, run, host), the epoch table in a code block and, on a failure,
 * the trimmed stack. `text` is the whole message as mrkdwn, for notifications and old clients.
 */
export function summaryMessage(n: Notification): SlackMessage {
  const rendered = renderSlack(n);
  const fields = summaryFields(n);
  const blocks: SlackBlock[] = [];
  let placed = false;
  for (const block of rendered.blocks) {
    if (block.type === 'section' && block.fields) {
      blocks.push({ type: 'section', fields });
      placed = true;
    } else {
      blocks.push(block);
      // No run details in the rendering (none planned for this event): the fields go under the header.
      if (block.type === 'header' && !rendered.blocks.some((b) => b.type === 'section' && b.fields)) {
        blocks.push({ type: 'section', fields });
        placed = true;
      }
    }
  }
  if (!placed) blocks.unshift({ type: 'section', fields });
  return { text: rendered.text, blocks: blocks.slice(0, SLACK_LIMITS.blocks) };
}

/** Status, duration, best, final losses, final metrics, reason, run, host: at most Slack's 10 fields. */
export function summaryFields(n: Notification): Field[] {
  const outcome = notificationOutcome(n);
  const latest = n.stats ?? n.history.at(-1);
  const out: Field[] = [field('Status', `${OUTCOME_EMOJI[outcome]} ${outcome}`), field('Duration', formatDuration(n.durationMs))];
  out.push(field('Epochs', `${n.history.length}/${n.run.totalEpochs}`));
  const best = bestEpoch(n.history, n.metricNames);
  if (best) out.push(field('Best', `${best.name} ${formatMetric(best.name, best.value)} (epoch ${best.epoch + 1}/${n.run.totalEpochs})`));
  if (latest) {
    out.push(field('Final losses', `train ${formatLoss(latest.trainLoss)} · valid ${formatLoss(latest.validLoss)}`));
    const metrics = n.metricNames.map((m) => `${m} ${formatMetric(m, latest.metrics[m] ?? Number.NaN)}`);
    if (metrics.length > 0) out.push(field('Final metrics', metrics.join(' · ')));
  }
  if ((outcome === 'stopped' || outcome === 'interrupted') && n.stopReason) out.push(field('Reason', n.stopReason));
  if (outcome === 'failed' && n.error) out.push(field('Error', `${n.error.name}: ${n.error.message.split('\n')[0] ?? ''}`));
  out.push(field('Run', `${n.run.name} (${n.run.id})`));
  out.push(field('Host', n.run.host));
  return out.slice(0, SLACK_LIMITS.fields);
}

/** The comment posted with the loss plot: it names the run, as every message does. */
export function plotComment(n: Notification): string {
  return escapeSlack(`📉 ${cut(oneLine(n.run.name), 100)} (${n.run.id}) · losses`);
}
