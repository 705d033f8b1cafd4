import type { Transcript } from '../transcripts.js';

/** The line bash prints for a child killed by SIGKILL names its script line and pid. */
const killedLine = (text: string) => text.replace(/^bash: line \d+: +\d+ Killed/gm, 'bash: line <n>: <pid> Killed');

/**
 * The mnist-files example writes its PNGs under the OS temp dir and reuses them when they are
 * there: each transcript runs it with a TMPDIR of its own, so it starts as a first run does and
 * never meets another run's files. `set -x` with PS4='$ ' prints each command as a `$ ` line.
 */
function mnistFilesScript(commands: string[]): string[] {
  const script = [
    'export TMPDIR="$(mktemp -d)"',
    'trap \'rm -rf "$TMPDIR"\' EXIT',
    "PS4='$ '",
    'set -x',
    ...commands,
    '{ set +x; } 2>/dev/null',
  ];
  return ['bash', '-c', script.join('\n')];
}

export const CORE_TRANSCRIPTS: readonly Transcript[] = [
  {
    // The root README's "At a glance", run as it is shown.
    file: 'docs/transcripts/at-a-glance.txt',
    command: ['node', 'docs/dist/samples/core/at-a-glance.js'],
    prompt: 'node at-a-glance.js',
    // The backend the reader's machine picks (wasm here), whatever the test process forces.
    env: { EPOCHCAST_BACKEND: '' },
  },
  {
    file: 'docs/transcripts/mnist.txt',
    command: ['node', 'examples/mnist/dist/main.js'],
    prompt: 'node examples/mnist/dist/main.js',
    env: { EPOCHCAST_BACKEND: '' },
    // The plot's path is under the checkout, wherever that is.
    normalize: (text) => text.replace(/^loss plot: .*(\/out\/mnist-losses\.png)$/m, 'loss plot: <checkout>$1'),
  },
  {
    file: 'docs/transcripts/mnist-files.txt',
    command: mnistFilesScript(['node examples/mnist-files/dist/main.js']),
    env: { EPOCHCAST_BACKEND: '' },
    timeoutMs: 300_000,
  },
  {
    // Killed after its first epoch, resumed, then an unbroken run for comparison: on 2,000 digits,
    // to keep it short.
    file: 'docs/transcripts/mnist-files-resume.txt',
    command: mnistFilesScript([
      'node examples/mnist-files/dist/main.js --digits 2000 --kill-after-epoch 1',
      'node examples/mnist-files/dist/main.js --digits 2000',
      'node examples/mnist-files/dist/main.js --digits 2000',
    ]),
    env: { EPOCHCAST_BACKEND: '' },
    timeoutMs: 300_000,
    normalize: killedLine,
  },
];
