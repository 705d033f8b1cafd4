// The public API of @epochcast/telegram, and nothing else.

export { type ListTelegramChatsOptions, listTelegramChats, type TelegramChat, type TelegramChatList } from './chats.js';
export { TELEGRAM_COMMANDS, type TelegramCommand } from './commands.js';
export type { ParseMode } from './render.js';
export { TelegramCallback, type TelegramCallbackOptions } from './telegram-callback.js';
