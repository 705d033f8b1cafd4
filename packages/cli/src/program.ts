/**
 * `epochcast`: one program, subcommands grouped by service. For now only `epochcast telegram
 * chats`; `demo`, `run` and `test` come next.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { telegramChats } from './telegram-chats.js';

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

/** The `epochcast` program; actions set `exitCode` on the returned holder. */
export function createProgram(io: CliIo = processIo, result = { exitCode: 0 }): Command {
  const program = new Command('epochcast')
    .description('epochcast: training notifications to Telegram, Slack and e-mail')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    .showHelpAfterError('(add --help for usage)');

  const telegram = program.command('telegram').description('Telegram helpers');
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
      result.exitCode = await telegramChats(io, options);
    });
  return program;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 50) throw new InvalidArgumentError('expected a whole number of seconds from 0 to 50.');
  return n;
}

/** Runs `epochcast <args>`; resolves to the exit code (0 ok, 1 failed, 2 usage error). */
export async function runCli(args: readonly string[], io: CliIo = processIo): Promise<number> {
  const result = { exitCode: 0 };
  const program = createProgram(io, result);
  if (args.length === 0) {
    program.outputHelp();
    return 2;
  }
  try {
    await program.parseAsync([...args], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version are "errors" to commander; they exit 0.
      return error.exitCode === 0 ? 0 : 2;
    }
    io.err(`epochcast: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  return result.exitCode;
}
