// The packages as a user gets them: every publishable package packed (scripts/pack.mjs: pnpm pack,
// workspace: ranges rewritten), the tarballs installed with plain npm into a fresh project under
// os.tmpdir() — everything else from the npm registry — and used there as the READMEs say: a
// Learner reporting to Telegram (the testkit's server), `epochcast run --webhook`, and a plugin
// author's `epochcast new-notifier` whose own `npm install && npm test` passes as written.
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startWebhookServer } from '@epochcast/testkit';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freshFolder, freshProject, ROOT, seconds, sh } from './npm-project.js';

const PUBLISHABLE = ['cli', 'coordination', 'core', 'email', 'notify', 'ntfy', 'slack', 'telegram', 'testkit'];
const rootManifest = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8'));
const typesNode = JSON.parse(await readFile(path.join(ROOT, 'node_modules/@types/node/package.json'), 'utf8')).version as string;
// The peers a user installs beside them (@tensorflow/tfjs-core comes with it as its dependency), and
// what a TypeScript user adds, at the versions this repository builds with.
const USER_INSTALLS = ['@tensorflow/tfjs@4.22.0', `typescript@${rootManifest.devDependencies.typescript}`, `@types/node@${typesNode}`];

const timings: string[] = [];
const cleanup: string[] = [];
let tarballs: string;
let project: string;

beforeAll(async () => {
  tarballs = await freshFolder('epochcast-tarballs-');
  project = await freshProject('epochcast-user-');
  cleanup.push(tarballs, project);
  const packed = await sh(process.execPath, [path.join(ROOT, 'scripts/pack.mjs'), '--out', tarballs, '--no-build', '--no-lint'], ROOT);
  timings.push(`pack ${seconds(packed.ms)}`);
  const files = (await readdir(tarballs)).filter((file) => file.endsWith('.tgz')).sort();
  expect(files).toEqual(PUBLISHABLE.map((name) => `epochcast-${name}-0.1.0.tgz`));
  const installed = await sh(
    'npm',
    ['install', '--no-audit', '--no-fund', ...files.map((file) => path.join(tarballs, file)), ...USER_INSTALLS],
    project,
  );
  timings.push(`npm install of the tarballs ${seconds(installed.ms)}`);
});

afterAll(async () => {
  process.stdout.write(`\npackaging timings: ${timings.join(', ')}\n`);
  for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
});

describe('the packed packages, installed with npm outside the workspace', () => {
  test('each installed package.json is as published: versions, not workspace: ranges', async () => {
    for (const name of PUBLISHABLE) {
      const manifest = await readFile(path.join(project, 'node_modules/@epochcast', name, 'package.json'), 'utf8');
      expect(manifest, name).not.toContain('workspace:');
      expect(JSON.parse(manifest).version, name).toBe('0.1.0');
    }
  });

  test('the types of every entry point resolve for a strict TypeScript ESM user on Node 20 (NodeNext), and are not any', async () => {
    await writeFile(path.join(project, 'tsconfig.json'), JSON.stringify(USER_TSCONFIG, null, 2));
    await writeFile(path.join(project, 'typed.ts'), TYPED_SOURCE);
    const checked = await sh(process.execPath, [path.join(project, 'node_modules/typescript/bin/tsc'), '-p', '.'], project);
    timings.push(`tsc of a user's file ${seconds(checked.ms)}`);
    expect(checked.stdout + checked.stderr).toBe('');
  });

  test('a Learner with TelegramCallback trains and reports to the testkit Bot API server, on the wasm backend, with the loss plot', async () => {
    await writeFile(path.join(project, 'train.mjs'), TRAIN_SCRIPT);
    const ran = await sh(process.execPath, ['train.mjs'], project);
    timings.push(`train with Telegram ${seconds(ran.ms)}`);
    const result = JSON.parse(ran.stdout.trim().split('\n').at(-1) ?? '{}') as TrainResult;
    // Every module from the project's node_modules: nothing reached back into the workspace.
    for (const resolved of Object.values(result.resolved))
      expect(resolved.startsWith(`file://${project}/node_modules/`), resolved).toBe(true);
    // The wasm backend ships in @epochcast/core's dependencies: no native build, no download.
    expect(result.backend).toBe('wasm');
    expect(result.messages[0]).toMatch(/^⏳ packed \([0-9a-f]{8}\) started on .* · 2 epochs/);
    expect(result.messages.some((text) => /^✅ packed completed 2 epochs/.test(text))).toBe(true);
    // The loss plot drew its text with the DejaVu fonts of the installed dejavu-fonts-ttf, and was sent.
    expect(result.plotBytes).toBeGreaterThan(5_000);
    expect(result.photos).toBeGreaterThanOrEqual(1);
  });

  test('`npx epochcast run --webhook <url> -- node -e …` runs the command and posts its start and end', async () => {
    const server = await startWebhookServer();
    try {
      const ran = await sh(
        'npx',
        ['--no', 'epochcast', 'run', '--webhook', `${server.url}/hook`, '--', 'node', '-e', "console.log('hi from the command')"],
        project,
      );
      timings.push(`epochcast run ${seconds(ran.ms)}`);
      expect(ran.stdout).toContain('hi from the command');
      const events = server.received.filter((r) => r.status === 200).map((r) => r.body as { event: string; status?: string });
      expect(events.map((e) => e.event)).toEqual(['start', 'end']);
      expect(events[1]?.status).toBe('completed');
    } finally {
      await server.close();
    }
  });

  test("a plugin author's `epochcast new-notifier my-service`, then `npm install && npm test` as written, passes outside the repository", async () => {
    const author = await freshFolder('epochcast-author-');
    cleanup.push(author);
    // The installed CLI, run from another folder, as a global install or `npx` would.
    const generated = await sh(path.join(project, 'node_modules/.bin/epochcast'), ['new-notifier', 'my-service'], author);
    timings.push(`new-notifier ${seconds(generated.ms)}`);
    expect(generated.stdout).toContain('Wrote epochcast-notifier-my-service (MyServiceCallback)');
    const plugin = path.join(author, 'epochcast-notifier-my-service');
    // From an installed CLI, the packages installed beside it, repacked by npm.
    expect((await readdir(path.join(plugin, 'vendor'))).sort()).toEqual(
      ['coordination', 'core', 'notify', 'testkit'].map((name) => `epochcast-${name}-0.1.0.tgz`),
    );
    expect(generated.stdout).toContain(`npm pack of ${path.join(project, 'node_modules/@epochcast/notify')}`);
    const manifest = JSON.parse(await readFile(path.join(plugin, 'package.json'), 'utf8'));
    expect(manifest.devDependencies['@epochcast/notify']).toBe('file:vendor/epochcast-notify-0.1.0.tgz');
    expect(manifest.peerDependencies['@epochcast/notify']).toBe('^0.1.0');

    const installed = await sh('npm', ['install'], plugin);
    timings.push(`the plugin's npm install ${seconds(installed.ms)}`);
    const tested = await sh('npm', ['test'], plugin);
    timings.push(`the plugin's npm test ${seconds(tested.ms)}`);
    // Its own vitest, in its own folder: 2 tests of its own and the conformance suite's 14.
    expect(tested.stdout).toContain(`RUN  v4.1.12 ${plugin}`);
    expect(tested.stdout).toMatch(/Test Files +2 passed \(2\)/);
    expect(tested.stdout).toMatch(/Tests +16 passed \(16\)/);
    const built = await sh('npm', ['run', 'build'], plugin);
    expect(built.stderr).not.toMatch(/error/i);
    expect(await readdir(path.join(plugin, 'dist'))).toEqual(expect.arrayContaining(['index.js', 'index.d.ts']));
  });
});

// What a TypeScript user on Node 20 compiles with: strict, NodeNext, their own @types/node.
const USER_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
  },
  files: ['typed.ts'],
};

// One import of every entry point; each @ts-expect-error fails the compile if the types were any.
const TYPED_SOURCE = `import { Learner, type LearnerOptions } from '@epochcast/core';
import { ConfigError } from '@epochcast/core/errors';
import { Notifier, type NotifierOptions } from '@epochcast/notify';
import { proxyRoute } from '@epochcast/notify/proxy';
import { redactSecrets } from '@epochcast/notify/secrets';
import { scopeName } from '@epochcast/coordination';
import { TelegramCallback } from '@epochcast/telegram';
import { listTelegramChats } from '@epochcast/telegram/chats';
import { SlackCallback } from '@epochcast/slack';
import { EmailCallback } from '@epochcast/email';
import { NtfyCallback } from '@epochcast/ntfy';
import { startTelegramServer } from '@epochcast/testkit';
import { notifierConformance } from '@epochcast/testkit/conformance';
import { toyLearner } from '@epochcast/testkit/learner';
import { runCli } from '@epochcast/cli';
import { DEMO_CONFIG } from '@epochcast/cli/mnist';

export const learner: typeof Learner = Learner;
export type Options = LearnerOptions;
export const error: ConfigError = new ConfigError('x');
export type Base = NotifierOptions;
export const base: typeof Notifier = Notifier;
export const all = [proxyRoute, redactSecrets, scopeName, listTelegramChats, startTelegramServer, notifierConformance, toyLearner, runCli, DEMO_CONFIG];
export const callbacks = [TelegramCallback, SlackCallback, EmailCallback, NtfyCallback];
// @ts-expect-error chatId is a number or a string, not an object
export const wrong = new TelegramCallback({ chatId: {} });
// @ts-expect-error redactSecrets takes a string
redactSecrets(42);
// @ts-expect-error the demo's configuration has no such field
DEMO_CONFIG.noSuchField;
`;

interface TrainResult {
  resolved: Record<string, string>;
  backend: string;
  messages: string[];
  photos: number;
  plotBytes: number;
}

// What a user writes: tfjs, a Learner, TelegramCallback — here against the testkit's local Bot API.
const TRAIN_SCRIPT = `import * as tf from '@tensorflow/tfjs';
import { DataLoaders, Learner, selectBackend } from '@epochcast/core';
import { TelegramCallback } from '@epochcast/telegram';
import { startTelegramServer } from '@epochcast/testkit';

import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const resolved = Object.fromEntries(
  ['@epochcast/core', '@epochcast/notify', '@epochcast/telegram', '@epochcast/testkit', '@tensorflow/tfjs'].map((name) => [name, import.meta.resolve(name)]),
);
// What @epochcast/core loads from its own dependencies: the wasm backend and the plot's fonts.
const fromCore = createRequire(resolved['@epochcast/core']);
for (const file of ['@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm.wasm', 'dejavu-fonts-ttf/ttf/DejaVuSans.ttf'])
  resolved[file] = pathToFileURL(fromCore.resolve(file)).href;
const { backend } = await selectBackend();
const server = await startTelegramServer();
try {
  const x = tf.randomNormal([64, 4], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: 64 }, (_, i) => i % 2), 'int32'), 2);
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2, activation: 'softmax' })] });
  const data = DataLoaders.fromTensors(x, y, { validPct: 0.25, batchSize: 16, seed: 1 });
  const telegram = new TelegramCallback({ runName: 'packed', token: server.token, chatId: 4242, apiRoot: server.url });
  const learn = new Learner({ model, data, loss: 'categoricalCrossentropy', callbacks: [telegram] });
  await learn.fit(2);
  const plotBytes = (await learn.recorder.plotLosses().png()).length;
  const chat = server.messages(4242);
  console.log(JSON.stringify({
    resolved,
    backend,
    messages: chat.map((m) => m.text ?? m.caption ?? ''),
    photos: chat.filter((m) => m.photo).length,
    plotBytes,
  }));
} finally {
  await server.close();
}
`;
