/**
 * Finding the chat id: a bot cannot start a chat, so the user messages it first and the id comes
 * from getUpdates. `listTelegramChats` reads the pending updates without confirming them (no
 * offset), so running it twice shows the same chats and a later poller still sees them.
 */

import { ConfigError } from '@epochcast/core/errors';
import { proxyFetch } from '@epochcast/notify/proxy';
import { redactSecrets, registerSecret } from '@epochcast/notify/secrets';
import { type Api, type Chat, TelegramApiError, type Update } from 'node-telegram-bot-api';
import { apiErrorCode, createApi, describeError, resolveApiRoot, resolveToken } from './client.js';

/** A chat that wrote to the bot, as `epochcast telegram chats` lists it. */
export interface TelegramChat {
  id: number;
  /** `private`, `group`, `supergroup` or `channel`. */
  type: string;
  /** The group's title, or the person's name. */
  title: string;
  /** `@username`, when the chat or person has one. */
  username?: string;
  /** Unix seconds of the latest message from it. */
  lastMessageAt: number;
}

export interface ListTelegramChatsOptions {
  /** Default `TELEGRAM_BOT_TOKEN`. */
  token?: string;
  /** Default `TELEGRAM_API_ROOT`, else https://api.telegram.org. */
  apiRoot?: string;
  /** Wait up to this many seconds for a first message when there is none yet (long poll). Default 0. */
  waitSec?: number;
  signal?: AbortSignal;
  /** A proxy URL, or false for none. Default: HTTPS_PROXY / HTTP_PROXY / NO_PROXY, as every notifier reads them. */
  proxy?: string | false;
}

export interface TelegramChatList {
  /** The bot's @username, for the "message your bot" hint. */
  botUsername: string | undefined;
  /** Newest first. */
  chats: TelegramChat[];
}

/**
 * The chats that wrote to the bot recently (Telegram keeps updates for 24 hours, until a poller
 * confirms them). Throws an Error whose message says what to do (bad token, webhook set, another
 * process polling); it never contains the token.
 */
export async function listTelegramChats(options: ListTelegramChatsOptions = {}): Promise<TelegramChatList> {
  const where = 'epochcast telegram chats';
  const given = options.token ?? process.env.TELEGRAM_BOT_TOKEN;
  registerSecret(typeof given === 'string' ? given : undefined);
  const token = resolveToken(where, options.token);
  const api = createApi(token, resolveApiRoot(where, options.apiRoot), proxyFetch(where, options.proxy), 0);
  const me = await call(() => api.getMe(options.signal));
  const waitSec = Math.max(0, Math.min(50, Math.floor(options.waitSec ?? 0)));
  let updates = await call(() =>
    api.getUpdates({ timeout: 0, allowed_updates: ['message', 'callback_query', 'channel_post'] }, options.signal),
  );
  if (updates.length === 0 && waitSec > 0) updates = await call(() => pollOnce(api, waitSec, options.signal));
  return { botUsername: me.username, chats: chatsOf(updates) };
}

function pollOnce(api: Api, timeout: number, signal: AbortSignal | undefined): Promise<Update[]> {
  return api.getUpdates({ timeout, allowed_updates: ['message', 'callback_query', 'channel_post'] }, signal);
}

/** The distinct chats in `updates`, newest message first. */
export function chatsOf(updates: readonly Update[]): TelegramChat[] {
  const byId = new Map<number, TelegramChat>();
  for (const update of updates) {
    const found = chatOf(update);
    if (!found) continue;
    const [chat, at] = found;
    const known = byId.get(chat.id);
    if (known && known.lastMessageAt > at) continue;
    const name = [chat.first_name, chat.last_name].filter(Boolean).join(' ');
    byId.set(chat.id, {
      id: chat.id,
      type: chat.type,
      title: chat.title ?? (name || String(chat.id)),
      ...(chat.username ? { username: `@${chat.username}` } : {}),
      lastMessageAt: at,
    });
  }
  return [...byId.values()].sort((a, b) => b.lastMessageAt - a.lastMessageAt);
}

function chatOf(update: Update): [Chat, number] | undefined {
  if ('message' in update) return [update.message.chat, update.message.date];
  if ('channel_post' in update) return [update.channel_post.chat, update.channel_post.date];
  if ('callback_query' in update && update.callback_query.message)
    return [update.callback_query.message.chat, update.callback_query.message.date];
  return undefined;
}

async function call<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const code = apiErrorCode(error);
    if (code === 401 || code === 404)
      // A setting to fix, as a missing token is: the CLI answers both with exit code 2.
      throw new ConfigError(
        `Telegram rejected the bot token (${redactSecrets(describeError(error))}). Copy it again from @BotFather (/mybots → API Token).`,
      );
    if (code === 409 && error instanceof TelegramApiError && /webhook/i.test(error.description))
      throw new Error(
        'This bot has a webhook set, so getUpdates is unavailable. Remove it (deleteWebhook) or read the chat id from your webhook’s updates.',
      );
    if (code === 409)
      throw new Error(
        'Another process is polling this bot right now (409 Conflict: a training run with commands on, or another bot). Try again when it is done.',
      );
    throw new Error(redactSecrets(`Could not reach Telegram: ${describeError(error)}`));
  }
}
