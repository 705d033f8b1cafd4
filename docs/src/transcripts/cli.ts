import type { Transcript } from '../transcripts.js';

const PRODUCER = 'docs/dist/src/transcripts/cli-producers.js';

/**
 * The host name a run's messages carry (`started on vm`, `host: vm`), the date beside a clock time, and
 * a duration in two units (`1m 00s`) as one: a run of 38 s and one of a minute say the same.
 */
const hostAndDate = (text: string): string =>
  text
    .replace(/\b(started on |host:\s+)\S+/g, '$1<host>')
    .replace(/\b\d{4}-\d\d-\d\d <clock>/g, '<date> <clock>')
    .replace(/<duration>( <duration>)+/g, '<duration>');

export const CLI_TRANSCRIPTS: readonly Transcript[] = [
  {
    // The full default run: what `pnpm demo` does with no credentials set.
    file: 'docs/transcripts/cli-demo.txt',
    command: ['node', PRODUCER, 'demo'],
    timeoutMs: 300_000,
    normalize: (text) =>
      hostAndDate(text)
        .replace(/tfjs backend \S+ \([^)]*\)/, 'tfjs backend <backend>')
        // Telegram's edits of the live message are paced, so a busy machine makes fewer of them.
        .replace(/\[edited \d+×\]/g, '[edited N×]')
        // The rendered mail holds durations, whose text length varies.
        .replace(/HTML \(\d+ chars\), text \(\d+ chars\)/, 'HTML (N chars), text (N chars)')
        .replace(/history\.csv \(text\/csv, \d+ bytes\)/, 'history.csv (text/csv, N bytes)')
        // The run's id in the plot's file name.
        .replace(/-[0-9a-f]{8}-losses\.png/g, '-<id>-losses.png')
        // A line cut to its width ends elsewhere when the host's name is longer.
        .replace(/(started on <host>)[^\n]*…$/gm, '$1 …'),
  },
  {
    file: 'docs/transcripts/cli-run.txt',
    command: ['node', PRODUCER, 'run'],
    timeoutMs: 120_000,
    normalize: (text) =>
      hostAndDate(text)
        // Python 3.11+ marks the failing expression under a traceback's line; older versions do not, newer mark it otherwise.
        .replace(/^\s*[~^]+\s*\n/gm, ''),
  },
  { file: 'docs/transcripts/cli-test.txt', command: ['node', PRODUCER, 'test'] },
  {
    file: 'docs/transcripts/cli-telegram-chats.txt',
    command: ['node', PRODUCER, 'chats'],
    normalize: (text) => text.replace(/\b\d{4}-\d\d-\d\d <clock>/g, '<date> <clock>'),
  },
  { file: 'docs/transcripts/cli-new-notifier.txt', command: ['node', PRODUCER, 'new-notifier'] },
];
