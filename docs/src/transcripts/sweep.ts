import type { Transcript } from '../transcripts.js';
import { normalizeSweep } from './sweep-normalize.js';

/**
 * `command` run with EPOCHCAST_SOCKET_DIR set to a fresh private directory, removed afterwards: the
 * samples' scopes are the same for everyone who runs them, so a run of the docs never meets another
 * one's hub (a test running beside it, a user's own runs), and its exit status is the command's.
 */
function inOwnSocketDir(command: readonly string[]): string[] {
  return ['sh', '-c', 'dir=$(mktemp -d) && EPOCHCAST_SOCKET_DIR="$dir" "$@"; status=$?; rm -rf "$dir"; exit $status', 'sh', ...command];
}

export const SWEEP_TRANSCRIPTS: readonly Transcript[] = [
  {
    file: 'docs/transcripts/coordination-two-runs.txt',
    command: inOwnSocketDir(['node', 'docs/dist/samples/coordination/two-runs.js']),
  },
  {
    // ioredis IS installed in this workspace: the coordination tests' module hooks make it resolve
    // as Node resolves a package that is not (ERR_MODULE_NOT_FOUND), as for a user who never installed it.
    file: 'docs/transcripts/coordination-without-ioredis.txt',
    command: inOwnSocketDir([
      'node',
      '--import',
      './packages/coordination/test/fixtures/register-module-hooks.mjs',
      'docs/dist/samples/coordination/redis-url.js',
    ]),
    prompt: 'EPOCHCAST_REDIS_URL=redis://127.0.0.1:6379 node redis-url.js',
    env: { HIDE_MODULES: 'ioredis', EPOCHCAST_REDIS_URL: 'redis://127.0.0.1:6379' },
  },
  {
    // examples/sweep/README.md: the launcher as `pnpm --filter @epochcast/example-sweep start` runs it
    // (its start script is `node dist/main.js`), without credentials, so against the testkit's servers.
    file: 'docs/transcripts/sweep.txt',
    command: inOwnSocketDir(['node', 'examples/sweep/dist/main.js']),
    prompt: 'pnpm --filter @epochcast/example-sweep start',
    env: { TELEGRAM_BOT_TOKEN: '', SLACK_BOT_TOKEN: '', SLACK_WEBHOOK_URL: '', EPOCHCAST_REDIS_URL: '' },
    timeoutMs: 300_000,
    normalize: normalizeSweep,
  },
];
