/**
 * Who may command the runs: the chats of `allowedChatIds` and, when `allowedUserIds` is set, only
 * those people in them. Permission is decided by ids, which Telegram never reassigns: an `@name`
 * entry is looked up once (getChat) and from then on stands for the chat that held the name then,
 * so whoever takes the name over later gains nothing.
 */
import { ConfigError } from '@epochcast/core/errors';
import type { Api } from 'node-telegram-bot-api';
import { describeError, parseChatId } from './client.js';
import type { UserRef } from './routing.js';

export class CommandPermissions {
  private readonly chatIds = new Set<number>();
  /** `@name` entries not looked up yet (or whose lookup failed): they match no chat until they are. */
  private readonly unresolved = new Set<string>();
  /** Undefined: everyone in an allowed chat. */
  private readonly userIds: ReadonlySet<number> | undefined;

  constructor(chats: readonly (number | string)[], users: readonly number[] | undefined) {
    for (const chat of chats) {
      if (typeof chat === 'number') this.chatIds.add(chat);
      else this.unresolved.add(chat.toLowerCase());
    }
    this.userIds = users && new Set(users);
  }

  /** From the options: `allowedChatIds` (default the chat messages go to) and `allowedUserIds` (else `TELEGRAM_ALLOWED_USER_IDS`). */
  static fromOptions(
    where: string,
    options: { allowedChatIds?: readonly (number | string)[] | undefined; allowedUserIds?: readonly (number | string)[] | undefined },
    chatId: number | string,
  ): CommandPermissions {
    const chats = options.allowedChatIds ?? [chatId];
    if (!Array.isArray(chats))
      throw new ConfigError(`${where}: allowedChatIds must be a list of chat ids; received ${JSON.stringify(chats)}.`);
    return new CommandPermissions(
      chats.map((id) => parseChatId(where, 'allowedChatIds', id)),
      parseUserIds(where, options.allowedUserIds, process.env.TELEGRAM_ALLOWED_USER_IDS),
    );
  }

  isAllowed(chat: { id: number }): boolean {
    return this.chatIds.has(chat.id);
  }

  isAllowedUser(user: UserRef | undefined): boolean {
    return this.userIds === undefined || (user !== undefined && this.userIds.has(user.id));
  }

  /**
   * Looks up the `@name` entries not resolved yet, each to the id of the chat holding that name now.
   * Never rejects: a name that cannot be looked up is one warning, and matches no chat.
   */
  async resolveNames(api: Api, signal: AbortSignal, warn: (line: string) => void): Promise<void> {
    await Promise.all(
      [...this.unresolved].map(async (name) => {
        try {
          const chat = await api.getChat({ chat_id: name }, signal);
          this.chatIds.add(chat.id);
          this.unresolved.delete(name);
        } catch (error) {
          warn(
            `could not look up ${name} of allowedChatIds (${describeError(error)}), so commands from it are not obeyed. ` +
              'Put the chat’s numeric id in allowedChatIds instead: `epochcast telegram chats` lists the chats that wrote to the bot ' +
              '(a bot can look up a public group or channel by its @name, never a person).',
          );
        }
      }),
    );
  }
}

/** `allowedUserIds` (numbers, or numeric strings), else the comma- or space-separated `TELEGRAM_ALLOWED_USER_IDS`. */
function parseUserIds(where: string, option: readonly (number | string)[] | undefined, env: string | undefined): number[] | undefined {
  const fromEnv = option === undefined && env !== undefined && env.trim() !== '';
  const name = fromEnv ? 'TELEGRAM_ALLOWED_USER_IDS' : 'allowedUserIds';
  const raw: unknown = fromEnv ? env.split(/[\s,]+/).filter(Boolean) : option;
  if (raw === undefined) return undefined;
  const fix =
    'A person’s user id is the id of their private chat with the bot: have them send it a message, then run `epochcast telegram chats`.';
  if (!Array.isArray(raw) || raw.length === 0)
    throw new ConfigError(
      `${where}: ${name} must be a non-empty list of Telegram user ids (leave it unset to let everyone in the allowed chats command); received ${JSON.stringify(raw)}. ${fix}`,
    );
  return raw.map((value: unknown) => {
    const id = typeof value === 'string' && /^\d{1,16}$/.test(value.trim()) ? Number(value.trim()) : value;
    if (typeof id === 'number' && Number.isSafeInteger(id) && id > 0) return id;
    throw new ConfigError(
      `${where}: ${name} must hold user ids, positive integers such as 123456789; received ${JSON.stringify(value)}. ${fix}`,
    );
  });
}
