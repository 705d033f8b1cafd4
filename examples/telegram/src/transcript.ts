import type { TelegramServer, TgMessage } from '@epochcast/testkit';

/**
 * A chat as a phone shows it, in text: each message in its current state (after edits), who sent
 * it, how often it was edited, photos with their size and caption, buttons under a message.
 */
export function transcript(server: TelegramServer, chatId: number): string {
  const edits = new Map<number, number>();
  for (const call of server.received) {
    if (call.method.toLowerCase() !== 'editmessagetext' || call.status !== 200 || String(call.params.chat_id) !== String(chatId)) continue;
    const id = Number(call.params.message_id);
    edits.set(id, (edits.get(id) ?? 0) + 1);
  }
  return server
    .messages(chatId)
    .map((m) => entry(m, edits.get(m.message_id) ?? 0))
    .join('\n\n');
}

function entry(m: TgMessage, edits: number): string {
  const who = m.from?.is_bot ? '🤖 bot' : '👤 you';
  const notes = [edits > 0 ? `edited ${edits}×` : '', m.photo ? `photo ${m.photo[0]?.width}×${m.photo[0]?.height}` : '']
    .filter(Boolean)
    .join(', ');
  const body = m.text ?? m.caption ?? '';
  const buttons = buttonRow(m.reply_markup);
  return `── ${who}${notes ? ` (${notes})` : ''}\n${body}${buttons ? `\n${buttons}` : ''}`;
}

function buttonRow(markup: unknown): string {
  const keyboard = (markup as { inline_keyboard?: { text: string }[][] } | undefined)?.inline_keyboard;
  return keyboard ? keyboard.map((row) => row.map((b) => `[ ${b.text} ]`).join(' ')).join('\n') : '';
}
