import { Writable } from 'node:stream';
import { expect, test } from 'vitest';
import { main } from '../src/main.js';

test('with no credentials the example trains against the local Slack and prints the channel: parent, thread, summary, plot', async () => {
  for (const v of ['SLACK_BOT_TOKEN', 'SLACK_WEBHOOK_URL', 'SLACK_CHANNEL', 'SLACK_API_URL']) delete process.env[v];
  let printed = '';
  const out = new Writable({
    write(chunk, _encoding, done) {
      printed += String(chunk);
      done();
    },
  });
  await main({ epochs: 2, samples: 600, out });
  expect(printed).toContain('posting to a local Slack');
  expect(printed).toMatch(/● \(edited\) ✅ mnist-mlp completed 2 epochs/);
  expect(printed).toMatch(/└ 📈 mnist-mlp epoch 1\/2 /);
  expect(printed).toMatch(/└ \[also sent to #training\] \*✅ mnist-mlp completed/);
  expect(printed).toMatch(/└ 📎 mnist-mlp-[0-9a-f]{8}-losses\.png/);
});
