import { TelegramCallback } from '@epochcast/telegram';
import { startTelegramServer, type TelegramServer } from '@epochcast/testkit';
import { notifierConformance } from '@epochcast/testkit/conformance';

const TOKEN = '424242:conformance-SECRET-token';
const CHAT = 777;
// Calls that carry a message; getMe, setMyCommands and the getUpdates long poll do not.
const MESSAGE_METHODS = ['sendMessage', 'editMessageText', 'sendPhoto'];
const TEXT_METHODS = new Set(['sendMessage', 'editMessageText']);

notifierConformance<TelegramServer>({
  name: 'TelegramCallback',
  start: () => startTelegramServer({ token: TOKEN }),
  // Production defaults (1 message/s per chat, commands on: a long poll runs beside every fit).
  notifier: (server, options) =>
    new TelegramCallback({ ...options, token: TOKEN, chatId: CHAT, apiRoot: server.url, handleSignals: false }),
  // One string per delivered message: texts and edits (the end's photo belongs to its message).
  delivered: (server) =>
    server.received.filter((c) => c.status === 200 && TEXT_METHODS.has(c.method)).map((c) => String(c.params.text ?? '')),
  attempts: (server) => server.received.filter((c) => MESSAGE_METHODS.includes(c.method)).length,
  secrets: () => [TOKEN, TOKEN.split(':')[1] ?? TOKEN],
  scope: { methods: MESSAGE_METHODS },
});
