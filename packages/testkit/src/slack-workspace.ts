/**
 * The workspace behind the local Slack server: its channels (IDs and names), the messages posted
 * and edited, the files uploaded — and the checks Slack makes on them, as `{ ok: false, error }`
 * codes (`channel_not_found`, `no_text`, `msg_too_long`, `invalid_blocks`, …).
 */

import { bool, str, structured } from './params.js';
import { parseBlocks } from './slack-blocks.js';

export interface SlackMessage {
  channel: string;
  ts: string;
  text: string;
  blocks?: unknown[];
  thread_ts?: string;
  reply_broadcast?: boolean;
  user: string;
  bot_id: string;
  edited?: { user: string; ts: string };
  files?: { id: string; name: string; title?: string }[];
  /** How it was posted. */
  via: 'api' | 'webhook' | 'file';
}

export interface SlackFile {
  id: string;
  name: string;
  /** The `length` declared to files.getUploadURLExternal. */
  length: number;
  /** The bytes POSTed to the upload URL (undefined until then). */
  bytes?: Buffer;
  contentType?: string;
  title?: string;
  /** Set by files.completeUploadExternal. */
  completed: boolean;
  channel?: string;
  threadTs?: string;
  initialComment?: string;
}

/** A Web API refusal: `{ ok: false, error, response_metadata: { messages } }`, HTTP `status` (200, as Slack answers). */
export class SlackApiError extends Error {
  constructor(
    readonly code: string,
    readonly messages: string[] = [],
    readonly status = 200,
  ) {
    super(code);
  }
}

export const BOT_USER = 'U0TESTBOT';
export const BOT_ID = 'B0TESTBOT';
const TEXT_MAX = 40_000;
const WEBHOOK_CHANNEL = 'C0WEBHOOK';
const ID_PATTERN = /^[CGD][A-Z0-9]{2,}$/;

export class SlackWorkspace {
  readonly messages: SlackMessage[] = [];
  readonly files: SlackFile[] = [];
  readonly #restricted: boolean;
  readonly #ids = new Set<string>();
  readonly #names = new Map<string, string>();
  #seq = 0;
  #nextId = 1;

  /** `channels` as `SlackServerOptions.channels`; undefined: any channel exists. */
  constructor(channels: readonly (string | { id: string; name: string })[] | undefined) {
    this.#restricted = channels !== undefined;
    for (const channel of channels ?? []) {
      if (typeof channel !== 'string') {
        this.#ids.add(channel.id);
        this.#names.set(channel.name.replace(/^#/, '').toLowerCase(), channel.id);
      } else if (ID_PATTERN.test(channel)) this.#ids.add(channel);
      else this.#nameToId(channel);
    }
  }

  /** Messages in a channel (ID or name), or in all channels. */
  messagesIn(channel?: string): readonly SlackMessage[] {
    if (channel === undefined) return this.messages;
    const id = this.#names.get(channel.replace(/^#/, '').toLowerCase()) ?? channel;
    return this.messages.filter((m) => m.channel === id);
  }

  /** chat.postMessage; returns the answer's fields. */
  postMessage(p: Record<string, unknown>): Record<string, unknown> {
    const channel = this.#channel(p.channel);
    const { text, blocks } = this.#content(p);
    const threadTs = str(p.thread_ts);
    const message: SlackMessage = {
      channel,
      ts: this.#ts(),
      text,
      ...(blocks ? { blocks } : {}),
      ...(threadTs ? { thread_ts: threadTs } : {}),
      ...(threadTs && bool(p.reply_broadcast) ? { reply_broadcast: true } : {}),
      user: BOT_USER,
      bot_id: BOT_ID,
      via: 'api',
    };
    this.messages.push(message);
    return { channel, ts: message.ts, message: wire(message) };
  }

  /** chat.update; returns the answer's fields. */
  update(p: Record<string, unknown>): Record<string, unknown> {
    const channel = this.#channel(p.channel);
    const ts = str(p.ts);
    const index = this.messages.findIndex((m) => m.channel === channel && m.ts === ts);
    const old = this.messages[index];
    if (!ts || !old) throw new SlackApiError('message_not_found');
    if (old.via === 'webhook') throw new SlackApiError('cant_update_message');
    const { text, blocks } = this.#content(p);
    const { blocks: _old, ...rest } = old;
    const message: SlackMessage = { ...rest, text, ...(blocks ? { blocks } : {}), edited: { user: BOT_USER, ts: this.#ts() } };
    this.messages[index] = message;
    return { channel, ts: message.ts, text, message: wire(message) };
  }

  /** files.getUploadURLExternal: a file waiting for its bytes at `<uploadRoot>/<id>`. */
  getUploadUrl(p: Record<string, unknown>, uploadRoot: string): Record<string, unknown> {
    const filename = str(p.filename);
    const length = Number(str(p.length));
    if (!filename) throw new SlackApiError('invalid_arguments', ['[ERROR] missing required field: filename']);
    if (!Number.isInteger(length) || length < 0) throw new SlackApiError('invalid_arguments', ['[ERROR] missing required field: length']);
    const id = `F0${String(this.#nextId++).padStart(8, '0')}`;
    this.files.push({ id, name: filename, length, completed: false });
    return { upload_url: `${uploadRoot}/${id}`, file_id: id };
  }

  /** The bytes POSTed to a file's upload URL; undefined for an unknown file. */
  upload(id: string, bytes: Buffer, contentType: string): SlackFile | undefined {
    const file = this.files.find((f) => f.id === id);
    if (file) Object.assign(file, { bytes, contentType });
    return file;
  }

  /** files.completeUploadExternal: shares the uploaded files, in a channel when one is given. */
  completeUpload(p: Record<string, unknown>): Record<string, unknown> {
    const entries = structured(p.files, () => new SlackApiError('invalid_arguments', ['[ERROR] invalid JSON [json-pointer:/files]']));
    if (!Array.isArray(entries) || entries.length === 0)
      throw new SlackApiError('invalid_arguments', ['[ERROR] missing required field: files']);
    const channelArg = str(p.channel_id) ?? str(p.channels)?.split(',')[0];
    const channel = channelArg ? this.#channel(channelArg) : undefined;
    const threadTs = str(p.thread_ts);
    const initialComment = str(p.initial_comment);
    const files = entries.map((entry: unknown) => {
      const { id, title } = (entry ?? {}) as Partial<Record<string, unknown>>;
      const file = this.files.find((f) => f.id === id);
      if (!file?.bytes) throw new SlackApiError('file_not_found');
      return { file, title: typeof title === 'string' ? title : undefined };
    });
    for (const { file, title } of files) {
      file.completed = true;
      if (title) file.title = title;
      if (channel) file.channel = channel;
      if (threadTs) file.threadTs = threadTs;
      if (initialComment) file.initialComment = initialComment;
    }
    if (channel) {
      this.messages.push({
        channel,
        ts: this.#ts(),
        text: initialComment ?? '',
        ...(threadTs ? { thread_ts: threadTs } : {}),
        user: BOT_USER,
        bot_id: BOT_ID,
        files: files.map(({ file }) => ({ id: file.id, name: file.name, ...(file.title ? { title: file.title } : {}) })),
        via: 'file',
      });
    }
    return {
      files: files.map(({ file }) => ({
        id: file.id,
        name: file.name,
        title: file.title ?? file.name,
        mimetype: file.contentType ?? 'application/octet-stream',
        size: file.bytes?.length ?? 0,
      })),
    };
  }

  /**
   * A message through the incoming webhook, or the webhook's error text (`invalid_blocks`,
   * `no_text`, `msg_too_long`). Webhooks post where they were installed: channel, username and
   * icon overrides are ignored.
   */
  postWebhook(fields: Record<string, unknown>): string | undefined {
    const blocks = parseBlocks(fields.blocks);
    if ('error' in blocks) return 'invalid_blocks';
    const text = str(fields.text) ?? '';
    if (text === '' && !blocks.blocks && fields.attachments === undefined) return 'no_text';
    if (text.length > TEXT_MAX) return 'msg_too_long';
    this.messages.push({
      channel: WEBHOOK_CHANNEL,
      ts: this.#ts(),
      text,
      ...(blocks.blocks ? { blocks: blocks.blocks } : {}),
      user: BOT_USER,
      bot_id: BOT_ID,
      via: 'webhook',
    });
    return undefined;
  }

  #content(p: Record<string, unknown>): { text: string; blocks: unknown[] | undefined } {
    const parsed = parseBlocks(p.blocks);
    if ('error' in parsed) throw new SlackApiError(parsed.error, parsed.messages);
    const text = str(p.text) ?? '';
    if (text === '' && !parsed.blocks && p.attachments === undefined) throw new SlackApiError('no_text');
    if (text.length > TEXT_MAX) throw new SlackApiError('msg_too_long');
    return { text, blocks: parsed.blocks };
  }

  #channel(value: unknown): string {
    const raw = str(value)?.trim() ?? '';
    if (raw === '') throw new SlackApiError('channel_not_found');
    if (ID_PATTERN.test(raw)) {
      if (this.#restricted && !this.#ids.has(raw)) throw new SlackApiError('channel_not_found');
      return raw;
    }
    const name = raw.replace(/^#/, '').toLowerCase();
    const id = this.#names.get(name);
    if (id) return id;
    if (this.#restricted) throw new SlackApiError('channel_not_found');
    return this.#nameToId(name);
  }

  #nameToId(channel: string): string {
    const name = channel.replace(/^#/, '').toLowerCase();
    const existing = this.#names.get(name);
    if (existing) return existing;
    const id = `C0${String(this.#nextId++).padStart(8, '0')}`;
    this.#names.set(name, id);
    this.#ids.add(id);
    return id;
  }

  /** Slack timestamps are unique per workspace and increase: seconds, then a sequence. */
  #ts(): string {
    this.#seq += 1;
    return `${Math.floor(Date.now() / 1000)}.${String(this.#seq % 1_000_000).padStart(6, '0')}`;
  }
}

/** A message as the Web API returns it. */
function wire(message: SlackMessage): Record<string, unknown> {
  const { via: _via, channel: _channel, ...rest } = message;
  return { type: 'message', ...rest };
}
