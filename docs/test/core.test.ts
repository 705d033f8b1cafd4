// The samples of packages/core/README.md, run as a reader runs them: what they print, what the
// Telegram server received.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTelegramServer, type TelegramServer } from '@epochcast/testkit';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ROOT, runSample } from './support.js';

/** The rows of the epoch table(s) a run printed: `epoch train_loss valid_loss <metrics…> time`. */
function tableRows(stdout: string): number[][] {
  return stdout
    .split('\n')
    .filter((line) => /^\d+\s+[\d.]+\s/.test(line))
    .map((line) => line.trim().split(/\s+/).slice(0, -1).map(Number));
}

describe('packages/core/README.md', () => {
  test('the complete example trains 5 epochs of fitOneCycle at the lr lrFind suggests, and learns', async () => {
    const run = await runSample('core/complete-example');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^epoch\s+train_loss\s+valid_loss\s+accuracy\s+time$/m);
    const rows = tableRows(run.stdout);
    expect(rows.map((r) => r[0])).toEqual([0, 1, 2, 3, 4]);
    // Chance is 1/3; the argmax of 3 features is easy for a 16-unit MLP.
    expect(rows.at(-1)?.[3]).toBeGreaterThan(0.8);
  });

  test('the data-sources reader streams JSON files through fromIterables, a fresh shuffled pass each epoch', async () => {
    const run = await runSample('core/data-sources');
    expect(run.code, run.stderr).toBe(0);
    const rows = tableRows(run.stdout);
    expect(rows.map((r) => r[0])).toEqual([0, 1, 2, 3, 4]);
    expect(rows.at(-1)?.[3]).toBeGreaterThan(0.8);
  });

  test('StopBelow ends the fit with CancelFitError at the first epoch whose valid loss is below its target', async () => {
    const run = await runSample('core/callbacks');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('stopped: valid loss below 0.3');
    const validLosses = tableRows(run.stdout).map((r) => r[2] ?? Number.NaN);
    expect(validLosses.length).toBeLessThan(50);
    expect(validLosses.at(-1)).toBeLessThan(0.3);
    expect(validLosses.slice(0, -1).every((loss) => loss >= 0.3)).toBe(true);
  });

  test('the callbacks run under a compiled model.fit: the table, the CSV log, and fitWithCallbacks', async () => {
    const run = await runSample('core/model-fit');
    expect(run.code, run.stderr).toBe(0);
    // tfjs's own metric name, as the README says.
    expect(run.stdout).toMatch(/^epoch\s+train_loss\s+valid_loss\s+acc\s+time$/m);
    const first = tableRows(run.stdout);
    expect(first.length).toBeGreaterThanOrEqual(3);
    expect(first.length).toBeLessThanOrEqual(10);
    // The second fit (fitWithCallbacks) rewrote the log: a header and one row per epoch of its 10.
    const csv = (await readFile(path.join(ROOT, 'out/log.csv'), 'utf8')).trim().split('\n');
    expect(csv[0]).toBe('epoch,train_loss,valid_loss,acc,time');
    expect(csv.slice(1).map((line) => Number(line.split(',')[0]))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test('the check* helpers fail a callback at construction with the message the README shows', async () => {
    const run = await runSample('core/check-helpers');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(
      'ConfigError: EveryNth: every must be an integer >= 1 (a number of epochs); received 0.\n' +
        'ConfigError: EveryNth: quiet must be true or false; received "yes".\n' +
        'ConfigError: EveryNth: options must be an object such as { every: 5 }; received 5.\n',
    );
  });
});

describe('ReportedTraining, with TelegramCallback from the environment', () => {
  const TOKEN = '7310042:docs-core-reported-training';
  const CHAT = 5150;
  let telegram: TelegramServer;
  let socketDir: string;
  beforeAll(async () => {
    telegram = await startTelegramServer({ token: TOKEN });
    // A hub of its own: no other test's run on this machine shares the bot.
    socketDir = await mkdtemp(path.join(tmpdir(), 'docs-core-sockets-'));
  });
  afterAll(async () => {
    await telegram.close();
    await rm(socketDir, { recursive: true, force: true });
  });

  test("a script's epochs, read from its output, reach the chat: the start, the end with its table, the loss plot", async () => {
    const run = await runSample('core/reported-training', {
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_CHAT_ID: String(CHAT),
      TELEGRAM_API_ROOT: telegram.url,
      EPOCHCAST_SOCKET_DIR: socketDir,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(tableRows(run.stdout).map((r) => r[0])).toEqual([0, 1, 2]);
    const texts = telegram.messages(CHAT).map((m) => m.text ?? m.caption ?? '');
    expect(texts[0]).toContain('started');
    expect(texts[0]).toContain('$ node train.js');
    expect(texts.some((t) => t.includes('completed 3 epochs'))).toBe(true);
    expect(texts.some((t) => t.includes('exit code 0'))).toBe(true);
    expect(telegram.messages(CHAT).some((m) => m.photo !== undefined)).toBe(true);
  });
});
