// Every fenced block of the Markdown docs is a real file, a produced transcript or checked
// commands (docs/src/markdown.ts says how a block is marked), and every such file is shown and run.
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { checkDocs, filesUnder, markdownFiles, unshownFiles } from '../src/check.js';
import { TRANSCRIPTS } from '../src/transcripts.js';
import { ROOT } from './support.js';

const problems = await checkDocs(ROOT);

describe('every block of the docs shows what the repository has', () => {
  test.each(markdownFiles(ROOT))('%s', (file) => {
    const mine = problems.filter((p) => p.where.startsWith(`${file}:`)).map((p) => `${p.where}: ${p.message}`);
    expect(mine).toEqual([]);
  });
});

test('every file under docs/samples and docs/transcripts is shown by some block', () => {
  expect(unshownFiles(ROOT)).toEqual([]);
});

test('every sample program and every transcript is run by a test', async () => {
  const testDirs = [
    'docs/test',
    'test',
    ...['packages', 'examples'].flatMap((d) => readdirSync(path.join(ROOT, d)).map((p) => `${d}/${p}/test`)),
  ];
  const tests = testDirs.flatMap((dir) => filesUnder(ROOT, dir)).filter((f) => f.endsWith('.test.ts'));
  const testText = (await Promise.all(tests.map((f) => readFile(path.join(ROOT, f), 'utf8')))).join('\n');
  const programs = filesUnder(ROOT, 'docs/samples')
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.replace(/^docs\/samples\//, '').replace(/\.ts$/, ''));
  const unrun = [
    ...programs.filter((name) => !testText.includes(`'${name}'`) && !testText.includes(`samples/${name}.js`)),
    ...TRANSCRIPTS.map((t) => t.file).filter((file) => !testText.includes(`'${file}'`)),
  ];
  expect(unrun, 'run each in a test: runSample(name), expectTranscriptCurrent(file), or compare with normalizeTranscript').toEqual([]);
});
