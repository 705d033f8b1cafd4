// Forum topics of the local Telegram server, through the real client: a forum chat, the topic
// methods with their rights and errors, messages and updates carrying their topic.
import { Api, InputFile, TelegramApiError } from 'node-telegram-bot-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTelegramServer, type TelegramServer } from '../src/index.js';
import { rejection } from './helpers.js';

const TOKEN = '987654:test-token';
const FORUM = -1001234567890;
const GROUP = -1009876543210;
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
    '1f15c4890000000d49444154789c6360000000000005000100' +
    '0d0a2db40000000049454e44ae426082',
  'hex',
);

let server: TelegramServer;
let api: Api;

beforeEach(async () => {
  server = await startTelegramServer({ token: TOKEN });
  api = new Api(TOKEN, { apiRoot: server.url, maxRetries: 0, timeoutMs: 5_000 });
});

afterEach(async () => {
  await server.close();
});

async function apiError(promise: Promise<unknown>): Promise<TelegramApiError> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(TelegramApiError);
  return error as TelegramApiError;
}

describe('a forum chat', () => {
  it('shows is_forum in getChat and on its messages; only a supergroup can be one', async () => {
    server.createForum(FORUM, { title: 'Training' });
    expect(await api.getChat({ chat_id: FORUM })).toMatchObject({ id: FORUM, type: 'supergroup', is_forum: true, title: 'Training' });
    const sent = await api.sendMessage({ chat_id: FORUM, text: 'in General' });
    expect(sent.chat).toMatchObject({ is_forum: true });
    // General's messages belong to no topic.
    expect(sent.message_thread_id).toBeUndefined();
    expect(sent.is_topic_message).toBeUndefined();
    expect(() => server.createForum(-4242)).toThrow(/not a supergroup id/);
  });
});

describe('createForumTopic', () => {
  it('creates a topic whose id is its forum_topic_created service message, and messages go into it', async () => {
    server.createForum(FORUM);
    const topic = await api.createForumTopic({ chat_id: FORUM, name: '⏳ mnist', icon_color: 0xffd67e });
    expect(topic).toEqual({ message_thread_id: expect.any(Number), name: '⏳ mnist', icon_color: 0xffd67e });
    const service = server.messages(FORUM).find((m) => m.message_id === topic.message_thread_id);
    expect(service).toMatchObject({
      message_thread_id: topic.message_thread_id,
      is_topic_message: true,
      forum_topic_created: { name: '⏳ mnist', icon_color: 0xffd67e },
    });

    const text = await api.sendMessage({ chat_id: FORUM, message_thread_id: topic.message_thread_id, text: 'epoch 1' });
    expect(text).toMatchObject({ message_thread_id: topic.message_thread_id, is_topic_message: true });
    const photo = await api.sendPhoto({
      chat_id: FORUM,
      message_thread_id: topic.message_thread_id,
      photo: new InputFile(PNG, { filename: 'p.png', contentType: 'image/png' }),
    });
    expect(photo.message_thread_id).toBe(topic.message_thread_id);
    const document = await api.sendDocument({
      chat_id: FORUM,
      message_thread_id: topic.message_thread_id,
      document: new InputFile(Buffer.from('log'), { filename: 'log.txt', contentType: 'text/plain' }),
    });
    expect(document.message_thread_id).toBe(topic.message_thread_id);
    expect(await api.sendChatAction({ chat_id: FORUM, message_thread_id: topic.message_thread_id, action: 'typing' })).toBe(true);
    // An edit keeps the message where it is.
    const edited = await api.editMessageText({ chat_id: FORUM, message_id: text.message_id, text: 'epoch 2' });
    expect(edited).toMatchObject({ text: 'epoch 2', message_thread_id: topic.message_thread_id, is_topic_message: true });
    // A reply without message_thread_id lands in the topic of the message it answers.
    const reply = await api.sendMessage({ chat_id: FORUM, text: 'answer', reply_parameters: { message_id: text.message_id } });
    expect(reply.message_thread_id).toBe(topic.message_thread_id);
    expect(server.topics(FORUM)).toEqual([{ ...topic, closed: false, deleted: false, createdByBot: true, names: ['⏳ mnist'] }]);
  });

  it('refuses a chat that is not a forum, a bot without the right, a bad name or colour', async () => {
    const notForum = await apiError(api.createForumTopic({ chat_id: GROUP, name: 'x' }));
    expect([notForum.errorCode, notForum.description]).toEqual([400, 'Bad Request: the chat is not a forum']);
    server.createForum(FORUM, { canManageTopics: false });
    const noRight = await apiError(api.createForumTopic({ chat_id: FORUM, name: 'x' }));
    expect([noRight.errorCode, noRight.description]).toEqual([400, 'Bad Request: not enough rights to create a topic']);
    server.createForum(FORUM);
    for (const name of ['', 'x'.repeat(129)])
      expect((await apiError(api.createForumTopic({ chat_id: FORUM, name }))).description).toBe('Bad Request: TOPIC_NAME_INVALID');
    // 128 characters is the limit, counted as characters (not UTF-16 units).
    expect((await api.createForumTopic({ chat_id: FORUM, name: '✅'.repeat(128) })).name).toHaveLength(128);
    expect((await apiError(api.createForumTopic({ chat_id: FORUM, name: 'x', icon_color: 0x123456 }))).description).toBe(
      'Bad Request: TOPIC_ICON_COLOR_INVALID',
    );
  });
});

describe('sending into topics', () => {
  it('an unknown or deleted topic is not found; a closed one refuses a bot that cannot manage topics', async () => {
    server.createForum(FORUM, { canManageTopics: false, canDeleteMessages: true });
    const topic = server.createTopic(FORUM, 'by a member');
    expect((await apiError(api.sendMessage({ chat_id: FORUM, message_thread_id: 999, text: 'x' }))).description).toBe(
      'Bad Request: message thread not found',
    );
    const outsideForum = await apiError(api.sendMessage({ chat_id: GROUP, message_thread_id: topic.message_thread_id, text: 'x' }));
    expect(outsideForum.description).toBe('Bad Request: message thread not found');

    await api.sendMessage({ chat_id: FORUM, message_thread_id: topic.message_thread_id, text: 'hello' });
    // Not its creator and without the right: the bot may not close or rename a member's topic.
    const close = await apiError(api.closeForumTopic({ chat_id: FORUM, message_thread_id: topic.message_thread_id }));
    expect(close.description).toBe('Bad Request: not enough rights to manage topics');
    expect(
      (await apiError(api.editForumTopic({ chat_id: FORUM, message_thread_id: topic.message_thread_id, name: 'x' }))).description,
    ).toBe('Bad Request: not enough rights to manage topics');

    server.createForum(FORUM, { canManageTopics: true });
    await api.closeForumTopic({ chat_id: FORUM, message_thread_id: topic.message_thread_id });
    // An administrator who manages topics still writes in a closed one…
    await api.sendMessage({ chat_id: FORUM, message_thread_id: topic.message_thread_id, text: 'still here' });
    // …a plain member does not.
    server.createForum(FORUM, { canManageTopics: false });
    const closed = await apiError(api.sendMessage({ chat_id: FORUM, message_thread_id: topic.message_thread_id, text: 'x' }));
    expect([closed.errorCode, closed.description]).toEqual([400, 'Bad Request: TOPIC_CLOSED']);
    expect(server.topics(FORUM)).toMatchObject([{ name: 'by a member', closed: true, createdByBot: false }]);
    expect(
      server
        .messages(FORUM)
        .filter((m) => m.text !== undefined)
        .map((m) => m.text),
    ).toEqual(['hello', 'still here']);
  });

  it('closed topics: TOPIC_CLOSED for a plain member bot; TOPIC_NOT_MODIFIED for a second close or the same name', async () => {
    server.createForum(FORUM);
    const topic = await api.createForumTopic({ chat_id: FORUM, name: 'run' });
    const thread = { chat_id: FORUM, message_thread_id: topic.message_thread_id };
    await api.closeForumTopic(thread);
    expect((await apiError(api.closeForumTopic(thread))).description).toBe('Bad Request: TOPIC_NOT_MODIFIED');
    expect((await apiError(api.editForumTopic({ ...thread, name: 'run' }))).description).toBe('Bad Request: TOPIC_NOT_MODIFIED');
    await api.editForumTopic({ ...thread, name: '✅ run' });
    await api.reopenForumTopic(thread);
    expect((await apiError(api.reopenForumTopic(thread))).description).toBe('Bad Request: TOPIC_NOT_MODIFIED');
    await api.closeForumTopic(thread);
    const [record] = server.topics(FORUM);
    expect(record).toMatchObject({ name: '✅ run', closed: true, deleted: false, names: ['run', '✅ run'] });
    const service = server.messages(FORUM).filter((m) => m.message_thread_id === topic.message_thread_id);
    expect(service.map((m) => Object.keys(m).find((k) => k.startsWith('forum_topic_')))).toEqual([
      'forum_topic_created',
      'forum_topic_closed',
      'forum_topic_edited',
      'forum_topic_reopened',
      'forum_topic_closed',
    ]);
  });

  it('deleteForumTopic removes the topic and its messages; later sends there are not found', async () => {
    server.createForum(FORUM);
    const topic = await api.createForumTopic({ chat_id: FORUM, name: 'gone' });
    await api.sendMessage({ chat_id: FORUM, message_thread_id: topic.message_thread_id, text: 'x' });
    const general = await api.sendMessage({ chat_id: FORUM, text: 'general' });
    await api.deleteForumTopic({ chat_id: FORUM, message_thread_id: topic.message_thread_id });
    expect(server.messages(FORUM).map((m) => m.message_id)).toEqual([general.message_id]);
    expect(server.topics(FORUM)[0]).toMatchObject({ deleted: true });
    const after = await apiError(api.sendMessage({ chat_id: FORUM, message_thread_id: topic.message_thread_id, text: 'x' }));
    expect(after.description).toBe('Bad Request: message thread not found');
  });
});

describe('updates from topics', () => {
  it('a user message in a topic carries message_thread_id and is_topic_message; a button press carries its message', async () => {
    server.createForum(FORUM);
    const topic = await api.createForumTopic({ chat_id: FORUM, name: 'run' });
    const pushed = server.pushUpdate({ chatId: FORUM, text: '/status', threadId: topic.message_thread_id });
    expect(pushed.message).toMatchObject({ message_thread_id: topic.message_thread_id, is_topic_message: true, text: '/status' });
    const inGeneral = server.pushUpdate({ chatId: FORUM, text: '/runs' });
    expect(inGeneral.message?.message_thread_id).toBeUndefined();
    const question = await api.sendMessage({
      chat_id: FORUM,
      message_thread_id: topic.message_thread_id,
      text: 'Stop?',
      reply_markup: { inline_keyboard: [[{ text: 'Yes', callback_data: 'y' }]] },
    });
    const press = server.pushCallbackQuery({ chatId: FORUM, data: 'y', messageId: question.message_id });
    expect(press.callback_query?.message).toMatchObject({ message_thread_id: topic.message_thread_id, is_topic_message: true });
    const updates = await api.getUpdates({ timeout: 0 });
    expect(updates).toHaveLength(3);
    expect(() => server.pushUpdate({ chatId: FORUM, text: 'x', threadId: 999 })).toThrow(/no topic 999/);
    expect(() => server.pushUpdate({ chatId: GROUP, text: 'x', threadId: 1 })).toThrow(/not a forum/);
  });
});
