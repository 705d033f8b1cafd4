// docs/python.md: the Python it shows is the files of docs/samples/python (and a region of a fixture script).
// CI has python3 but not torch, Keras or Lightning, so here each file compiles, the protocol lines run under
// `epochcast run`, and the real guarantee: the training output the CLI's parser tests replay was recorded by
// running exactly these files — each recording keeps their sha256 (NAME.sources.json, written by record.sh).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Notification } from '@epochcast/notify';
import { startWebhookServer } from '@epochcast/testkit';
import { expect, test } from 'vitest';
import { ROOT } from './support.js';

const run = promisify(execFile);
const SAMPLES = 'docs/samples/python';
const FIXTURES = 'packages/cli/test/fixtures/training-output';
const sha256 = async (file: string) =>
  createHash('sha256')
    .update(await readFile(path.join(ROOT, file)))
    .digest('hex');

test('every Python file docs/python.md shows compiles', async () => {
  const files = (await readdir(path.join(ROOT, SAMPLES))).filter((f) => f.endsWith('.py')).map((f) => `${SAMPLES}/${f}`);
  expect(files.sort()).toEqual(
    ['fastai_callback', 'keras_callback', 'lightning_callback', 'loop_report', 'protocol_lines', 'train_loop'].map(
      (n) => `${SAMPLES}/${n}.py`,
    ),
  );
  // The bytecode goes to a folder of its own, not beside the samples (where it would be a file no block shows).
  const cache = await mkdtemp(path.join(tmpdir(), 'docs-pycache-'));
  try {
    await run('python3', ['-m', 'py_compile', ...files, `${FIXTURES}/scripts/torch_tqdm_loop.py`], {
      cwd: ROOT,
      env: { ...process.env, PYTHONPYCACHEPREFIX: cache },
    });
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
});

test('the fixtures the output parser replays were recorded by running these very files', async () => {
  const recordings = (await readdir(path.join(ROOT, FIXTURES))).filter((f) => f.endsWith('.sources.json'));
  const recorded = new Map<string, string[]>();
  for (const recording of recordings) {
    const { sha256: hashes } = JSON.parse(await readFile(path.join(ROOT, FIXTURES, recording), 'utf8')) as {
      sha256: Record<string, string>;
    };
    for (const [file, hash] of Object.entries(hashes)) {
      const name = recording.replace('.sources.json', '');
      expect(
        await sha256(file),
        `${file} changed since ${name} was recorded: run ${FIXTURES}/record.sh ${name} … again (see its README)`,
      ).toBe(hash);
      recorded.set(file, [...(recorded.get(file) ?? []), name]);
    }
  }
  // Each callback the docs say was run, by the recording that ran it; fastai's is not run (the docs say so).
  expect(Object.fromEntries(recorded)).toEqual({
    [`${FIXTURES}/scripts/keras_fit.py`]: ['keras-protocol'],
    [`${SAMPLES}/keras_callback.py`]: ['keras-protocol'],
    [`${FIXTURES}/scripts/lightning_fit.py`]: ['lightning-protocol'],
    [`${SAMPLES}/lightning_callback.py`]: ['lightning-protocol'],
    [`${FIXTURES}/scripts/torch_tqdm_loop.py`]: ['torch-tqdm-protocol'],
    [`${SAMPLES}/loop_report.py`]: ['torch-tqdm-protocol'],
  });
  // And the recordings hold the callbacks' lines: a start line where the callback prints one, then an epoch line per epoch.
  const protocolLines = async (name: string) => {
    const chunks = (await readFile(path.join(ROOT, FIXTURES, `${name}.chunks.jsonl`), 'utf8')).trim().split('\n');
    const text = chunks.map((line) => Buffer.from((JSON.parse(line) as { data: string }).data, 'base64').toString('utf8')).join('');
    return [...text.matchAll(/@epochcast (\{.*\})/g)].map((m) => (JSON.parse(m[1] ?? '') as { event: string }).event);
  };
  expect(await protocolLines('keras-protocol')).toEqual(['start', ...Array(5).fill('epoch')]);
  expect(await protocolLines('lightning-protocol')).toEqual(['start', ...Array(4).fill('epoch')]);
  expect(await protocolLines('torch-tqdm-protocol')).toEqual(Array(4).fill('epoch'));
});

test('the protocol lines, run under epochcast run: the name of the run, its planned epochs and the numbers of the epoch reach the webhook', async () => {
  const hook = await startWebhookServer();
  try {
    const { stdout } = await run(
      process.execPath,
      ['packages/cli/dist/bin.js', 'run', '--webhook', hook.url, '--', 'python3', `${SAMPLES}/protocol_lines.py`],
      { cwd: ROOT, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } },
    );
    expect(stdout).toBe(''); // well-formed protocol lines are not shown
    const sent = hook.received.map((r) => r.body as Notification);
    expect(sent.map((n) => n.event)).toEqual(['start', 'epoch', 'end']);
    const end = sent.at(-1);
    expect(end).toMatchObject({ status: 'completed', run: { name: 'protocol-lines', totalEpochs: 10 } });
    expect(end?.stats).toMatchObject({ epoch: 2, trainLoss: 0.31, validLoss: 0.29, totalEpochs: 10 });
  } finally {
    await hook.close();
  }
});
