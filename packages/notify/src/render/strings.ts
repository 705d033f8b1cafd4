/**
 * String hygiene shared by every renderer: user-supplied text (run names, metric names, error
 * messages, stacks) arrives as arbitrary JavaScript strings and leaves as text that each service
 * accepts and that cannot break a line-based layout.
 */

// A lone surrogate is not valid UTF-16: JSON bodies and SMTP encoders would carry it on as garbage
// or refuse it, so it becomes U+FFFD before anything measures or escapes the text.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// C0 (but tab and line feed), DEL and C1: invisible, and some services reject them outright.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;
const LINE_BREAK = /\r\n?|[\u2028\u2029\u0085]/g;

/** The ellipsis every truncation ends with. */
export const ELLIPSIS = '…';

/**
 * `s` as multi-line text: line breaks normalised to `\n`, other control characters turned to
 * spaces, lone surrogates to U+FFFD. Tabs are kept (stack traces and tables use them).
 */
export function cleanText(s: string): string {
  return s.replace(LONE_SURROGATE, '\uFFFD').replace(LINE_BREAK, '\n').replace(CONTROL, ' ');
}

/** `s` on one line: {@link cleanText}, then every run of white space as one space, trimmed. */
export function oneLine(s: string): string {
  return cleanText(s).replace(/\s+/g, ' ').trim();
}

/**
 * The first `max` UTF-16 units of `s`, ending in `…` when anything was cut. Never splits a
 * surrogate pair, so the result stays valid UTF-16 and never exceeds `max`.
 */
export function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  if (max < ELLIPSIS.length) return '';
  let k = max - ELLIPSIS.length;
  const last = s.charCodeAt(k - 1);
  if (k > 0 && last >= 0xd800 && last <= 0xdbff) k -= 1;
  return s.slice(0, k) + ELLIPSIS;
}

/** `count` with the noun, pluralised the English way: `1 epoch`, `5 epochs`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** HTML text and attribute escaping: the five characters that can end a text run or an attribute. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c] ?? c);
}
const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * HTML text content: `&`, `<` and `>` — what can start a tag or an entity outside attributes.
 * Telegram's HTML parse mode and Slack's mrkdwn ask for exactly these three.
 */
export function escapeHtmlText(s: string): string {
  return s.replace(/[&<>]/g, (c) => HTML_ENTITIES[c] ?? c);
}
