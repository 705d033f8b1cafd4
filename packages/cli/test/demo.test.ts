// `epochcast demo` end to end, as a child process: no credentials, so every service is a local
// testkit server; each must have received its end message, and the files must be written.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { cli } from './helpers.js';

test('demo: trains, every service receives its end message, the e-mail, plot and CSV are written', async () => {
  const out = await mkdtemp(path.join(tmpdir(), 'epochcast-demo-'));
  try {
    const t0 = performance.now();
    const r = await cli(['demo', '--epochs', '1', '--samples', '1000', '--out', out]);
    const seconds = (performance.now() - t0) / 1000;
    expect(r.stderr).toMatch(/^epochcast: tfjs backend /);
    expect(r.code, r.stderr).toBe(0);
    const stdout = r.stdout;
    expect(stdout).toMatch(/^MNIST: 1000 digits, MLP 784-128-10, fitOneCycle\(1, \{ lrMax: 0\.01 \}\)\n/);
    expect(stdout).toContain(
      'Notifiers: Telegram → local testkit server, Slack → local testkit server, E-mail → local testkit server, ntfy → local testkit server',
    );
    expect(stdout).toMatch(/\nepoch +train_loss +valid_loss +accuracy +time\n0 +\d/);
    // Telegram: start, the live epoch message, the end message and the plot.
    expect(stdout).toMatch(/\nTelegram \(local Bot API, chat 4242\): 4 messages\n {2}⏳ mnist-mlp \([0-9a-f]{8}\) started on /);
    expect(stdout).toMatch(
      /\n {2}✅ mnist-mlp completed 1 epoch in \d+m?s · best accuracy \d+\.\d\d% \(epoch 1\/1\)\n {2}🖼 ✅ mnist-mlp completed .*\[photo 800×\d+\]\n/,
    );
    // Slack: the run's message edited to ✅, its thread with the broadcast summary and the plot.
    expect(stdout).toMatch(/\nSlack \(local Web API, #training\): \d+ messages\n {2}● ✅ mnist-mlp completed 1 epoch .*\[edited\]\n/);
    expect(stdout).toMatch(/\n {4}└ \[also sent to the channel\] \*✅ mnist-mlp completed 1 epoch/);
    expect(stdout).toMatch(/\n {4}└ 📎 mnist-mlp-[0-9a-f]{8}-losses\.png \(\d+ bytes\)\n/);
    // E-mail: the summary.
    expect(stdout).toMatch(
      /\nE-mail \(local SMTP sink\): 1 mail\n {2}From: +runs@example\.test\n {2}To: +you@example\.test\n {2}Subject: \[epochcast\] mnist-mlp completed · accuracy/,
    );
    // ntfy: the start (default priority), the epoch (low), the end and the plot as an attachment (low: the end already rang).
    expect(stdout).toMatch(
      /\nntfy \(local server, topic mnist-runs\): 4 notifications\n {2}\[priority 3\] hourglass_flowing_sand · mnist-mlp · started — \*\*⏳ mnist-mlp \(/,
    );
    expect(stdout).toMatch(/\n {2}\[priority 2\] chart_with_upwards_trend · mnist-mlp · epoch 1\/1 — mnist-mlp epoch 1\/1 · train_loss /);
    expect(stdout).toMatch(/\n {2}\[priority 3\] white_check_mark · mnist-mlp · completed — \*\*✅ mnist-mlp completed 1 epoch/);
    expect(stdout).toMatch(
      /\n {2}\[priority 2\] chart_with_downwards_trend · mnist-mlp · completed — 📎 mnist-mlp-[0-9a-f]{8}-losses\.png \(\d+ bytes\)\n/,
    );
    expect(stdout).toContain(`\nWritten to ${out}/:\n`);
    const html = await readFile(path.join(out, 'email.html'), 'utf8');
    expect(html).toContain('src="data:image/png;base64,');
    expect(html).not.toContain('cid:');
    const png = await readFile(path.join(out, 'losses.png'));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    const csv = await readFile(path.join(out, 'history.csv'), 'utf8');
    expect(csv.split('\n')[0]).toBe('epoch,train_loss,valid_loss,accuracy,time');
    expect(csv.trim().split('\n')).toHaveLength(2);
    expect(seconds).toBeLessThan(30);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
