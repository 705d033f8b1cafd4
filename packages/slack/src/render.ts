/**
 * Slack messages: Block Kit blocks for the message, and a mrkdwn `text` that notifications,
 * screen readers and clients without blocks show instead.
 */
import {
  type Block,
  buildContent,
  cut,
  escapeHtmlText,
  headline,
  type Markup,
  type Notification,
  notificationDetails,
  oneLine,
  pack,
  renderMessages,
  runLabel,
} from '@epochcast/notify';

/**
 * Slack mrkdwn: `&`, `<` and `>` are the only characters Slack asks to escape (they would start
 * an entity, a link, a mention). The formatting characters `*_~` cannot be escaped in Slack.
 */
export const escapeSlack = escapeHtmlText;

/** Slack's limits on the blocks this module builds. */
export const SLACK_LIMITS = {
  blocks: 50,
  sectionText: 3000,
  headerText: 150,
  fields: 10,
  fieldText: 2000,
  contextElements: 10,
  text: 40_000,
} as const;

/** A mrkdwn text object. `verbatim` keeps Slack from turning names and URLs in it into links. */
export interface SlackMrkdwn {
  type: 'mrkdwn';
  text: string;
  verbatim?: boolean;
}

/** A plain_text object: shown as is, nothing escaped or parsed. */
export interface SlackPlainText {
  type: 'plain_text';
  text: string;
  emoji?: boolean;
}

/** A header block: large bold plain text, at most 150 characters. */
export interface SlackHeaderBlock {
  type: 'header';
  text: SlackPlainText;
}

/** A section block: mrkdwn text (at most 3000 characters) and/or up to 10 fields (2000 each). */
export interface SlackSectionBlock {
  type: 'section';
  text?: SlackMrkdwn;
  fields?: SlackMrkdwn[];
}

/** A context block: small grey text, up to 10 elements. */
export interface SlackContextBlock {
  type: 'context';
  elements: SlackMrkdwn[];
}

/** A divider block: a horizontal rule. */
export interface SlackDividerBlock {
  type: 'divider';
}

/** The subset of Block Kit the renderers produce. */
export type SlackBlock = SlackHeaderBlock | SlackSectionBlock | SlackContextBlock | SlackDividerBlock;

/** A message for `chat.postMessage` or an incoming webhook: `text` is the fallback of `blocks`. */
export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

/**
 * Code blocks cannot escape a backtick, so a run of three in user text (a metric named
 * ```` ``` ````) would close the block early: a zero-width space breaks the run.
 */
function codeSafe(s: string): string {
  return s.replace(/`(?=`)/g, '`\u200B');
}

/** Slack mrkdwn. Bold only for text that cannot hold a `*` of its own (user text would unbalance it). */
export const SLACK_MRKDWN: Markup = {
  text: escapeSlack,
  bold: (s) => (/[*\n]/.test(s) ? escapeSlack(s) : `*${escapeSlack(s)}*`),
  code: (s) => (/[`\n]/.test(s) ? escapeSlack(s) : `\`${escapeSlack(s)}\``),
  pre: (s) => `\`\`\`\n${escapeSlack(codeSafe(s))}\n\`\`\``,
};

/** Options of {@link renderSlack}. */
export interface SlackOptions {
  /** Most epoch rows in the table. Default 30. */
  maxTableRows?: number;
  /** Longest the error's stack may be. Default 2800 (one section). */
  maxStackChars?: number;
}

const mrkdwn = (text: string): SlackMrkdwn => ({ type: 'mrkdwn', text, verbatim: true });

/** Sections for one pre block, each within Slack's section text limit. */
function preSections(lines: string[], repeat: number): SlackSectionBlock[] {
  const block: Block = { kind: 'pre', lines, repeat };
  return pack([block], SLACK_MRKDWN, SLACK_LIMITS.sectionText).map((text) => ({ type: 'section', text: mrkdwn(text) }));
}

/** Sections for lines of prose (an alert's text), each within Slack's section text limit once escaped. */
function textSections(lines: string[]): SlackSectionBlock[] {
  const block: Block = { kind: 'text', lines: lines.map((line) => [{ text: line }]) };
  return pack([block], SLACK_MRKDWN, SLACK_LIMITS.sectionText).map((text) => ({ type: 'section', text: mrkdwn(text) }));
}

/**
 * A notification as a Slack message: a header with the headline, the run details as fields, an
 * alert's whole text when the headline shows less of it, the epoch table and the stack in code blocks (split over sections of at most 3000 characters, the
 * table's header repeated), a context line naming the run. User text is escaped for mrkdwn
 * (`&`, `<`, `>`); no link, mention or `<…>` syntax is ever emitted. At most 50 blocks.
 */
export function renderSlack(n: Notification, options: SlackOptions = {}): SlackMessage {
  const maxTableRows = options.maxTableRows ?? 30;
  const maxStackChars = options.maxStackChars ?? 2800;
  // The same content the text formats show, as the fallback and to take the table and stack from.
  const text = renderMessages(n, SLACK_MRKDWN, {
    maxLength: SLACK_LIMITS.text,
    maxMessages: 1,
    maxTableRows,
    maxStackChars,
    maxTableChars: 12_000,
  })[0];

  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: cut(headline(n), SLACK_LIMITS.headerText), emoji: true } },
  ];
  const details = notificationDetails(n);
  if (details.length > 0) {
    blocks.push({
      type: 'section',
      fields: details
        .slice(0, SLACK_LIMITS.fields)
        // Cut before escaping, so no entity is cut in half; 380 × `&amp;` stays under 2000.
        .map(([k, v]) => mrkdwn(`*${k}*\n${escapeSlack(cut(v, 380))}`)),
    });
  }
  const { table, error, alert } = slackContent(n, maxTableRows, maxStackChars);
  if (alert) blocks.push(...textSections(alert.split('\n')));
  if (table) blocks.push(...preSections(table.split('\n'), 1));
  if (error) {
    blocks.push({ type: 'divider' });
    blocks.push(...preSections(error.split('\n'), 0));
  }
  blocks.push({
    type: 'context',
    elements: [
      mrkdwn(
        escapeSlack(['epochcast', runLabel(n), cut(oneLine(n.run.id), 40), cut(oneLine(n.run.host), 100)].filter(Boolean).join(' · ')),
      ),
    ],
  });
  if (blocks.length > SLACK_LIMITS.blocks) {
    // Only a table with thousands of rows allowed by maxTableRows gets here: keep the head and the context.
    const context = blocks[blocks.length - 1];
    blocks.length = SLACK_LIMITS.blocks - 1;
    if (context) blocks.push(context);
  }
  return { text: text ?? escapeSlack(headline(n)), blocks };
}

function slackContent(n: Notification, maxTableRows: number, maxStackChars: number): { table?: string; error?: string; alert?: string } {
  const content = buildContent(n, { tableRows: maxTableRows, tableChars: 12_000, stackChars: maxStackChars, details: false });
  return {
    ...(content.table ? { table: content.table } : {}),
    ...(content.error ? { error: content.error } : {}),
    ...(content.alert ? { alert: content.alert } : {}),
  };
}
