import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTelegramServer } from '@epochcast/testkit';
import { expect, test } from 'vitest';
import { CHAT, TOKEN } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));

test('polling ends with fit: the process exits by itself at once, the long poll and server still open', async () => {
  const server = await startTelegramServer({ token: TOKEN });
  try {
    const child = spawn(process.execPath, [path.join(here, 'fixtures/fit-then-exit.mjs')], {
      cwd: path.join(here, '..'),
      env: {
        ...process.env,
        TELEGRAM_BOT_TOKEN: TOKEN,
        TELEGRAM_CHAT_ID: String(CHAT),
        TELEGRAM_API_ROOT: server.url,
        EPOCHCAST_DISABLE: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let resolvedAt = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!resolvedAt && stdout.includes('fit resolved')) resolvedAt = performance.now();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    // A poller that lingered would hold the process for the 25 s long poll; the test gives it 20.
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill();
        reject(new Error(`the process did not exit; stdout: ${stdout} stderr: ${stderr}`));
      }, 20_000);
      child.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    const exitAfterMs = performance.now() - resolvedAt;
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('fit resolved ["start","epoch","epoch","epoch","end"]');
    expect(exitAfterMs).toBeLessThan(1500);
    // It did poll while training, and that poll was given up by the client, not answered by the server.
    expect(server.received.some((c) => c.method === 'getUpdates' && c.params.timeout === '25')).toBe(true);
  } finally {
    await server.close();
  }
});
