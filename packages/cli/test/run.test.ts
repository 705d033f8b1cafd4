// `epochcast run` as a real child process, notifying a local webhook receiver (and Telegram).
import type { Notification } from '@epochcast/notify';
import { startNtfyServer, startTelegramServer, startWebhookServer, type TelegramServer, type WebhookServer } from '@epochcast/testkit';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { cli, nodeScript, startCli } from './helpers.js';

let hook: WebhookServer;
let telegram: TelegramServer | undefined;

beforeEach(async () => {
  hook = await startWebhookServer();
});
afterEach(async () => {
  await hook.close();
  await telegram?.close();
  telegram = undefined;
});

const sent = (): Notification[] => hook.received.map((r) => r.body as Notification);

test('success: output and stdin pass through, exit 0, start and end (completed, exit code 0) delivered', async () => {
  telegram = await startTelegramServer();
  const env = { TELEGRAM_BOT_TOKEN: telegram.token, TELEGRAM_CHAT_ID: '42', TELEGRAM_API_ROOT: telegram.url };
  const script =
    "process.stdin.on('data', (d) => process.stdout.write('got ' + d)); process.stdin.on('end', () => console.error('to stderr'))";
  const r = await cli(['run', '--telegram', '--webhook', hook.url, '--name', 'echo-job', '--', ...nodeScript(script)], {
    env,
    input: 'abc\n',
  });
  expect(r.stderr).toBe('to stderr\n');
  expect(r.stdout).toBe('got abc\n');
  expect(r.code).toBe(0);
  const [start, end] = sent();
  expect(start).toMatchObject({ event: 'start', status: 'running', run: { name: 'echo-job', totalEpochs: 0 } });
  expect(end).toMatchObject({ event: 'end', status: 'completed', run: { id: start?.run.id } });
  expect(end?.run.schedule).toMatch(/ → exit code 0$/);
  expect(end?.durationMs).toBeGreaterThan(0);
  const texts = telegram.messages(42).map((m) => m.text ?? '');
  expect(texts).toHaveLength(2);
  expect(texts[0]).toMatch(/^⏳ echo-job \([0-9a-f]{8}\) started on /);
  expect(texts[1]).toMatch(/^✅ echo-job completed/);
  expect(texts[1]).toMatch(/→ exit code 0/);
});

test('failure: the exit code is passed through and reported with the last lines of output', async () => {
  const script =
    "for (let i = 1; i <= 30; i++) console.log('line ' + i); console.error('\\x1b[31mValueError: boom\\x1b[0m'); process.exit(3)";
  const r = await cli(['run', '--webhook', hook.url, '--', ...nodeScript(script)]);
  expect(r.code).toBe(3);
  expect(r.stdout).toContain('line 30\n');
  expect(r.stderr).toContain('ValueError: boom');
  const end = sent()[1];
  expect(end).toMatchObject({ event: 'error', status: 'failed', error: { name: 'exit code 3', message: 'ValueError: boom' } });
  const tail = end?.error?.stack?.split('\n') ?? [];
  // The last 20 lines, colours stripped.
  expect(tail).toHaveLength(20);
  expect(tail[0]).toBe('line 12');
  expect(tail.at(-1)).toBe('ValueError: boom');
  // The default name is the command line.
  expect(end?.run.name).toMatch(/^\S*node -e 'for \(let i = 1/);
});

test('killed by a signal: the command kills itself with SIGTERM → exit 143, reported as killed by SIGTERM', async () => {
  const r = await cli(['run', '--webhook', hook.url, '--', ...nodeScript("console.log('bye'); process.kill(process.pid, 'SIGTERM')")]);
  expect(r.code).toBe(143);
  expect(r.stdout).toBe('bye\n');
  expect(sent()[1]).toMatchObject({ event: 'error', status: 'failed', error: { name: 'killed by SIGTERM', message: 'bye' } });
  expect(sent()[1]?.run.schedule).toMatch(/→ killed by SIGTERM$/);
});

test('SIGINT to epochcast is passed on to the command → exit 130, reported as an interrupt', async () => {
  const run = startCli(['run', '--webhook', hook.url, '--', ...nodeScript("console.log('ready'); setInterval(() => {}, 1000)")]);
  await run.waitForOutput('ready');
  await hook.waitFor((r) => (r.body as Notification).event === 'start');
  process.kill(run.pid, 'SIGINT');
  const r = await run.done;
  expect(r.code).toBe(130);
  expect(sent()[1]).toMatchObject({ event: 'interrupt', status: 'interrupted', stopReason: 'interrupted by SIGINT' });
});

test('a command that does not exist: exit 127, a clear error, and the failure is reported', async () => {
  const r = await cli(['run', '--webhook', hook.url, '--', 'epochcast-no-such-command', '--flag']);
  expect(r.code).toBe(127);
  expect(r.stderr).toBe('epochcast run: command not found: epochcast-no-such-command\n');
  expect(sent()).toMatchObject([{ event: 'error', error: { name: 'command not found', message: 'epochcast-no-such-command' } }]);
});

test('usage errors exit 2 before anything runs: no command, no notifier, unknown flag, missing value, missing credentials', async () => {
  const ran = nodeScript("console.log('it ran')");
  const [noCommand, noNotifier, unknown, missingValue, noToken, badUrl] = await Promise.all([
    cli(['run', '--webhook', hook.url]),
    cli(['run', '--', ...ran]),
    cli(['run', '--telegrm', '--', ...ran]),
    cli(['run', '--webhook']),
    cli(['run', '--telegram', '--', ...ran]),
    cli(['run', '--webhook', 'ftp://example.com/hook', '--', ...ran]),
  ]);
  for (const r of [noCommand, noNotifier, unknown, missingValue, noToken, badUrl]) {
    expect(r.code).toBe(2);
    expect(r.stdout).not.toContain('it ran');
  }
  expect(noCommand.stderr).toMatch(/^epochcast run: no command to run\. Usage: epochcast run \[options\] -- <command…>/);
  expect(noNotifier.stderr).toMatch(/^epochcast run: choose at least one of --telegram --slack --email --ntfy --webhook\n/);
  expect(unknown.stderr).toMatch(/^epochcast run: unknown option '--telegrm'\n\(Did you mean --telegram\?\)/);
  expect(missingValue.stderr).toMatch(/^epochcast run: option '--webhook <url>' argument missing/);
  expect(noToken.stderr).toMatch(/^epochcast run: no bot token\. Set TELEGRAM_BOT_TOKEN\. /);
  expect(badUrl.stderr).toBe('epochcast run: --webhook must be an http:// or https:// URL; received a string of 22 characters.\n');
  expect(hook.received).toHaveLength(0);
});

test("the command's own flags pass through, with or without --", async () => {
  const script = 'console.log(JSON.stringify(process.argv.slice(1)))';
  const [withDashes, without] = await Promise.all([
    // (node's own `--` ends node's options; epochcast's `--` ends epochcast's)
    cli(['run', '--webhook', hook.url, '--', ...nodeScript(script), '--', '--name', 'x', '--help']),
    cli(['run', '--webhook', hook.url, ...nodeScript(script), '--', '--telegram', '-h']),
  ]);
  expect(withDashes.code).toBe(0);
  expect(JSON.parse(withDashes.stdout)).toEqual(['--name', 'x', '--help']);
  expect(without.code).toBe(0);
  expect(JSON.parse(without.stdout)).toEqual(['--telegram', '-h']);
});

test('--ntfy: the start and the end (high priority on a failure) pushed to the topic; the command never sees NTFY_TOKEN', async () => {
  const ntfy = await startNtfyServer({ token: 'tk_runsecret0123456' });
  try {
    const script = "console.log('token:' + (process.env.NTFY_TOKEN ?? 'none')); process.exit(2)";
    const r = await cli(['run', '--ntfy', '--name', 'train.py', '--', ...nodeScript(script)], {
      env: { NTFY_URL: `${ntfy.url}/runs`, NTFY_TOKEN: 'tk_runsecret0123456' },
    });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('token:none\n');
    expect(ntfy.messages('runs').map((m) => [m.title, m.priority, m.tags])).toEqual([
      ['train.py · started', 3, ['hourglass_flowing_sand']],
      ['train.py · failed', 4, ['x']],
    ]);
  } finally {
    await ntfy.close();
  }
});
