// Issue 15, finding 5: `epochcast run -- cmd | head -1` — the reader of epochcast's output goes away
// after one line; the EPIPE crashed epochcast with a stack trace and exit 1, the command's exit code
// was lost and no end message went out. Now what cannot be shown is dropped: the command's output
// is still drained (and its tail kept), the end is reported, and epochcast exits with the
// command's code.
import { startTelegramServer, type TelegramServer } from '@epochcast/testkit';
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest';
import { nodeScript, startCli } from './helpers.js';

let telegram: TelegramServer;

beforeAll(async () => {
  telegram = await startTelegramServer();
});
afterAll(async () => {
  await telegram.close();
});
beforeEach(() => telegram.clearReceived());

// Prints one line, waits for `go` on stdin (sent once the reader has gone), then writes far more
// than a pipe buffer holds to both streams, a last line a moment later, and fails with exit code 3.
// (exitCode, not exit(): process.exit() would drop what the pipes have not taken yet.)
const CHATTY_THEN_FAIL = nodeScript(
  "console.log('first line');" +
    "process.stdin.once('data', () => { const pad = 'x'.repeat(80);" +
    "  for (let i = 1; i <= 2000; i++) { process.stdout.write('out ' + i + ' ' + pad + '\\n'); process.stderr.write('err ' + i + ' ' + pad + '\\n'); }" +
    "  setTimeout(() => { console.error('last line'); process.exitCode = 3; process.stdin.destroy(); }, 200); })",
);

test.each<[string, ('stdout' | 'stderr')[]]>([
  ['stdout', ['stdout']],
  ['stdout and stderr', ['stdout', 'stderr']],
])(
  'the reader of epochcast’s %s closes after the first line (EPIPE): no crash, the output is drained, the end is sent, exit code 3',
  async (_, closed) => {
    const CHAT = 70 + closed.length;
    const env = { TELEGRAM_BOT_TOKEN: telegram.token, TELEGRAM_CHAT_ID: String(CHAT), TELEGRAM_API_ROOT: telegram.url };
    const run = startCli(['run', '--telegram', '--name', 'piped', '--', ...CHATTY_THEN_FAIL], { env, input: false });
    await run.waitForOutput('first line');
    // As `head -1` does: the read side of the pipe is closed; epochcast's next writes get EPIPE.
    for (const stream of closed) run.process[stream].destroy();
    run.process.stdin.write('go\n');
    const r = await run.done;
    const stderr = r.stderr;

    expect(r.code, stderr).toBe(3);
    expect(r.signal).toBeNull();
    if (!closed.includes('stderr')) {
      // No stack trace, no "write EPIPE": only the command's own lines.
      expect(stderr).not.toMatch(/EPIPE|Error: write|at .*\.js:\d+|node:internal/);
      expect(stderr).toContain('err 2000 ');
      expect(stderr).toMatch(/last line\n$/);
    }
    const texts = telegram.messages(CHAT).map((m) => m.text ?? '');
    expect(texts, texts.join('\n---\n')).toHaveLength(2);
    expect(texts[0]).toMatch(/^⏳ piped /);
    // The end message quotes the command's real last line: the output was read to its end.
    expect(texts[1]).toMatch(/^❌ piped failed/);
    expect(texts[1]).toContain('exit code 3: last line');
  },
);
