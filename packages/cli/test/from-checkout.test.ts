// From a checkout, `pnpm exec epochcast …` runs the shim pnpm links at the repository root
// (node_modules/.bin/epochcast, from the root's devDependency on @epochcast/cli): the docs say to
// use it until the packages are published.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SHIM = path.join(ROOT, 'node_modules/.bin/epochcast');

function shim(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(TELEGRAM_|EPOCHCAST_)/.test(k)));
  return new Promise((resolve) => {
    execFile(SHIM, args, { cwd: ROOT, env }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

test('the root links the epochcast bin: --help, and telegram chats without a token exits 2 naming the fix', async () => {
  expect(existsSync(SHIM), `${SHIM}: run pnpm install at the repository root`).toBe(true);
  const help = await shim(['--help']);
  expect(help.stderr).toBe('');
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/^Usage: epochcast \[options\] \[command\]\n/);
  expect(help.stdout).toMatch(/\n {2}telegram +Telegram helpers/);

  const chats = await shim(['telegram', 'chats']);
  expect(chats.code).toBe(2);
  expect(chats.stdout).toBe('');
  expect(chats.stderr).toBe(
    'epochcast telegram chats: no bot token. Pass --token <token> or set TELEGRAM_BOT_TOKEN. Get one from @BotFather in Telegram (send it /newbot).\n',
  );
});
