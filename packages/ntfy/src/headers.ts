/**
 * Header values for ntfy's header publishing (the plot's upload). HTTP headers carry ASCII only, and
 * fetch refuses anything else; ntfy decodes RFC 2047 encoded words (`=?UTF-8?B?…?=`), so a value with
 * an emoji or a run named in another script goes as encoded words, and plain ASCII as it is.
 */

/** Bytes of UTF-8 per encoded word: its base64 stays within RFC 2047's 75 characters a word. */
const WORD_BYTES = 45;

/** `value` as a header value ntfy reads back exactly: ASCII as is, anything else as RFC 2047 encoded words. */
export function headerValue(value: string): string {
  // Line breaks would end the header; ntfy's headers are one line.
  const line = value.replace(/[\r\n]+/g, ' ');
  if (/^[\x20-\x7e]*$/.test(line) && !line.includes('=?')) return line;
  const words: string[] = [];
  let chunk = '';
  for (const char of line) {
    if (Buffer.byteLength(chunk + char) > WORD_BYTES) {
      words.push(encodedWord(chunk));
      chunk = '';
    }
    chunk += char;
  }
  if (chunk !== '') words.push(encodedWord(chunk));
  // Encoded words a space apart are joined without it when decoded.
  return words.join(' ');
}

function encodedWord(text: string): string {
  return `=?UTF-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;
}
