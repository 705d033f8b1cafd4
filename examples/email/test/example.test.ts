import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '@epochcast/core';
import { beforeAll, expect, test } from 'vitest';
import { runEmailExample } from '../src/main.js';

const OUT = fileURLToPath(new URL('../../../.test-output/email/example/', import.meta.url));

beforeAll(async () => {
  delete process.env.SMTP_URL;
  await selectBackend({ log: false });
});

test('with no SMTP_URL the example mails the local sink and writes what arrived', async () => {
  const { mail, outDir, report } = await runEmailExample({ samples: 1000, epochs: 2, outDir: OUT, progress: false });
  expect(report.delivered).toEqual(['end']);
  expect(mail?.subject).toMatch(/^\[epochcast\] mnist-mlp completed · accuracy \d+\.\d\d% · 2 epochs in /);
  expect(mail?.to).toEqual(['you@example.test', 'team@example.test']);
  expect(outDir).toBe(path.resolve(OUT));
  for (const file of ['summary.html', 'summary.txt', 'message.eml', 'loss.png', 'mnist-mlp-history.csv'])
    expect(existsSync(path.join(OUT, file))).toBe(true);
  const html = readFileSync(path.join(OUT, 'summary.html'), 'utf8');
  expect(html).toContain('<img src="loss.png"');
  expect(readFileSync(path.join(OUT, 'mnist-mlp-history.csv'), 'utf8').trimEnd().split('\n')).toHaveLength(3);
});
