// The checker itself: a drifted sample, a renamed flag, a missing peer, an unmarked block are each
// caught, and `sync` puts the file's text back.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkDocs, syncDocs, unshownFiles } from '../src/check.js';
import { CommandChecker, simpleCommands } from '../src/commands.js';
import { fencedBlocks, parseMarker, sampleText } from '../src/markdown.js';
import { normalizeTranscript } from '../src/transcripts.js';
import { ROOT } from './support.js';

describe('markers and blocks', () => {
  test('a marker names its kind, its file and its region', () => {
    expect(parseMarker('<!-- sample: docs/samples/a.ts#setup -->')).toEqual({ kind: 'sample', path: 'docs/samples/a.ts', region: 'setup' });
    expect(parseMarker('<!-- sample: a.ts -->')).toEqual({ kind: 'sample', path: 'a.ts', region: undefined });
    expect(parseMarker('<!-- output: docs/transcripts/x.txt -->')).toEqual({ kind: 'output', path: 'docs/transcripts/x.txt' });
    expect(parseMarker('<!-- commands -->')).toEqual({ kind: 'commands' });
    expect(parseMarker('<!-- sample -->')).toBeUndefined();
    expect(parseMarker('<!-- see below -->')).toBeUndefined();
  });

  test('a block inside a list item loses its indentation, and its marker is the line before the fence', () => {
    const text = '1. Run:\n\n   <!-- commands -->\n   ```sh\n   pnpm build\n     pnpm test\n   ```\n\nafter\n```ts\nx\n```\n';
    const [first, second] = fencedBlocks('a.md', text);
    expect(first).toMatchObject({
      line: 4,
      language: 'sh',
      indent: '   ',
      content: 'pnpm build\n  pnpm test\n',
      marker: { kind: 'commands' },
    });
    expect(second).toMatchObject({ line: 10, language: 'ts', content: 'x\n', marker: undefined });
  });
});

describe('checking and syncing a repository', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'epochcast-docs-'));
    for (const dir of ['packages/a', 'examples', 'docs/samples']) await mkdir(path.join(root, dir), { recursive: true });
    await writeFile(
      path.join(root, 'docs/samples/hello.ts'),
      "import * as fs from 'node:fs';\n// #region shown\nexport function hello(): void {\n  console.log('hello');\n}\n// #endregion\n",
    );
    await writeFile(
      path.join(root, 'packages/a/README.md'),
      '# a\n\n<!-- sample: docs/samples/hello.ts#shown -->\n```ts\nexport function hello(): void {\n  console.log("hi");\n}\n```\n\n```ts\nunmarked\n```\n',
    );
    await writeFile(path.join(root, 'README.md'), '# root\n');
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('a region is shown dedented, without its markers; the whole file without any marker', () => {
    expect(sampleText(root, 'docs/samples/hello.ts', 'shown')).toBe("export function hello(): void {\n  console.log('hello');\n}\n");
    expect(sampleText(root, 'docs/samples/hello.ts')).not.toMatch(/#region|#endregion/);
    expect(() => sampleText(root, 'docs/samples/hello.ts', 'nope')).toThrow('has no "#region nope"');
  });

  test('a sample that drifted from its file and a block without a marker are both reported, with where and how to fix', async () => {
    const problems = await checkDocs(root);
    expect(problems).toEqual([
      {
        where: 'packages/a/README.md:4',
        message: expect.stringContaining(
          'differs from docs/samples/hello.ts#shown at its line 2: the docs show "  console.log(\\"hi\\");", the file has "  console.log(\'hello\');": run pnpm docs:sync',
        ),
      },
      { where: 'packages/a/README.md:10', message: expect.stringContaining('a ```ts block with no marker') },
    ]);
  });

  test('sync writes the file into the block, and then only the unmarked block is left', async () => {
    expect(syncDocs(root)).toEqual(['packages/a/README.md']);
    expect(await readFile(path.join(root, 'packages/a/README.md'), 'utf8')).toContain(
      "```ts\nexport function hello(): void {\n  console.log('hello');\n}\n```",
    );
    expect((await checkDocs(root)).map((p) => p.where)).toEqual(['packages/a/README.md:10']);
    expect(syncDocs(root)).toEqual([]);
  });

  test('a sample file no block shows is listed', async () => {
    await writeFile(path.join(root, 'docs/samples/orphan.ts'), 'export {};\n');
    expect(unshownFiles(root)).toEqual(['docs/samples/orphan.ts']);
  });
});

describe('commands', () => {
  const checker = new CommandChecker(ROOT);
  const problemsOf = (block: string) => checker.check(block);

  test('comments, prompts, continuations, redirections and loops are taken apart into simple commands', () => {
    expect(
      simpleCommands('$ pnpm demo 2>&1 | cat   # a comment\nfor x in 1 2; do X=$x node train.js & done; wait\nA=1 \\\n  pnpm build\n'),
    ).toEqual([
      ['pnpm', 'demo'],
      ['cat'],
      ['for', 'x', 'in', '1', '2'],
      ['do', 'X=$x', 'node', 'train.js'],
      ['done'],
      ['wait'],
      ['A=1', 'pnpm', 'build'],
    ]);
  });

  test('the commands the docs use pass', async () => {
    expect(
      await problemsOf(
        [
          'npx pnpm@12.4.2 install --frozen-lockfile && npx pnpm@12.4.2 demo',
          'epochcast run --telegram --stall 10m -- python train.py --lr 3e-4',
          'epochcast telegram chats --wait 30',
          'npm install @epochcast/telegram @epochcast/notify @epochcast/core @tensorflow/tfjs',
          'export TELEGRAM_BOT_TOKEN=123:abc TELEGRAM_CHAT_ID=42',
          'pnpm --filter @epochcast/example-sweep start',
          'node packages/cli/dist/bin.js demo',
          'T=/path/to/epochcast/.test-output/packages',
          'npm install $T/epochcast-telegram-0.1.0.tgz $T/epochcast-notify-0.1.0.tgz $T/epochcast-coordination-0.1.0.tgz $T/epochcast-core-0.1.0.tgz @tensorflow/tfjs',
        ].join('\n'),
      ),
    ).toEqual([]);
  });

  test.each([
    ['epochcast run --telgram -- python train.py', "epochcast does not accept it: epochcast run: unknown option '--telgram'"],
    ['epochcast run --stall soon -- python train.py', 'expected a duration'],
    ['epochcast deploy', "unknown command 'deploy'"],
    ['npx pnpm@9.0.0 demo', 'the repository pins pnpm@12.4.2'],
    ['pnpm demoo', 'the root package.json has no script "demoo"'],
    ['pnpm --filter @epochcast/example-sweep begin', '@epochcast/example-sweep has no script "begin"'],
    [
      'npm install @epochcast/telegram @epochcast/core @tensorflow/tfjs',
      '@epochcast/telegram needs its peer @epochcast/notify installed too',
    ],
    ['npm install @epochcast/docs', 'not a package this repository publishes'],
    ['npm install left-pad', 'left-pad is no dependency of any package here'],
    [
      'npm install $T/epochcast-telegram-0.1.0.tgz $T/epochcast-notify-0.1.0.tgz $T/epochcast-core-0.1.0.tgz @tensorflow/tfjs',
      'needs the tarball of its dependency @epochcast/coordination',
    ],
    ['npm install $T/epochcast-core-9.9.9.tgz @tensorflow/tfjs', '@epochcast/core is at version 0.1.0'],
    ['npm install $T/epochcast-docs-0.0.0.tgz', 'not a tarball that pnpm pack:all writes'],
    ['TELEGRAM_TOKEN=1 epochcast test --telegram', 'no package reads the variable TELEGRAM_TOKEN'],
    ['node packages/cli/dist/nope.js', 'packages/cli/dist/nope.js does not exist'],
    ['curl https://example.com', '"curl" is a command docs/src/commands.ts does not know'],
  ])('%s is caught', async (command, problem) => {
    const problems = await problemsOf(command);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(problem);
  });
});

test('a transcript compares without its durations, ports, paths and run ids', () => {
  const t = { file: 'x', command: ['true'] };
  const a = 'run (86e119d1) at 127.0.0.1:40123 in /tmp/abc/def took 20.4 s, 407ms, 00:07, 1m30s\nloss 0.487271';
  const b = 'run (0a1b2c3d) at 127.0.0.1:5 in /tmp/zz took 3 s, 12ms, 00:05, 2m1s\nloss 0.487271';
  expect(normalizeTranscript(t, a)).toBe(normalizeTranscript(t, b));
  expect(normalizeTranscript(t, a)).not.toBe(normalizeTranscript(t, b.replace('0.487271', '0.487272')));
});
