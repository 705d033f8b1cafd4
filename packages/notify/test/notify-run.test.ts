import { hostname } from 'node:os';
import { ConfigError } from '@epochcast/core';
import { expect, test } from 'vitest';
import { notifyRun, renderText } from '../src/index.js';
import { ScriptedNotifier } from './scripted-notifier.js';

const quiet = { logger: { warn: () => {} } };

test('start, then end (completed) around a job that resolves; its value comes back', async () => {
  const a = new ScriptedNotifier([{}], quiet);
  const b = new ScriptedNotifier([{ delayMs: 20 }], quiet);
  const value = await notifyRun(async () => 42, { notifiers: [a, b], name: 'reindex' });
  expect(value).toBe(42);
  for (const n of [a, b]) expect(n.events()).toEqual(['start', 'end']);
  const [start, end] = a.sent.map((s) => s.notification);
  expect(start?.run).toMatchObject({ name: 'reindex', host: hostname(), rank: 0, totalEpochs: 0, schedule: 'job' });
  expect(start?.run.id).toMatch(/^[0-9a-f]{8}$/);
  expect(end).toMatchObject({ event: 'end', status: 'completed', history: [], metricNames: [] });
  expect(end?.run.id).toBe(start?.run.id);
  // A job's messages render without a table: headline and details only.
  expect(renderText(end as NonNullable<typeof end>)).toMatch(/^✅ reindex completed/);
});

test("a job that throws: error (name, message, stack) is sent, then the job's own error is rethrown", async () => {
  const n = new ScriptedNotifier([{}], quiet);
  const boom = new RangeError('disk full');
  await expect(notifyRun(() => Promise.reject(boom), { notifiers: [n], name: 'backup' })).rejects.toBe(boom);
  expect(n.events()).toEqual(['start', 'error']);
  const error = n.sent[1]?.notification;
  expect(error).toMatchObject({ status: 'failed', error: { name: 'RangeError', message: 'disk full' } });
  expect(error?.error?.stack).toContain('notify-run.test.ts');
  expect(renderText(error as NonNullable<typeof error>)).toMatch(/^❌ backup failed .*RangeError: disk full/);
});

test('a non-Error rejection is described', async () => {
  const n = new ScriptedNotifier([{}], quiet);
  await expect(notifyRun(() => Promise.reject('nope'), { notifiers: [n] })).rejects.toBe('nope');
  expect(n.sent[1]?.notification.error).toEqual({ name: 'Error', message: '"nope"' });
});

test('notifying never throws into the job: failing and hanging notifiers, bounded by the flush bound', async () => {
  const warnings: string[] = [];
  const logger = { warn: (line: string) => warnings.push(line) };
  const refusing = new ScriptedNotifier([{ error: () => new Error('service down') }], { logger, retries: 0 });
  const hanging = new ScriptedNotifier([{ hang: true }], { logger, retries: 0 });
  const t0 = performance.now();
  const value = await notifyRun(async () => 'done', { notifiers: [refusing, hanging], flushTimeoutMs: 150 });
  expect(value).toBe('done');
  expect(performance.now() - t0).toBeLessThan(2_000);
  expect(warnings.some((w) => w.includes('could not deliver the start message: service down'))).toBe(true);
  expect(warnings.some((w) => w.includes('flush bound of 150 ms'))).toBe(true);
});

test('events a notifier does not want are not sent; secrets are redacted', async () => {
  const endOnly = new ScriptedNotifier([{}], { ...quiet, on: ['end', 'error'], secret: 'hunter22' });
  await expect(
    notifyRun(
      async () => {
        throw new Error('login with hunter22 failed');
      },
      { notifiers: [endOnly], name: 'sync' },
    ),
  ).rejects.toThrow('hunter22');
  expect(endOnly.events()).toEqual(['error']);
  expect(endOnly.sent[0]?.notification.error?.message).toBe('login with *** failed');
});

test('bad options are a ConfigError before the job runs', async () => {
  let ran = false;
  const job = async () => {
    ran = true;
  };
  // @ts-expect-error: notifiers is required
  await expect(notifyRun(job, {})).rejects.toThrow(ConfigError);
  await expect(notifyRun(job, { notifiers: [new ScriptedNotifier()], name: ' ' })).rejects.toThrow(/name must be a non-empty string/);
  expect(ran).toBe(false);
});
