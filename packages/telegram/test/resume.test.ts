import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, test } from 'vitest';
import { AtEpoch, botMessages, shown, telegram, tinyLearner, useTelegramServer } from './helpers.js';

const start = useTelegramServer();

describe('a resumed run', () => {
  test('its start message says it resumed after epoch k/n, and it keeps the name of the run it continues', async () => {
    const s = await start();
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'epochcast-tg-resume-')), 'ckpt');

    const first = telegram(s, { commands: false, runName: 'mnist' });
    const paused = tinyLearner([first.callback, new AtEpoch(0, (state) => state.learner.stop('paused'))]);
    await paused.fitOneCycle(3);
    await paused.save(dir);
    const before = botMessages(s).length;

    // A new process, say: its notifier has no runName of its own.
    const second = telegram(s, { commands: false, runName: undefined });
    const resumed = tinyLearner([second.callback]);
    await resumed.load(dir);
    await resumed.fitOneCycle(3, { resume: true });

    const [startMsg, ...rest] = botMessages(s).slice(before);
    expect(shown(startMsg)).toMatch(/^⏳ mnist \([0-9a-f]{8}\) resumed after epoch 1\/3 on .+ · 3 epochs · one-cycle lrMax=0\.003/);
    expect(shown(startMsg)).toMatch(/resumed: after epoch 1\/3/);
    const end = rest.find((m) => shown(m).startsWith('✅'));
    // The Recorder's history continued: the end counts every epoch of the run, and its table has rows 0 to 2.
    expect(shown(end)).toMatch(/^✅ mnist completed 3 epochs in /);
    expect(shown(end)).toMatch(/\n0 .*\n1 .*\n2 /);
    expect([...first.warnings, ...second.warnings]).toEqual([]);
    expect(second.callback.report.delivered).toContain('start');
  });
});
