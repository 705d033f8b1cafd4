/**
 * CommonMark, the Markdown that ntfy's clients (marked in the web app, Markwon on Android) and many
 * other services render. User text is escaped so that a run named `*best*_run` or an error quoting
 * `<script>` shows as written: a backslash before every character that could open emphasis, a link,
 * inline HTML, an entity, a table cell or a strikethrough, and before what would start a heading, a
 * quote or a list at the beginning of a line. (A backslash before ASCII punctuation always shows as
 * that punctuation, so escaping more than needed is harmless.) Code spans and blocks take their content as is, fenced by more
 * backticks than the content ever runs to, so nothing inside can close them early.
 */
import type { Markup } from './doc.js';

/** Characters that can start inline syntax anywhere in a line (`&` an entity: `&amp;` would show as `&`). */
const INLINE = /[\\`*_[\]<>|~&]/g;
/** What starts a block at the beginning of a line: a heading, a quote, a list item, a setext underline. */
const LINE_START = /^(\s*)([#>+=-]|\d+[.)])/gm;

/** `s` as CommonMark text that renders exactly as `s` reads. */
export function escapeMarkdown(s: string): string {
  return s.replace(INLINE, '\\$&').replace(LINE_START, (_all, space: string, mark: string) => `${space}${escapeMarker(mark)}`);
}

function escapeMarker(mark: string): string {
  // `12.` is escaped as `12\.`: the backslash goes before the punctuation, not the digits.
  return /^\d/.test(mark) ? mark.replace(/[.)]$/, '\\$&') : `\\${mark}`;
}

/** The longest run of backticks in `s`. */
function longestBacktickRun(s: string): number {
  let longest = 0;
  for (const run of s.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  return longest;
}

/** Inline code: a fence one backtick longer than any run inside, spaced when the content touches a backtick. */
function codeSpan(s: string): string {
  const fence = '`'.repeat(longestBacktickRun(s) + 1);
  const pad = s.startsWith('`') || s.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${s}${pad}${fence}`;
}

/** A fenced code block: at least three backticks, more than any run in the content. */
function codeBlock(s: string): string {
  const fence = '`'.repeat(Math.max(3, longestBacktickRun(s) + 1));
  return `${fence}\n${s}\n${fence}`;
}

/** Emphasis and code spans cannot span lines, and `**` next to a space does not open or close emphasis. */
function inlineable(s: string): boolean {
  return s.trim() === s && s !== '' && !s.includes('\n');
}

/** CommonMark. Bold and code only where the syntax holds (one line, no space at either end); else escaped text. */
export const MARKDOWN: Markup = {
  text: escapeMarkdown,
  bold: (s) => (inlineable(s) ? `**${escapeMarkdown(s)}**` : escapeMarkdown(s)),
  code: (s) => (inlineable(s) ? codeSpan(s) : escapeMarkdown(s)),
  pre: codeBlock,
};
