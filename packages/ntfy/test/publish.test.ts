import type { NotifierLogger } from '@epochcast/notify';
import { type NtfyPublish, type NtfyServer, startNtfyServer } from '@epochcast/testkit';
import { AlertsAt, CrashAt, SlowEpochs, toyLearner } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { NtfyCallback, type NtfyCallbackOptions } from '../src/index.js';

const TOKEN = 'tk_protocol0a1b2c3d4e5f6g7h8i9';
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let server: NtfyServer | undefined;
let lines: string[] = [];
const logger: NotifierLogger = { warn: (line) => lines.push(line) };

beforeAll(async () => {
  await tf.setBackend('cpu');
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  lines = [];
});

async function start(options: Parameters<typeof startNtfyServer>[0] = { token: TOKEN }): Promise<NtfyServer> {
  server = await startNtfyServer(options);
  return server;
}

function ntfy(s: NtfyServer, options: NtfyCallbackOptions = {}): NtfyCallback {
  return new NtfyCallback({ url: `${s.url}/runs`, token: TOKEN, runName: 'mnist-mlp', logger, handleSignals: false, ...options });
}

/** Waits at each epoch end, after the notifier queued its message, so epochs are not coalesced by speed alone. */
class Pause extends SlowEpochs {
  override order = 200;
  constructor() {
    super(40);
  }
}

const messages = (s: NtfyServer): NtfyPublish[] => s.messages().filter((r) => r.via === 'json');
const uploads = (s: NtfyServer): NtfyPublish[] => s.messages().filter((r) => r.via === 'headers');

describe('NtfyCallback on the wire', () => {
  test('start, low-priority epochs and the end with its summary and the loss plot as a PNG attachment', async () => {
    const s = await start();
    await toyLearner([ntfy(s, { minIntervalMs: 0 }), new Pause()]).fit(3);
    const sent = messages(s);
    expect(sent.map((m) => [m.title, m.priority, m.tags])).toEqual([
      ['mnist-mlp · started', 3, ['hourglass_flowing_sand']],
      ['mnist-mlp · epoch 1/3', 2, ['chart_with_upwards_trend']],
      ['mnist-mlp · epoch 2/3', 2, ['chart_with_upwards_trend']],
      ['mnist-mlp · epoch 3/3', 2, ['chart_with_upwards_trend']],
      ['mnist-mlp · completed', 3, ['white_check_mark']],
    ]);
    expect(sent.every((m) => m.topic === 'runs' && m.auth === 'bearer' && m.click === undefined)).toBe(true);
    const [first, epoch, , , end] = sent;
    expect(first?.message).toMatch(/^\*\*⏳ mnist-mlp \([0-9a-f]{8}\) started on .+ · 3 epochs/);
    expect(epoch?.markdown).toBe(false);
    expect(epoch?.message).toMatch(/^mnist-mlp epoch 1\/3 · train_loss [0-9.]+ · valid_loss [0-9.]+/);
    expect(end?.markdown).toBe(true);
    expect(end?.message).toMatch(/^\*\*✅ mnist-mlp completed 3 epochs/);
    expect(end?.message).toMatch(/```\nepoch +train_loss +valid_loss +accuracy +time\n/);

    const [plot] = uploads(s);
    expect(uploads(s)).toHaveLength(1);
    expect(plot?.attachment?.name).toMatch(/^mnist-mlp-[0-9a-f]{8}-losses\.png$/);
    const bytes = plot?.attachment?.bytes ?? Buffer.alloc(0);
    expect(bytes.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    // A real plot: an IHDR of some hundreds of pixels, tens of kilobytes at most.
    expect(bytes.readUInt32BE(16)).toBeGreaterThan(200);
    expect(bytes.readUInt32BE(20)).toBeGreaterThan(100);
    expect(bytes.length).toBeGreaterThan(2000);
    expect(bytes.length).toBeLessThan(2_000_000);
    expect(plot?.priority).toBe(2);
    expect(plot?.tags).toEqual(['chart_with_downwards_trend']);
    expect(plot?.title).toBe('mnist-mlp · completed');
    expect(plot?.message).toMatch(/^Losses of mnist-mlp \([0-9a-f]{8}\)$/);
    expect(lines).toEqual([]);
  });

  test('epochs are paced by default: ntfy cannot edit, so a fast run sends its first epoch and then the end', async () => {
    const s = await start();
    const notifier = ntfy(s, { plot: false });
    await toyLearner([notifier, new Pause()]).fit(5);
    expect(messages(s).map((m) => m.title)).toEqual(['mnist-mlp · started', 'mnist-mlp · epoch 1/5', 'mnist-mlp · completed']);
    expect(notifier.report.coalesced).toBe(4);
  });

  test('a crash is high priority with the x tag; alerts are default, high or urgent by level', async () => {
    const s = await start();
    const notifier = ntfy(s, { on: ['error', 'alert'] });
    const alerts = new AlertsAt(notifier, {
      0: ['info', 'lr finder done'],
      1: ['warning', 'valid_loss rose'],
      2: ['critical', 'loss is NaN'],
    });
    await expect(toyLearner([notifier, alerts, new Pause(), new CrashAt(3, new Error('CUDA out of memory'))]).fit(5)).rejects.toThrow(
      'CUDA out of memory',
    );
    expect(messages(s).map((m) => [m.title, m.priority, m.tags])).toEqual([
      ['mnist-mlp · alert', 3, ['information_source']],
      ['mnist-mlp · alert', 4, ['warning']],
      ['mnist-mlp · alert', 5, ['rotating_light']],
      ['mnist-mlp · failed', 4, ['x']],
    ]);
    expect(messages(s).at(-1)?.message).toContain('CUDA out of memory');
    expect(messages(s)[2]?.message).toContain('loss is NaN');
  });

  test('the priority option sets the ordinary messages; epochs never go above it, crashes never below high', async () => {
    const s = await start();
    await toyLearner([ntfy(s, { priority: 'min', minIntervalMs: 0, plot: false }), new Pause()]).fit(1);
    expect(messages(s).map((m) => m.priority)).toEqual([1, 1, 1]);
    s.clearReceived();
    await expect(toyLearner([ntfy(s, { priority: 5, on: ['error'] }), new CrashAt(0, new Error('boom'))]).fit(2)).rejects.toThrow('boom');
    expect(messages(s).map((m) => m.priority)).toEqual([5]);
  });

  test('clickUrl goes with every message and the plot', async () => {
    const s = await start();
    await toyLearner([ntfy(s, { on: ['start', 'end'], clickUrl: 'https://dashboard.example/runs/42' })]).fit(1);
    expect(s.messages().map((m) => m.click)).toEqual(Array(3).fill('https://dashboard.example/runs/42'));
  });

  test('markdown: false sends plain text, the table as it is', async () => {
    const s = await start();
    await toyLearner([ntfy(s, { on: ['end'], markdown: false, plot: false })]).fit(2);
    const [end] = messages(s);
    expect(end?.markdown).toBe(false);
    expect(end?.message).toMatch(/^✅ mnist-mlp completed 2 epochs/);
    expect(end?.message).not.toContain('```');
    expect(end?.message).toMatch(/\nepoch +train_loss/);
  });

  test('a run named in another script: the JSON title as is, the plot title RFC 2047-encoded and read back the same', async () => {
    const s = await start();
    await toyLearner([ntfy(s, { on: ['end'], runName: 'модель 🚀 東京' })]).fit(1);
    const [summary, plot] = s.messages();
    expect(summary?.title).toBe('модель 🚀 東京 · completed');
    expect(plot?.headers.title).toMatch(/^=\?UTF-8\?B\?/);
    expect(plot?.title).toBe('модель 🚀 東京 · completed');
    expect(plot?.attachment?.name).toMatch(/^run-[0-9a-f]{8}-losses\.png$/);
  });

  test('a 429 with Retry-After: 1 is waited out, then the message arrives once', async () => {
    const s = await start();
    s.faults.rateLimit(1, 1, { methods: ['publish'] });
    await toyLearner([ntfy(s, { on: ['end'], plot: false })]).fit(1);
    expect(s.received.map((r) => r.status)).toEqual([429, 200]);
    const [limited, delivered] = s.received;
    // Arrival times on the server: the retry came no sooner than the second asked for (clock margin 30 ms).
    expect((delivered?.at ?? 0) - (limited?.at ?? 0)).toBeGreaterThanOrEqual(970);
    expect(messages(s)).toHaveLength(1);
    expect(lines).toEqual([]);
  });

  test("a 429 without Retry-After (ntfy.sh's own) is retried with the base's growing backoff, and arrives once", async () => {
    const s = await start({ token: TOKEN, retryAfterHeader: false });
    s.faults.rateLimit(3, 1, { methods: ['publish'] });
    await toyLearner([ntfy(s, { on: ['end'], plot: false })]).fit(1);
    expect(s.received.map((r) => r.status)).toEqual([429, 429, 429, 200]);
    const gaps = s.received.slice(1).map((r, i) => r.at - (s.received[i]?.at ?? 0));
    // From 500 ms, doubling (randomised up to 2×): a fixed one-second wait would not reach 2 s (clock margin 30 ms).
    expect(gaps[0]).toBeGreaterThanOrEqual(470);
    expect(gaps[1]).toBeGreaterThanOrEqual(970);
    expect(gaps[2]).toBeGreaterThanOrEqual(1970);
    expect(messages(s)).toHaveLength(1);
    expect(lines).toEqual([]);
  });

  test('a message over 4096 bytes is trimmed to fit rather than turned into a attachment.txt attachment', async () => {
    const s = await start();
    // Three bytes a character in UTF-8: 9000 bytes of error message, 3000 UTF-16 units.
    const crash = new CrashAt(1, new Error(`東京大阪${'名古屋'.repeat(750)}`));
    await expect(toyLearner([ntfy(s, { on: ['error'] }), crash]).fit(3)).rejects.toThrow('東京大阪');
    const [error] = messages(s);
    expect(error?.attachment).toBeUndefined();
    expect(Buffer.byteLength(error?.message ?? '')).toBeLessThanOrEqual(4096);
    expect(Buffer.byteLength(error?.message ?? '')).toBeGreaterThan(2000);
    expect(error?.message).toMatch(/^\*\*❌ mnist-mlp failed/);
    expect(error?.message).toContain('東京大阪');
  });

  test('a plot over maxAttachmentBytes is skipped with a warning; one over the server limit is refused with a warning', async () => {
    const s = await start({ token: TOKEN, attachmentLimitBytes: 1000 });
    await toyLearner([ntfy(s, { on: ['end'], maxAttachmentBytes: 500 })]).fit(1);
    expect(s.received.map((r) => r.via)).toEqual(['json']);
    expect(lines).toEqual([expect.stringMatching(/^epochcast ntfy: the loss plot \(\d+ bytes\) is over maxAttachmentBytes \(500\)/)]);
    lines = [];
    await toyLearner([ntfy(s, { on: ['end'] })]).fit(1);
    expect(s.received.slice(1).map((r) => [r.via, r.status])).toEqual([
      ['json', 200],
      ['headers', 413],
    ]);
    expect(lines).toEqual([
      expect.stringMatching(/the end message was sent, but the loss plot upload was refused: .*413.*attachment too large/),
    ]);
  });

  test('user:password as the token is basic auth; wrong credentials fail the run before its first epoch without naming them', async () => {
    const s = await start({ user: { username: 'phil', password: 'correct-horse-9' } });
    await toyLearner([ntfy(s, { token: 'phil:correct-horse-9', on: ['end'], plot: false })]).fit(1);
    expect(messages(s).map((m) => m.auth)).toEqual(['basic']);
    const wrong = ntfy(s, { token: 'phil:wrong-horse-secret' });
    const error = await toyLearner([wrong])
      .fit(2)
      .then(
        () => new Error('the fit went on with refused credentials'),
        (e: unknown) => e as Error,
      );
    expect(error.message).not.toBe('the fit went on with refused credentials');
    expect(s.received.at(-1)?.status).toBe(401);
    const said = [error.message, String(error.stack), ...lines].join('\n');
    expect(said).toMatch(/401 unauthorized \(ntfy code 40101\): ntfy refused the credentials/);
    for (const secret of ['wrong-horse-secret', Buffer.from('phil:wrong-horse-secret').toString('base64')])
      expect(said).not.toContain(secret);
  });

  test('no credentials where the topic needs them: 403, said plainly', async () => {
    const s = await start();
    const notifier = new NtfyCallback({ url: `${s.url}/runs`, logger, handleSignals: false });
    await expect(toyLearner([notifier]).fit(1)).rejects.toThrow(
      /403 forbidden \(ntfy code 40301\): these credentials \(or none\) may not publish/,
    );
  });
});
