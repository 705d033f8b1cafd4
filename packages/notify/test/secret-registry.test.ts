// The process's secret registry (issue 15, findings 1 and 8): the forms a secret is recognised by,
// what it redacts from a notification, and that it is one registry however many copies load it.
import { inspect } from 'node:util';
import { expect, test } from 'vitest';
import { type Notification, redactSecrets, registerSecret } from '../src/index.js';
import { redactNotification, secretForms } from '../src/secret-registry.js';
import { ScriptedNotifier } from './scripted-notifier.js';

test('a secret is recognised as registered, trimmed, URL- and form-encoded, JSON-escaped, and by its secret part', () => {
  registerSecret(' pw/with "quotes" & spaces-SECRET \n');
  const secret = 'pw/with "quotes" & spaces-SECRET';
  for (const form of [
    secret,
    encodeURIComponent(secret),
    new URLSearchParams({ s: secret }).toString().slice(2),
    JSON.stringify(secret).slice(1, -1),
  ])
    expect(redactSecrets(`<${form}>`)).toBe('<***>');
  // A Telegram token as the environment may hold it (a trailing newline), and its part after the colon on its own.
  registerSecret('424242:AAH-reg-SECRET-0\n');
  expect(redactSecrets('token 424242:AAH-reg-SECRET-0, part AAH-reg-SECRET-0, encoded 424242%3AAAH-reg-SECRET-0')).toBe(
    'token ***, part ***, encoded ***',
  );
});

test('URLs: the password of user:pass@, credential-like query values and a Slack webhook path count on their own', () => {
  registerSecret('smtps://trainer:p%40ss-SECRET-1@smtp.example.test:465');
  expect(redactSecrets('login p@ss-SECRET-1 and p%40ss-SECRET-1')).toBe('login *** and ***');
  registerSecret('https://api.example.test/v1?api_key=KEY-SECRET-2&region=eu');
  expect(redactSecrets('key KEY-SECRET-2 in region=eu')).toBe('key *** in region=eu');
  registerSecret('https://hooks.slack.com/services/T0AAA/B0BBB/HOOK-SECRET-3');
  expect(redactSecrets('POST /services/T0AAA/B0BBB/HOOK-SECRET-3 failed; token HOOK-SECRET-3')).toBe('POST *** failed; token ***');
  registerSecret('Bearer BEARER-SECRET-4');
  expect(redactSecrets('sent BEARER-SECRET-4')).toBe('sent ***');
});

test('values shorter than 4 characters, empty or not strings are ignored: they would redact ordinary words', () => {
  registerSecret('abc', '', undefined, null, 42 as unknown as string);
  expect(redactSecrets('abc abcd')).toBe('abc abcd');
  expect(secretForms('  ')).toEqual([]);
});

test('a notifier with a Redis URL registers its password, not the host: coordination warnings still say where', () => {
  new ScriptedNotifier([], { redisUrl: 'redis://:REDIS-SECRET-5@cache.example.test:6379/?password=QUERY-SECRET-6' });
  expect(redactSecrets('redis://cache.example.test:6379 said REDIS-SECRET-5 QUERY-SECRET-6')).toBe(
    'redis://cache.example.test:6379 said *** ***',
  );
});

test('one registry per process: on globalThis under Symbol.for, not enumerable, printed without its secrets', () => {
  registerSecret('GLOBAL-SECRET-7');
  const registry = (globalThis as Record<symbol, unknown>)[Symbol.for('epochcast.secretRegistry')] as { redact(text: string): string };
  // Another copy of @epochcast/notify (a CLI's beside an application's) finds the same one.
  expect(registry.redact('GLOBAL-SECRET-7')).toBe('***');
  expect(Object.getOwnPropertyDescriptor(globalThis, Symbol.for('epochcast.secretRegistry'))?.enumerable).toBe(false);
  expect(inspect(registry, { showHidden: true, depth: Number.POSITIVE_INFINITY })).not.toContain('GLOBAL-SECRET-7');
  expect(JSON.stringify(registry)).not.toContain('GLOBAL-SECRET-7');
});

test('a notification is redacted everywhere a run, a library or a wrapped command can put text: run details, stop reason, error, metric names', () => {
  registerSecret('NOTE-SECRET-8');
  const stats = { epoch: 0, totalEpochs: 1, trainLoss: 1, validLoss: 1, metrics: { 'acc NOTE-SECRET-8': 0.5 }, lr: 0.1, timeMs: 1 };
  const n: Notification = {
    event: 'error',
    run: {
      name: 'run NOTE-SECRET-8',
      id: 'abcd1234',
      host: 'h',
      rank: 0,
      startedAt: 0,
      totalEpochs: 1,
      schedule: '$ train --key NOTE-SECRET-8',
    },
    stats,
    history: [stats],
    metricNames: ['acc NOTE-SECRET-8'],
    durationMs: 1,
    status: 'failed',
    stopReason: 'stopped: NOTE-SECRET-8',
    error: { name: 'E NOTE-SECRET-8', message: 'm NOTE-SECRET-8', stack: 's NOTE-SECRET-8' },
  };
  const out = redactNotification(n);
  expect(JSON.stringify(out)).not.toContain('NOTE-SECRET-8');
  expect(out.run.schedule).toBe('$ train --key ***');
  expect(out.history[0]?.metrics).toEqual({ 'acc ***': 0.5 });
  // The original is left as it was.
  expect(n.run.name).toBe('run NOTE-SECRET-8');
});
