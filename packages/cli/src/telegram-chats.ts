import { registerSecret } from '@epochcast/notify/secrets';
import { listTelegramChats, type TelegramChat } from '@epochcast/telegram/chats';
import { EXIT, reportError } from './cli-errors.js';
import type { CliIo } from './program.js';

const WHERE = 'epochcast telegram chats';

/**
 * `epochcast telegram chats`: prints the chats and the line to paste. Exit code 2 for a setting to
 * fix (no token, a malformed or rejected one, a bad API root), 1 when Telegram could not be asked.
 */
export async function telegramChats(
  io: CliIo,
  options: { token?: string; apiRoot?: string; wait: number; json?: boolean },
): Promise<number> {
  const token = options.token ?? io.env.TELEGRAM_BOT_TOKEN;
  if (token === undefined || token.trim() === '') {
    io.err(
      `${WHERE}: no bot token. Pass --token <token> or set TELEGRAM_BOT_TOKEN. Get one from @BotFather in Telegram (send it /newbot).\n`,
    );
    return EXIT.usage;
  }
  const apiRoot = options.apiRoot ?? (io.env.TELEGRAM_API_ROOT || undefined);
  // The registry knows the token trimmed, encoded and by its part after the colon, not only as typed.
  registerSecret(token);
  let list: Awaited<ReturnType<typeof listTelegramChats>>;
  try {
    list = await listTelegramChats({ token, apiRoot, waitSec: options.wait });
  } catch (error) {
    // The library's messages name the command already (printed once) and the options as flags
    // here; no text printed carries the token, in any of its forms (redacted).
    return reportError(io.err, WHERE, error, { token: '--token', apiRoot: '--api-root' });
  }
  if (options.json) {
    io.out(`${JSON.stringify(list.chats, null, 2)}\n`);
    return 0;
  }
  const bot = list.botUsername ? `@${list.botUsername}` : 'your bot';
  if (list.chats.length === 0) {
    io.out(
      `No one has written to ${bot} yet (or the messages were already read by a poller).\n` +
        `Open https://t.me/${list.botUsername ?? '<bot name>'} in Telegram and send it any message, then run this again` +
        ' (or run it with --wait 30 and send the message meanwhile).\n',
    );
    return 0;
  }
  io.out(`Chats that wrote to ${bot}, newest first:\n\n${table(list.chats)}\n`);
  const first = list.chats[0] as TelegramChat;
  io.out(`\nexport TELEGRAM_CHAT_ID=${first.id}\n`);
  return 0;
}

// Chat titles are chosen by other people: no control character of theirs reaches the terminal.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const clean = (s: string): string => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');

function table(chats: readonly TelegramChat[]): string {
  const rows = [
    ['chat id', 'type', 'name', 'last message'],
    ...chats.map((c) => [
      String(c.id),
      c.type,
      clean([c.title, c.username].filter(Boolean).join(' ')),
      new Date(c.lastMessageAt * 1000).toISOString().slice(0, 19).replace('T', ' '),
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
