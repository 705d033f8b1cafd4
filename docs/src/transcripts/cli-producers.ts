/**
 * The producers of the CLI README's transcripts that need a service to talk to: each runs the built
 * `epochcast` binary against the testkit's local servers (their addresses in the variables the CLI
 * reads: TELEGRAM_API_ROOT, SLACK_API_URL, SMTP_URL, NTFY_URL) and prints each command line, what it
 * printed and its exit code — and for `run`, what the services held at the end, as they recorded it.
 *
 *   node docs/dist/src/transcripts/cli-producers.js demo | run | test | chats | new-notifier
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startNtfyServer, startSlackServer, startSmtpSink, startTelegramServer } from '@epochcast/testkit';
import { type ChildRun, runChild } from '../child.js';
import { CHECKOUT } from '../transcripts.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const BIN = path.join(ROOT, 'packages/cli/dist/bin.js');

/** Writes to the transcript, with the checkout's path as CHECKOUT: what a command printed, what a message quotes of it. */
function print(text: string): void {
  process.stdout.write(text.replaceAll(`${ROOT}/`, `${CHECKOUT}/`));
}

/** Runs the CLI at the repository root, stdout and stderr in one string as a terminal shows them. */
function epochcast(args: readonly string[], env: Record<string, string>, cwd = ROOT): Promise<ChildRun> {
  // Only the variables given: none of the reader's own credentials reach a transcript.
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(TELEGRAM_|SLACK_|SMTP_|EMAIL_|NTFY_|EPOCHCAST_)/.test(k)),
  );
  return runChild([process.execPath, BIN, ...args], {
    cwd,
    env: { ...clean, ...env, PYTHONDONTWRITEBYTECODE: '1', NO_COLOR: '1' },
    timeoutMs: 120_000,
  });
}

/** Prints `$ <shown>`, then what the command printed, then its exit code. */
async function show(shown: string, args: readonly string[], env: Record<string, string>, cwd = ROOT): Promise<void> {
  const { code, output } = await epochcast(args, env, cwd);
  print(`$ ${shown}\n${output}(exit code ${code})\n`);
}

/** `epochcast run` on docs/samples/python/train_loop.py: a run that completes, one that fails before its first epoch. */
async function run(): Promise<void> {
  const chatId = 4242;
  const telegram = await startTelegramServer();
  const smtp = await startSmtpSink();
  try {
    const env = {
      TELEGRAM_BOT_TOKEN: telegram.token,
      TELEGRAM_CHAT_ID: String(chatId),
      TELEGRAM_API_ROOT: telegram.url,
      SMTP_URL: smtp.url,
      EMAIL_FROM: 'runs@example.test',
      EMAIL_TO: 'you@example.test',
    };
    const runs = [
      ['run', '--telegram', '--email', '--', 'python3', 'docs/samples/python/train_loop.py'],
      ['run', '--telegram', '--email', '--name', 'lr-1e4', '--', 'python3', 'docs/samples/python/train_loop.py', '--lr', '1e4'],
    ];
    for (const args of runs) {
      const seenMessages = telegram.messages(chatId).length;
      const seenMails = smtp.received.length;
      await show(`epochcast ${args.join(' ')}`, args, env);
      print('\nTelegram, the chat at the end:\n');
      for (const [i, message] of telegram.messages(chatId).slice(seenMessages).entries()) {
        const what = message.photo ? ' the loss plot (photo), captioned:' : '';
        print(`── #${i + 1}${what}\n${message.text ?? message.caption ?? ''}\n`);
      }
      for (const mail of smtp.received.slice(seenMails).filter((m) => m.status === 250)) {
        const attached = mail.attachments.map((a) => a.filename);
        print(`\nE-mail: ${mail.subject}\n${attached.length ? `  attached: ${attached.join(', ')}\n` : ''}`);
      }
      print('\n');
    }
  } finally {
    await Promise.all([telegram.close(), smtp.close()]);
  }
}

/** `epochcast test` on the four services, then with a token the service rejects. */
async function test(): Promise<void> {
  const [telegram, slack, smtp, ntfy] = await Promise.all([
    startTelegramServer({ token: '123456789:right-token' }),
    startSlackServer({ channels: [{ id: 'C0TRAIN', name: 'training' }] }),
    startSmtpSink(),
    startNtfyServer(),
  ]);
  try {
    const env = {
      TELEGRAM_BOT_TOKEN: telegram.token,
      TELEGRAM_CHAT_ID: '987654321',
      TELEGRAM_API_ROOT: telegram.url,
      SLACK_BOT_TOKEN: slack.token,
      SLACK_CHANNEL: '#training',
      SLACK_API_URL: slack.apiUrl,
      SMTP_URL: smtp.url,
      EMAIL_FROM: 'runs@example.test',
      EMAIL_TO: 'me@example.test',
      NTFY_URL: `${ntfy.url}/my-runs-7f3k`,
    };
    await show('epochcast test --telegram --slack --email --ntfy', ['test', '--telegram', '--slack', '--email', '--ntfy'], env);
    print('\n');
    await show('TELEGRAM_BOT_TOKEN=123:wrong epochcast test --telegram', ['test', '--telegram'], {
      ...env,
      TELEGRAM_BOT_TOKEN: '123:wrong',
    });
  } finally {
    await Promise.all([telegram.close(), slack.close(), smtp.close(), ntfy.close()]);
  }
}

/** `epochcast telegram chats` after two chats wrote to the bot, a second apart. */
async function chats(): Promise<void> {
  const telegram = await startTelegramServer({ token: '123456789:AAH-local-token' });
  try {
    telegram.setChat(-1001234567890, { title: 'ML team' });
    telegram.pushUpdate({ chatId: -1001234567890, text: '/start', from: { id: 5551, first_name: 'Grace', username: 'grace' } });
    await sleep(1100); // Telegram dates messages in whole seconds: newest first needs them apart.
    telegram.setChat(987654321, { title: 'Ada Lovelace', username: 'ada' });
    telegram.pushUpdate({ chatId: 987654321, text: 'hi', from: { first_name: 'Ada', last_name: 'Lovelace', username: 'ada' } });
    print('$ export TELEGRAM_BOT_TOKEN=123456789:AAH…\n');
    await show('epochcast telegram chats', ['telegram', 'chats'], { TELEGRAM_BOT_TOKEN: telegram.token, TELEGRAM_API_ROOT: telegram.url });
  } finally {
    await telegram.close();
  }
}

/** `epochcast new-notifier acme` in an empty folder, which is then removed. */
async function newNotifier(): Promise<void> {
  const folder = await mkdtemp(path.join(tmpdir(), 'epochcast-new-notifier-'));
  try {
    await show('epochcast new-notifier acme', ['new-notifier', 'acme'], {}, folder);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/** `epochcast demo` with no credentials: every service a local server, the files written to out/demo. */
async function demo(): Promise<void> {
  await show('epochcast demo', ['demo'], {});
}

const PRODUCERS: Record<string, () => Promise<void>> = { demo, run, test, chats, 'new-notifier': newNotifier };
const producer = PRODUCERS[process.argv[2] ?? ''];
if (producer) await producer();
else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stderr.write(`usage: node docs/dist/src/transcripts/cli-producers.js ${Object.keys(PRODUCERS).join(' | ')}\n`);
  process.exitCode = 2;
}
