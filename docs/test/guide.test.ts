// docs/writing-a-notifier.md and packages/testkit/README.md, examples/discord-notifier/README.md,
// docs/architecture.md: every block equals the file it shows; the plugin the guide's contract shows
// (docs/samples/guide/my-service) is what `epochcast new-notifier my-service` writes, byte for byte
// (packages/cli/test/new-notifier.test.ts runs that scaffold's own tests, the conformance suite
// among them); and the guide's "Your own tests" snippets (#region notify, #region crash) run here.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { sampleNotification, startWebhookServer, type WebhookServer } from '@epochcast/testkit';
import { CrashAt, disposeToyLearner, EpochCounter, toyLearner } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { MyServiceCallback } from '../samples/guide/my-service/src/index.js';
import { checkDocs } from '../src/check.js';
import { sampleText } from '../src/markdown.js';
import { ROOT } from './support.js';

const GUIDE_FILES = [
  'docs/writing-a-notifier.md',
  'packages/testkit/README.md',
  'examples/discord-notifier/README.md',
  'docs/architecture.md',
];

beforeAll(async () => {
  await tf.setBackend('cpu');
});

test('every block of the guide, the testkit README, the Discord example README and the architecture shows what its marker names', async () => {
  const problems = (await checkDocs(ROOT)).filter((p) => GUIDE_FILES.some((file) => p.where.startsWith(`${file}:`)));
  expect(problems).toEqual([]);
});

test('the guide’s my-service plugin and its conformance test are what `epochcast new-notifier my-service` writes', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'epochcast-guide-'));
  try {
    const cli = path.join(ROOT, 'packages/cli/dist/bin.js');
    await promisify(execFile)(process.execPath, [cli, 'new-notifier', 'my-service', '--registry', '--dir', dir], { cwd: dir });
    for (const sample of ['guide/my-service/src/index', 'guide/my-service/test/conformance.test']) {
      const written = await readFile(path.join(dir, `${sample.replace('guide/my-service/', '')}.ts`), 'utf8');
      expect(sampleText(ROOT, `docs/samples/${sample}.ts`), sample).toBe(written);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

describe('the guide’s own tests of MyServiceCallback', () => {
  let server: WebhookServer;
  afterEach(async () => {
    await server?.close();
  });

  test('notify(): a notification through the queue without training, resolving with the report', async () => {
    // #region notify
    const server = await startWebhookServer();
    const warnings: string[] = [];
    const notifier = new MyServiceCallback({
      url: `${server.url}/hook`,
      logger: { warn: (line) => warnings.push(line) },
      handleSignals: false,
    });
    const report = await notifier.notify(sampleNotification()); // { delivered: ['end'], failed: [], coalesced: 0, droppedAlerts: 0 }
    // #endregion
    expect(report).toEqual({ delivered: ['end'], failed: [], coalesced: 0, droppedAlerts: 0 });
    expect(warnings).toEqual([]);
    expect(server.received[0]?.body).toMatchObject({
      event: 'end',
      run: 'mnist-mlp',
      text: expect.stringContaining('mnist-mlp completed 5 epochs'),
    });
    await server.close();
  });

  test('toyLearner: a crash in the second epoch is delivered before fit rejects', async () => {
    server = await startWebhookServer();
    // #region crash
    const counter = new EpochCounter();
    const learn = toyLearner([
      new MyServiceCallback({ url: `${server.url}/hook`, on: ['error'] }),
      counter,
      new CrashAt(1, new TypeError('boom')),
    ]);
    await expect(learn.fit(5)).rejects.toThrow('boom'); // the error message was delivered before fit rejected
    expect(counter.begun).toBe(2);
    // #endregion
    disposeToyLearner(learn);
    expect(server.received.map((r) => r.body)).toEqual([
      expect.objectContaining({ event: 'error', text: expect.stringContaining('boom') }),
    ]);
  });
});
