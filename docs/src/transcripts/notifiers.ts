import type { Transcript } from '../transcripts.js';

// The wasm backend is pinned so that the numbers are the same on every machine (a machine with
// tfjs-node would pick tensorflow). What else differs between runs: the host name, the day,
// how long things took, and the run id in the plot's file name.
const WASM = { EPOCHCAST_BACKEND: 'wasm' };
// A duration over a minute is two (`1m 5s`), each masked on its own.
const masked = (text: string) =>
  text
    .replace(/\bstarted on \S+/g, 'started on <host>')
    .replace(/^(\*?host:\*?\s+)\S+$/gm, '$1<host>')
    .replace(/<duration>( <duration>)+/g, '<duration>')
    .replace(/\b\d{4}-\d\d-\d\d <clock>/g, '<date> <clock>')
    .replace(/\bmnist-mlp-[0-9a-f]{8}-losses\.png\b/g, 'mnist-mlp-<id>-losses.png');

export const NOTIFIERS_TRANSCRIPTS: readonly Transcript[] = [
  {
    file: 'docs/transcripts/telegram-example.txt',
    command: ['node', 'examples/telegram/dist/main.js'],
    prompt: 'EPOCHCAST_BACKEND=wasm node examples/telegram/dist/main.js',
    env: WASM,
    timeoutMs: 240_000,
    // /status and /lr are answered at whichever batch of epoch 2 the poller hands them over.
    normalize: (text) =>
      masked(text)
        .replace(/^(📊 mnist-mlp \(<id>\) · ).*$/m, '$1<where training is>')
        .replace(/It is [\d.]+ now\./, 'It is <lr> now.'),
  },
  {
    file: 'docs/transcripts/telegram-chat.txt',
    command: ['node', 'docs/dist/samples/telegram/chat.js'],
    prompt: 'EPOCHCAST_BACKEND=wasm node docs/dist/samples/telegram/chat.js',
    env: WASM,
    timeoutMs: 240_000,
    normalize: masked,
  },
  {
    file: 'docs/transcripts/slack-example.txt',
    command: ['node', 'examples/slack/dist/main.js'],
    prompt: 'EPOCHCAST_BACKEND=wasm node examples/slack/dist/main.js',
    env: WASM,
    timeoutMs: 240_000,
    normalize: masked,
  },
  {
    file: 'docs/transcripts/email-example.txt',
    command: ['node', 'examples/email/dist/main.js'],
    prompt: 'EPOCHCAST_BACKEND=wasm node examples/email/dist/main.js',
    env: WASM,
    timeoutMs: 240_000,
    // The parts' sizes count the digits of durations: the run's, and each epoch's in the CSV.
    normalize: (text) =>
      masked(text)
        .replace(/HTML \(\d+ chars\), text \(\d+ chars\)/, 'HTML (<n> chars), text (<n> chars)')
        .replace(/(mnist-mlp-history\.csv \(text\/csv, )\d+ bytes/, '$1<n> bytes'),
  },
];
