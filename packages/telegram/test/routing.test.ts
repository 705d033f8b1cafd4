// What a run accepts from the other runs on its bot (issue 15, finding 2): a forwarded message is
// checked field by field and bounded, and a command argument is parsed in time linear in nothing
// an attacker controls.
import type { RunRecord } from '@epochcast/notify';
import { describe, expect, test } from 'vitest';
import { MAX_NUMBER_LENGTH, parseDecimal, parseForwarded, splitSelector } from '../src/routing.js';

const CHAT = { id: -1001234, type: 'supergroup' };
const ADA = { id: 1001, first_name: 'Ada', username: 'ada' };

/**
 * Runs `fn` three times and returns what it gave and the shortest time it held the event loop, in
 * ms: what the input costs, every run pays; a run slowed because the shared machine was busy is not.
 */
function timed<T>(fn: () => T): { value: T; ms: number } {
  let value = fn();
  let ms = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    value = fn();
    ms = Math.min(ms, performance.now() - start);
  }
  return { value, ms };
}

describe('linear-time arguments', () => {
  test('a forwarded /lr of 60,000 digits and an x is refused in well under 50 ms (the old pattern backtracked for seconds)', () => {
    const hostile = `${'1'.repeat(60_000)}x`;
    const runs: RunRecord[] = [{ id: 'a1b2c3d4', name: 'sweep-1', host: 'h', pid: 1, startedAt: 0, epoch: 0, totalEpochs: 3 }];
    const forwarded = timed(() => parseForwarded({ kind: 'command', command: 'lr', args: hostile, chat: CHAT, from: ADA }));
    expect(forwarded.value).toMatchObject({ kind: 'command', args: hostile });
    const split = timed(() => splitSelector('lr', hostile, runs));
    expect(split.value).toEqual({ selector: '', rest: hostile });
    const parsed = timed(() => parseDecimal(hostile));
    expect(parsed.value).toBeUndefined();
    expect(forwarded.ms + split.ms + parsed.ms).toBeLessThan(50);
  });

  test('an argument longer than any number is refused before a pattern sees it; numbers as people type them are read', () => {
    expect(parseDecimal('1'.repeat(MAX_NUMBER_LENGTH + 1))).toBeUndefined();
    const huge = timed(() => parseDecimal(`${'9'.repeat(4 * 1024 * 1024)}x`));
    expect(huge.value).toBeUndefined();
    expect(huge.ms).toBeLessThan(50);
    for (const [text, value] of [
      ['3e-4', 3e-4],
      ['0.001', 0.001],
      ['.5', 0.5],
      ['1E-3', 1e-3],
      ['+2', 2],
      ['10.', 10],
    ] as const)
      expect(parseDecimal(text)).toBe(value);
    for (const text of ['', 'abc', '0x1', 'Infinity', 'NaN', '1e', '1.2.3', '-1', '1e-3x', ' 1'])
      expect(parseDecimal(text)).toBeUndefined();
  });
});

describe('forwarded messages are checked, not trusted', () => {
  test('a command keeps only the fields it needs, with the sender; malformed ones are dropped whole', () => {
    const ok = parseForwarded({
      kind: 'command',
      command: 'lr',
      args: '3e-4',
      chat: { ...CHAT, username: 'whatever' },
      from: { ...ADA, is_bot: false, extra: 'x' },
      replyTo: 7,
      injected: true,
    });
    expect(ok).toEqual({ kind: 'command', command: 'lr', args: '3e-4', chat: CHAT, from: ADA, replyTo: 7 });
    const bad: Record<string, unknown>[] = [
      { kind: 'command', command: 'reboot', args: '', chat: CHAT },
      { kind: 'command', command: 'lr', args: 'x'.repeat(64 * 1024 + 1), chat: CHAT },
      { kind: 'command', command: 'lr', args: 5, chat: CHAT },
      { kind: 'command', command: 'lr', args: '', chat: { id: '1', type: 'private' } },
      { kind: 'command', command: 'lr', args: '', chat: CHAT, from: { id: 1001, first_name: 12345 } },
      { kind: 'command', command: 'lr', args: '', chat: CHAT, from: { id: 1.5, first_name: 'Ada' } },
      { kind: 'command', command: 'lr', args: '', chat: CHAT, replyTo: 'x' },
    ];
    for (const message of bad) expect(parseForwarded(message)).toBeUndefined();
  });

  test('a button press needs its presser, and callback data within Telegram’s 64 bytes', () => {
    const press = { kind: 'button', queryId: '42', data: 'ec:stop:a1b2c3d4:nonce:y', chat: CHAT, messageId: 9, from: ADA };
    expect(parseForwarded(press)).toEqual(press);
    expect(parseForwarded({ ...press, from: undefined })).toBeUndefined();
    expect(parseForwarded({ ...press, from: { id: 1001 } })).toBeUndefined();
    expect(parseForwarded({ ...press, data: 'x'.repeat(65) })).toBeUndefined();
    expect(parseForwarded({ ...press, messageId: '9' })).toBeUndefined();
    expect(parseForwarded({ ...press, queryId: 'q'.repeat(10_000) })).toBeUndefined();
  });
});
