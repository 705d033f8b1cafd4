/** The README's example, run as a user would run it (against the built package), prints what the README says it prints. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { runToExit } from './run-to-exit.js';

const README = new URL('../README.md', import.meta.url);
const BUILT = new URL('../dist/index.js', import.meta.url);

/** The first fenced block of `language` after `marker` in `text`. */
function block(text: string, language: string, marker = ''): string {
  const from = text.indexOf(marker);
  const match = new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``).exec(text.slice(from));
  if (from < 0 || !match?.[1]) throw new Error(`no \`\`\`${language} block after ${JSON.stringify(marker)} in the README`);
  return match[1];
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'epochcast-readme-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('the example of two runs in one process prints the output the README shows, and exits by itself', async () => {
  const readme = await readFile(README, 'utf8');
  const example = block(readme, 'js').replaceAll("'@epochcast/coordination'", JSON.stringify(BUILT.href));
  const expected = block(readme, 'text', 'It prints:');
  const script = path.join(dir, 'example.mjs');
  await writeFile(script, example);
  // Its own socket directory: the example's scope is the same for everyone who runs it.
  const { code, stdout, stderr } = await runToExit([script], { EPOCHCAST_SOCKET_DIR: path.join(dir, 'sockets') });
  expect(stderr).toBe('');
  expect(stdout).toBe(expected);
  expect(code).toBe(0);
});
