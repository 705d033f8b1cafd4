/**
 * `epochcast`: one program, one `.command(...)` block per subcommand — `demo`, `run`, `test`,
 * `telegram chats`, `new-notifier`.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { parsePassEnv } from './child-env.js';
import { EXIT, reportError } from './cli-errors.js';
import { KILL_AFTER_S, STOP_GRACE_S } from './process-group.js';
import type { RunOptions } from './run.js';
import { parseDuration } from './stall.js';

// Each subcommand's module is loaded when it runs: `--help` and `telegram chats` never load tfjs.

/** Where the program writes; tests pass buffers. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
};

/** What a run of the program ended with: the exit code, and the command that ran (for error messages). */
export interface CliResult {
  exitCode: number;
  /** `epochcast telegram chats`: the prefix of that command's messages. */
  where?: string;
}

/** `epochcast`, `epochcast run`, `epochcast telegram chats`. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** The `epochcast` program; actions set `exitCode` on the returned holder. */
export function createProgram(io: CliIo = processIo, result: CliResult = { exitCode: 0 }): Command {
  const program = new Command('epochcast')
    .description('epochcast: training notifications to Telegram, Slack, e-mail and ntfy')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    // `run` passes everything after its command through to it, `--flags` included.
    .enablePositionalOptions();

  program
    .command('demo')
    .summary('train MNIST and report it to Telegram, Slack, e-mail and ntfy (local servers without credentials)')
    .description(
      'Train MNIST with fitOneCycle and a progress bar, reporting to Telegram, Slack, e-mail and ntfy. ' +
        'A service without credentials in the environment (TELEGRAM_BOT_TOKEN + TELEGRAM_CHAT_ID; SLACK_BOT_TOKEN + SLACK_CHANNEL ' +
        'or SLACK_WEBHOOK_URL; SMTP_URL + EMAIL_FROM + EMAIL_TO) gets a local testkit server instead; the demo then prints ' +
        'what each one received and writes the e-mail, the loss plot and the CSV to a folder.',
    )
    .option('--out <dir>', 'where to write the files (default: $EPOCHCAST_OUT/demo, else out/demo)')
    .addOption(new Option('--epochs <n>', 'epochs (tests)').argParser(count(1, 100)).hideHelp())
    .addOption(new Option('--samples <n>', 'digits (tests)').argParser(count(100, 10_000)).hideHelp())
    .action(async (options: { out?: string; epochs?: number; samples?: number }) => {
      result.exitCode = await (await import('./demo.js')).demo(io, options);
    });

  program
    .command('run')
    .summary('run any command — a training script in any language — and report it like a Learner run')
    .description(
      'Run a command (a Python training script above all) and report it as a Learner run is reported: its start, each epoch ' +
        'read from its output (Keras, tqdm bars naming the epoch, Lightning, the fastai table, Hugging Face Trainer logs, or ' +
        '`@epochcast {json}` protocol lines — see docs/python.md), and its end with the epoch table and the loss plot, or how it ' +
        'failed: exit code or signal and the last lines of its output. stdin and the output pass through as they come ' +
        '(protocol lines excepted; an output closed early, as by `| head`, is dropped; the command runs on). With --telegram, ' +
        '/status answers with the latest epoch and the last lines, and /stop (after a Yes) sends SIGINT to the command.\n\n' +
        "Exits with the command's code (128 + the signal number when a signal killed it).\n\n" +
        'The command runs in its own process group: SIGINT (Ctrl-C), SIGTERM, SIGHUP and SIGQUIT reach it once, ' +
        'passed on by epochcast, which SIGKILLs the group if it still runs --kill-after seconds later; Ctrl-Z stops both.\n\n' +
        'Its environment has no TELEGRAM_*, SLACK_*, SMTP_URL, NTFY_* or EPOCHCAST_* variable (its output goes into every ' +
        'message, and with it whatever credential it could print), except the settings EPOCHCAST_SOCKET_DIR, EPOCHCAST_REDIS_LEASE_MS, ' +
        'EPOCHCAST_BACKEND, EPOCHCAST_DISABLE, EPOCHCAST_RUN_NAME and EPOCHCAST_OUT; --pass-env gives it more.',
    )
    .usage('[--telegram] [--slack] [--email] [--ntfy] [--webhook <url>] [--name <name>] [--stall <duration>] -- <command…>')
    .argument('[command...]', 'the command and its arguments, after --')
    .option('--telegram', 'notify Telegram (TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID)')
    .option('--slack', 'notify Slack (SLACK_BOT_TOKEN + SLACK_CHANNEL, or SLACK_WEBHOOK_URL)')
    .option('--email', 'send an e-mail (SMTP_URL, EMAIL_FROM, EMAIL_TO)')
    .option('--ntfy', 'push to phones through ntfy (NTFY_URL, e.g. https://ntfy.sh/my-runs; NTFY_TOKEN if the topic needs one)')
    .option('--webhook <url>', 'POST the notifications as JSON to this URL (signed with EPOCHCAST_WEBHOOK_SECRET when set)')
    .option('--name <name>', 'names the run in the messages (default: the command line)')
    .option(
      '--pass-env <names>',
      "let the command see these of epochcast's variables after all: NAME[,NAME…], a prefix such as TELEGRAM_*, or * for all; repeatable " +
        '(e.g. --pass-env TELEGRAM_BOT_TOKEN,TELEGRAM_CHAT_ID for a script that notifies by itself)',
      parsePassEnv,
    )
    .option(
      '--stall <duration>',
      'alert when the command prints nothing — or, once its output showed progress, no progress — for this long (e.g. 10m, 1h30m, 90s), and note when it moves again',
      stallDuration,
    )
    .option(
      '--stop-grace <seconds>',
      `after the SIGINT of a /stop from Telegram, SIGTERM the command if it still runs this long (1–3600, default ${STOP_GRACE_S})`,
      count(1, 3600),
    )
    .option(
      '--kill-after <seconds>',
      `when the command is still running this long after a signal was passed on, SIGKILL its process group (1–3600, default ${KILL_AFTER_S})`,
      count(1, 3600),
    )
    .passThroughOptions()
    .action(async (command: string[], options: RunOptions) => {
      result.exitCode = await (await import('./run.js')).runCommand(io, command, options);
    });

  program
    .command('test')
    .summary('send one test message to check a configuration')
    .description(
      "Send one test message through each chosen service, after the plugin's own check of the token or the " +
        'SMTP login, and say what is wrong when it fails (exit 1).',
    )
    .option('--telegram', 'test Telegram (TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID)')
    .option('--slack', 'test Slack (SLACK_BOT_TOKEN + SLACK_CHANNEL, or SLACK_WEBHOOK_URL)')
    .option('--email', 'test e-mail (SMTP_URL, EMAIL_FROM, EMAIL_TO)')
    .option('--ntfy', 'test ntfy (NTFY_URL, NTFY_TOKEN)')
    .action(async (options: { telegram?: boolean; slack?: boolean; email?: boolean; ntfy?: boolean }) => {
      result.exitCode = await (await import('./check.js')).testNotifiers(io, options);
    });

  const telegram = program.command('telegram').description('Telegram helpers: `epochcast telegram chats` finds your chat id');
  telegram
    .command('chats')
    .description(
      'List the chats that messaged your bot, with the id to put in TELEGRAM_CHAT_ID.\n' +
        'First open your bot in Telegram and send it any message (in a group: add the bot, then send /start@<bot name>).',
    )
    .option('--token <token>', 'bot token (default: TELEGRAM_BOT_TOKEN; prefer the variable, a flag ends up in your shell history)')
    .option('--api-root <url>', 'Bot API server (default: TELEGRAM_API_ROOT, else https://api.telegram.org)')
    .option('--wait <seconds>', 'when no one has written yet, wait up to this long for a first message (0–50)', seconds, 0)
    .option('--json', 'print the chats as JSON')
    .action(async (options: { token?: string; apiRoot?: string; wait: number; json?: boolean }) => {
      result.exitCode = await (await import('./telegram-chats.js')).telegramChats(io, options);
    });

  program
    .command('new-notifier <name>')
    .summary('write the skeleton of a notifier plugin package, epochcast-notifier-<name>')
    .description(
      'Write a notifier plugin package, epochcast-notifier-<name>: a working notifier that POSTs JSON to a URL (src/index.ts), ' +
        "its tests wired to @epochcast/testkit's conformance suite, a README. Its @epochcast dev dependencies are the packages " +
        'this CLI runs on, packed into vendor/ (file:vendor/…), so `npm install && npm test` passes as written, anywhere; then make send() ' +
        "speak your service's API. <name>: lowercase letters, digits and dashes (e.g. discord, ms-teams).",
    )
    .option('--dir <path>', 'where to write the package (default: ./epochcast-notifier-<name>); must be empty or absent')
    .option(
      '--registry',
      'depend on @epochcast/* from the npm registry (version ranges) instead of the packed copies of this epochcast in vendor/',
    )
    .option(
      '--tarballs <dir>',
      'copy the @epochcast tarballs into vendor/ from this folder (`pnpm pack:all` in the repository) instead of packing them',
    )
    .action(async (name: string, options: { dir?: string; registry?: boolean; tarballs?: string }) => {
      result.exitCode = await (await import('./new-notifier.js')).newNotifier(io, name, options);
    });

  // An error thrown by an action is printed under its command's prefix (runCli).
  program.hook('preAction', (_program, action) => {
    result.where = commandPath(action);
  });
  // Commander's own errors (an unknown flag, a missing value) start with `error: `; every message of
  // epochcast starts with the command it is about instead, once.
  const prefixErrors = (command: Command): void => {
    command.configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, `${commandPath(command)}: `)) });
    for (const sub of command.commands) prefixErrors(sub);
  };
  prefixErrors(program);
  return program;
}

function stallDuration(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms < 1000 || ms > 7 * 86_400_000)
    throw new InvalidArgumentError('expected a duration from 1s to 7d, such as 10m, 1h30m or 90s.');
  return ms;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 50) throw new InvalidArgumentError('expected a whole number of seconds from 0 to 50.');
  return n;
}

function count(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    return n;
  };
}

/**
 * Runs `epochcast <args>`; resolves to the exit code: 0 done, 1 failed, 2 a usage or configuration
 * error (an unknown flag, a missing value, a missing or malformed setting); `run`: its command's.
 */
export async function runCli(args: readonly string[], io: CliIo = processIo): Promise<number> {
  const result: CliResult = { exitCode: EXIT.ok };
  const program = createProgram(io, result);
  if (args.length === 0) {
    program.outputHelp();
    return EXIT.usage;
  }
  try {
    await program.parseAsync([...args], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version are "errors" to commander; they exit 0.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    // What a command did not handle itself: a ConfigError is a setting to fix (2), the rest a failure (1).
    return reportError(io.err, result.where ?? 'epochcast', error);
  }
  return result.exitCode;
}
