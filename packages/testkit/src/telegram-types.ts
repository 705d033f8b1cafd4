/** The Telegram Bot API objects the local server produces, with the fields it fills in. */

export type TgEntityType =
  | 'bold'
  | 'italic'
  | 'underline'
  | 'strikethrough'
  | 'spoiler'
  | 'code'
  | 'pre'
  | 'text_link'
  | 'blockquote'
  | 'expandable_blockquote'
  | 'custom_emoji'
  | 'bot_command';

export interface TgMessageEntity {
  type: TgEntityType;
  /** In UTF-16 code units, as Telegram counts. */
  offset: number;
  length: number;
  url?: string;
  language?: string;
  custom_emoji_id?: string;
}

export interface TgUser {
  id: number;
  is_bot: boolean;
  first_name: string;
  last_name?: string;
  username?: string;
  language_code?: string;
}

export interface TgChat {
  id: number;
  type: 'private' | 'group' | 'supergroup';
  title?: string;
  first_name?: string;
  last_name?: string;
  username?: string;
  /** A supergroup whose messages are organised in topics. */
  is_forum?: true;
}

/** A forum topic as createForumTopic and the `forum_topic_created` service message describe it. */
export interface TgForumTopic {
  /** The topic's id: the id of the service message that created it. */
  message_thread_id: number;
  name: string;
  /** RGB, one of the six colours Telegram offers. */
  icon_color: number;
  icon_custom_emoji_id?: string;
}

export interface TgPhotoSize {
  file_id: string;
  file_unique_id: string;
  width: number;
  height: number;
  file_size: number;
}

export interface TgDocument {
  file_id: string;
  file_unique_id: string;
  file_name?: string;
  mime_type?: string;
  file_size: number;
}

/** A message as the Bot API returns it (the fields this server produces). */
export interface TgMessage {
  message_id: number;
  from?: TgUser;
  /** The chat a message was posted on behalf of (an anonymous group admin: the group itself). */
  sender_chat?: TgChat;
  chat: TgChat;
  date: number;
  edit_date?: number;
  /** The forum topic (or, outside forums, the reply thread) the message belongs to. */
  message_thread_id?: number;
  /** True for a message sent in a forum topic (not in General, whose messages carry no thread). */
  is_topic_message?: true;
  /** Service messages of a forum's topics. */
  forum_topic_created?: { name: string; icon_color: number; icon_custom_emoji_id?: string };
  forum_topic_edited?: { name?: string; icon_custom_emoji_id?: string };
  forum_topic_closed?: Record<string, never>;
  forum_topic_reopened?: Record<string, never>;
  text?: string;
  entities?: TgMessageEntity[];
  caption?: string;
  caption_entities?: TgMessageEntity[];
  photo?: TgPhotoSize[];
  document?: TgDocument;
  reply_markup?: unknown;
  /** The message this one answers (from `reply_parameters`), without its own `reply_to_message`, as Telegram nests one level. */
  reply_to_message?: TgMessage;
}

export interface TgCallbackQuery {
  id: string;
  from: TgUser;
  message: TgMessage;
  chat_instance: string;
  data: string;
}

export interface TgUpdate {
  update_id: number;
  message?: TgMessage;
  callback_query?: TgCallbackQuery;
}

export interface BotCommand {
  command: string;
  description: string;
}
