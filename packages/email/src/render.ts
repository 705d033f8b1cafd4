/**
 * E-mail: a one-line subject, an HTML body styled inline (mail clients drop or ignore `<style>`),
 * and the plain-text alternative.
 */
import { statsHeader, statsRow } from '@epochcast/core';
import {
  bestEpoch,
  buildContent,
  cut,
  ELLIPSIS,
  errorSummary,
  errorText,
  escapeHtml,
  formatDuration,
  headline,
  isJob,
  latestStats,
  metricPhrase,
  type Notification,
  notificationDetails,
  notificationOutcome,
  type Outcome,
  oneLine,
  plural,
  renderText,
  runLabel,
  selectEpochRows,
  trimStack,
  VALID_LOSS,
} from '@epochcast/notify';

/** The Content-ID the body's `<img>` refers to: attach the loss plot PNG with this `cid`. */
export const LOSS_PLOT_CID = 'loss-plot';

/** A rendered e-mail. */
export interface RenderedEmail {
  /** One line, no CR/LF, at most `maxSubjectLength`. */
  subject: string;
  /** A complete HTML document, inline CSS only. */
  html: string;
  /** The plain-text alternative ({@link renderText}). */
  text: string;
}

/** Options of {@link renderEmail}. */
export interface EmailOptions {
  /** Starts every subject. Default `[epochcast]`. */
  subjectPrefix?: string;
  /** Longest subject. Default 200. */
  maxSubjectLength?: number;
  /** Most epoch rows in the HTML and text tables. Default 100. */
  maxTableRows?: number;
  /** Longest the error's stack may be. Default 20000. */
  maxStackChars?: number;
}

const SUBJECT_NAME_MAX = 60;

/**
 * `[epochcast] mnist-mlp completed · accuracy 97.12% · 5 epochs in 3m 12s`; failures, stops and
 * interrupts say so first: `[epochcast] mnist-mlp failed after 2/5 epochs · TypeError: …`. An
 * alert's subject starts `[alert]` — filters and eyes catch it — and is its headline:
 * `[alert] [epochcast] 🚨 mnist-mlp · loss is NaN at epoch 3`.
 */
export function emailSubject(n: Notification, options: Pick<EmailOptions, 'subjectPrefix' | 'maxSubjectLength'> = {}): string {
  const prefix = oneLine(options.subjectPrefix ?? '[epochcast]');
  if (notificationOutcome(n) === 'alert') return cut(oneLine(`[alert] ${prefix} ${headline(n)}`), options.maxSubjectLength ?? 200);
  const name = runLabel(n, SUBJECT_NAME_MAX);
  const total = n.run.totalEpochs;
  const best = bestEpoch(n.history, n.metricNames);
  const bestPart = best ? metricPhrase(best.name, best.value) : undefined;
  const epochs = n.history.length === total ? plural(total, 'epoch') : `${n.history.length}/${total} epochs`;
  const took = isJob(n) ? `in ${formatDuration(n.durationMs)}` : `${epochs} in ${formatDuration(n.durationMs)}`;
  // A job (`epochcast run` with no epoch read) has no epochs to count: it failed after its duration.
  const counted = isJob(n) ? formatDuration(n.durationMs) : `${n.history.length}/${total} epochs`;
  const reason = n.stopReason ? ` (${cut(oneLine(n.stopReason), 60)})` : '';
  const parts: string[] = [];
  switch (notificationOutcome(n)) {
    case 'started':
      parts.push(`${name} started on ${cut(oneLine(n.run.host), 60)}`);
      if (!isJob(n)) parts.push(plural(total, 'epoch'));
      break;
    case 'progress': {
      const s = latestStats(n);
      parts.push(`${name} epoch ${s ? s.epoch + 1 : '?'}/${total}`);
      if (s) {
        parts.push(metricPhrase(VALID_LOSS, s.validLoss));
        const first = n.metricNames[0];
        if (first !== undefined) parts.push(metricPhrase(first, s.metrics[first] ?? Number.NaN));
      }
      break;
    }
    case 'completed':
      parts.push(`${name} completed`, ...(bestPart ? [bestPart] : []), took);
      break;
    case 'stopped':
      parts.push(`${name} stopped${reason}`, ...(bestPart ? [bestPart] : []), took);
      break;
    case 'failed': {
      const err = errorSummary(n.error, 120);
      parts.push(`${name} failed after ${counted}`, ...(err ? [err] : []));
      break;
    }
    case 'interrupted':
      parts.push(`${name} interrupted${reason} after ${counted}`);
      break;
    case 'alert':
      // Subjects of alerts are their headline (above).
      break;
  }
  return cut(oneLine(`${prefix} ${parts.join(' · ')}`), options.maxSubjectLength ?? 200);
}

const FONT = "-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";
const MONO = "Menlo,Consolas,'DejaVu Sans Mono',monospace";
const COLOR: Readonly<Record<Outcome, string>> = {
  started: '#1f6feb',
  progress: '#1f6feb',
  completed: '#1a7f37',
  stopped: '#9a6700',
  failed: '#cf222e',
  interrupted: '#9a6700',
  alert: '#bc4c00',
};
const CELL = 'padding:3px 10px;border-bottom:1px solid #eaecef;text-align:right;white-space:nowrap';
const HEAD_CELL = `${CELL};font-weight:bold;border-bottom:2px solid #d0d7de`;
const BEST_ROW = 'background:#fff4c2;font-weight:bold';
const H2 = 'font-size:15px;margin:20px 0 8px;color:#24292f';

function epochsHtml(n: Notification, maxRows: number): string {
  // An alert says what happened and where the run is; the table is the other mails' business.
  if (n.history.length === 0 || n.event === 'start' || n.event === 'alert') return '';
  const best = n.history.length > 1 ? bestEpoch(n.history, n.metricNames) : undefined;
  const header = statsHeader(n.metricNames.map((m) => cut(oneLine(m), 40)));
  const head = `<tr>${header.map((h) => `<th style="${HEAD_CELL}">${escapeHtml(h)}</th>`).join('')}</tr>`;
  const rows = selectEpochRows(n.history.length, maxRows, best?.index).map((slot) => {
    if (!('index' in slot)) {
      return `<tr><td colspan="${header.length}" style="${CELL};text-align:center;color:#57606a">${ELLIPSIS} ${escapeHtml(plural(slot.skipped, 'epoch'))} skipped</td></tr>`;
    }
    const stats = n.history[slot.index];
    if (stats === undefined) return '';
    const cells = statsRow(stats, n.metricNames)
      .map((c) => `<td style="${CELL}">${escapeHtml(c)}</td>`)
      .join('');
    return slot.index === best?.index
      ? `<tr class="best" style="${BEST_ROW}" title="best ${escapeHtml(cut(oneLine(best.name), 40))}">${cells}</tr>`
      : `<tr>${cells}</tr>`;
  });
  return (
    `<h2 style="${H2}">Epochs</h2>` +
    `<table class="epochs" cellspacing="0" cellpadding="0" style="border-collapse:collapse;font-family:${MONO};font-size:12px">` +
    `<thead>${head}</thead><tbody>${rows.join('')}</tbody></table>`
  );
}

function detailsHtml(n: Notification): string {
  const pairs = notificationDetails(n);
  if (pairs.length === 0) return '';
  const rows = pairs
    .map(
      ([k, v]) =>
        `<tr><th style="text-align:left;font-weight:normal;color:#57606a;padding:2px 16px 2px 0;vertical-align:top">${escapeHtml(k)}</th>` +
        `<td style="padding:2px 0">${escapeHtml(v)}</td></tr>`,
    )
    .join('');
  return `<table class="run" cellspacing="0" cellpadding="0" style="border-collapse:collapse;font-size:13px">${rows}</table>`;
}

function errorHtml(n: Notification, maxStackChars: number): string {
  if (notificationOutcome(n) !== 'failed' || !n.error) return '';
  const stack = trimStack(errorText(n.error), maxStackChars);
  return (
    `<h2 style="${H2}">Error</h2>` +
    `<pre style="margin:0;padding:12px;background:#ffebe9;border:1px solid #ffcecb;border-radius:6px;font-family:${MONO};` +
    `font-size:12px;white-space:pre-wrap;word-break:break-word">${escapeHtml(stack)}</pre>`
  );
}

/** An alert's whole text, when the headline shows less of it: as written, lines kept. */
function alertHtml(n: Notification, maxChars: number): string {
  const text = buildContent(n, { tableRows: 0, tableChars: 0, stackChars: maxChars, details: false }).alert;
  if (!text) return '';
  return `<p class="alert" style="margin:0 0 14px;font-size:14px;white-space:pre-wrap;word-break:break-word">${escapeHtml(text)}</p>`;
}

function plotHtml(n: Notification): string {
  if (!n.plot) return '';
  return (
    `<h2 style="${H2}">Loss</h2>` +
    `<img src="cid:${LOSS_PLOT_CID}" alt="${escapeHtml(cut(oneLine(n.plot.title), 200))}" width="800" ` +
    `style="display:block;width:100%;max-width:800px;height:auto;border:0">`
  );
}

/**
 * A notification as an e-mail: {@link emailSubject}; an HTML body with the headline, the run
 * details, the epoch table (best row marked by `class="best"` and an inline background), the
 * loss plot as `<img src="cid:loss-plot">` when `n.plot` is set (attach it with
 * {@link LOSS_PLOT_CID}) and the error's stack; and {@link renderText} as the text part.
 * Everything user-supplied is HTML-escaped.
 */
export function renderEmail(n: Notification, options: EmailOptions = {}): RenderedEmail {
  const maxTableRows = options.maxTableRows ?? 100;
  const maxStackChars = options.maxStackChars ?? 20_000;
  const subject = emailSubject(n, options);
  const outcome = notificationOutcome(n);
  const html =
    '<!DOCTYPE html>' +
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">' +
    `<title>${escapeHtml(subject)}</title></head>` +
    `<body style="margin:0;padding:16px;background:#f6f8fa;font-family:${FONT};color:#24292f">` +
    '<div style="max-width:860px;margin:0 auto;background:#ffffff;border:1px solid #d0d7de;border-radius:6px;padding:20px">' +
    `<h1 style="font-size:18px;line-height:1.35;margin:0 0 14px;color:${COLOR[outcome]}">${escapeHtml(headline(n))}</h1>` +
    alertHtml(n, maxStackChars) +
    detailsHtml(n) +
    epochsHtml(n, maxTableRows) +
    plotHtml(n) +
    errorHtml(n, maxStackChars) +
    '<p style="margin:20px 0 0;font-size:12px;color:#57606a">Sent by epochcast.</p>' +
    '</div></body></html>';
  return { subject, html, text: renderText(n, { maxTableRows, maxStackChars }) };
}
