import { afterEach, describe, expect, test } from 'vitest';
import { parseDuration, StallWatch } from '../src/stall.js';

describe('parseDuration (--stall)', () => {
  test.each([
    ['10m', 600_000],
    ['90s', 90_000],
    ['1h30m', 5_400_000],
    ['2h', 7_200_000],
    ['500ms', 500],
    ['1.5m', 90_000],
    ['45', 45_000],
    [' 3m ', 180_000],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  test.each(['', 'm', '10 m', '10x', '-5m', '1h 30m', 'ten minutes', '10m5', `${'1'.repeat(50)}s`])('%j is not a duration', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('StallWatch', () => {
  let watch: StallWatch | undefined;
  afterEach(() => watch?.stop());

  function watched(stallMs: number) {
    let now = 0;
    const said: [string, string][] = [];
    watch = new StallWatch(
      stallMs,
      (text, level) => said.push([level, text]),
      () => 'Last output: epoch 3',
      () => now,
    );
    return { said, at: (ms: number) => (now = ms), watch };
  }

  test('silence for the period raises one alert, however often it is checked; output again brings one note', () => {
    const { said, at, watch } = watched(60_000);
    at(59_999);
    watch.check();
    expect(said).toEqual([]);
    at(60_000);
    watch.check();
    at(200_000);
    watch.check();
    expect(said).toEqual([['warning', 'Stalled? no output for 1m 00s. Last output: epoch 3']]);
    watch.output();
    watch.output();
    expect(said.slice(1)).toEqual([['info', 'Moving again after 3m 20s without output.']]);
    // A second stall is reported again.
    at(260_000);
    watch.check();
    expect(said).toHaveLength(3);
  });

  test('once progress was seen, output without progress does not count as life', () => {
    const { said, at, watch } = watched(10_000);
    watch.progress();
    for (let t = 1000; t <= 11_000; t += 1000) {
      at(t);
      watch.output();
      watch.check();
    }
    expect(said).toEqual([['warning', 'Stalled? no progress for 10s (it still prints, but no epoch or step moved). Last output: epoch 3']]);
    at(12_000);
    watch.progress();
    expect(said.at(-1)).toEqual(['info', 'Moving again after 12s without progress.']);
  });
});
