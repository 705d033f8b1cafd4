// Importing @epochcast/core loads training code only: the plotting libraries load on the first
// chart, and no notifier, retry or Redis code is ever part of core.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, test } from 'vitest';

const FIXTURE = fileURLToPath(new URL('./fixtures/import-footprint.mjs', import.meta.url));
const PACKAGE_JSON = fileURLToPath(new URL('../package.json', import.meta.url));

/** Notifier, retry and Redis libraries: never part of core. */
const SERVICE_CLIENTS = [/^ioredis$/, /^p-retry$/, /^node-telegram-bot-api$/, /^@slack\//, /^nodemailer$/];
/** Not loaded by `import '@epochcast/core'`: the service clients, the plotting libraries, the other epochcast packages. */
const NOT_AT_IMPORT = [
  ...SERVICE_CLIENTS,
  /^@resvg\/resvg-js/,
  /^@observablehq\/plot$/,
  /^d3(-|$)/,
  /^linkedom$/,
  /^@epochcast\/(?!core$)/,
];

interface Footprint {
  /** Packages loaded right after `await import('@epochcast/core')`. */
  import: string[];
  /** … after a fit and `learn.recorder.plotLosses().svg`. */
  svg: string[];
  /** … after `await plot.png()`. */
  png: string[];
  /** … after `await preloadPlotting()`, right after the import (run with `preload`). */
  preload?: string[];
}

async function footprint(...args: string[]): Promise<Footprint> {
  const { stdout } = await promisify(execFile)(process.execPath, [FIXTURE, ...args], { timeout: 50_000 });
  const line = stdout.split('\n').find((l) => l.startsWith('footprint '));
  if (!line) throw new Error(`the fixture printed no footprint line:\n${stdout}`);
  return JSON.parse(line.slice('footprint '.length)) as Footprint;
}

const matching = (names: readonly string[], patterns: readonly RegExp[]) => names.filter((n) => patterns.some((p) => p.test(n)));

describe('what a fresh Node process loads with @epochcast/core', () => {
  let seen: Footprint;
  beforeAll(async () => {
    seen = await footprint();
  });

  test('the import loads tfjs and core, and no plotting, notifier, retry or Redis package', () => {
    expect(seen.import).toContain('@epochcast/core');
    expect(seen.import).toContain('@tensorflow/tfjs');
    expect(matching(seen.import, NOT_AT_IMPORT)).toEqual([]);
  });

  test('the first plot loads Observable Plot and linkedom; the first PNG loads resvg', () => {
    expect(seen.svg).toEqual(expect.arrayContaining(['@observablehq/plot', 'linkedom']));
    expect(seen.svg).not.toContain('@resvg/resvg-js');
    expect(seen.png).toContain('@resvg/resvg-js');
  });

  test('training and plotting never load a notifier, retry or Redis package', () => {
    expect(matching(seen.png, SERVICE_CLIENTS)).toEqual([]);
  });
});

test('preloadPlotting() loads the plotting libraries before any chart (what a notifier does before the first epoch)', async () => {
  const seen = await footprint('preload');
  expect(matching(seen.import, NOT_AT_IMPORT)).toEqual([]);
  expect(seen.preload).toEqual(expect.arrayContaining(['@observablehq/plot', 'linkedom', '@resvg/resvg-js']));
  expect(matching(seen.preload ?? [], SERVICE_CLIENTS)).toEqual([]);
});

test('core depends on training, plotting and the shipped font only: no service client, retry or Redis library', () => {
  const pkg = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as Record<string, Record<string, string> | undefined>;
  const dependencies = Object.keys(pkg.dependencies ?? {});
  expect(matching([...dependencies, ...Object.keys(pkg.peerDependencies ?? {})], [...SERVICE_CLIENTS, /^@epochcast\//])).toEqual([]);
  expect(dependencies.sort()).toEqual(
    ['@observablehq/plot', '@resvg/resvg-js', '@tensorflow/tfjs-backend-wasm', 'dejavu-fonts-ttf', 'linkedom', 'seedrandom'].sort(),
  );
});
