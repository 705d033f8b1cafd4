#!/usr/bin/env node
// `pnpm pack:all`: every publishable package of packages/* as npm would get it — built, packed with
// `pnpm pack` (which rewrites `workspace:` ranges to versions), checked, and linted by publint and
// arethetypeswrong. Fails on the first package with a problem; prints each tarball's size.
//
//   node scripts/pack.mjs [--out <dir>] [--no-build] [--no-lint]
//
// --out: where the tarballs go (default .test-output/packages, emptied first). The packaging tests
// (pnpm test:packaging) call it with --no-build --no-lint to get the tarballs they install.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const outArg = args.indexOf('--out');
const out = path.resolve(outArg >= 0 ? args[outArg + 1] : path.join(ROOT, '.test-output/packages'));
const build = !args.includes('--no-build');
const lint = !args.includes('--no-lint');
const bin = (name) => path.join(ROOT, 'node_modules/.bin', name);

function fail(message) {
  process.stderr.write(`pack: ${message}\n`);
  process.exit(1);
}

/** Runs a tool and returns its output; when it fails, prints that output and exits. */
function tool(command, argv, options = {}) {
  try {
    const text = execFileSync(command, argv, {
      cwd: options.cwd ?? ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
    });
    return text;
  } catch (error) {
    fail(`${options.what ?? `${command} ${argv.join(' ')}`} failed:\n${error.stdout ?? ''}${error.stderr ?? error.message}`);
  }
}

/** dist/ files with no source any more: tsc -b never deletes them, and they would be published. */
function staleOutputs(dir) {
  const dist = path.join(dir, 'dist');
  const stale = [];
  for (const file of readdirSync(dist, { recursive: true })) {
    if (statSync(path.join(dist, file)).isDirectory()) continue;
    const stem = file.replace(/(\.d)?\.(js|ts)(\.map)?$/, '');
    if (!existsSync(path.join(dir, 'src', `${stem}.ts`))) stale.push(`dist/${file}`);
  }
  return stale;
}

/** Every file the manifest points at: exports (types and default), main, types, bin. */
function entryFiles(manifest) {
  const files = new Set();
  const walk = (target) => {
    if (typeof target === 'string') files.add(target.replace(/^\.\//, ''));
    else if (target && typeof target === 'object') for (const value of Object.values(target)) walk(value);
  };
  walk(manifest.exports);
  walk(manifest.main);
  walk(manifest.types);
  walk(manifest.bin);
  return [...files];
}

const started = Date.now();
if (build) tool('pnpm', ['build'], { what: 'pnpm build' });

const packages = readdirSync(path.join(ROOT, 'packages'))
  .map((name) => path.join(ROOT, 'packages', name))
  .filter((dir) => existsSync(path.join(dir, 'package.json')))
  .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) }))
  .filter(({ manifest }) => !manifest.private);

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const rows = [];
for (const { dir, manifest } of packages) {
  const stale = staleOutputs(dir);
  if (stale.length > 0)
    fail(`${manifest.name}: ${stale.join(', ')} in dist/ have no source; run \`pnpm exec tsc -b --clean && pnpm build\`.`);

  tool('pnpm', ['pack', '--pack-destination', out], { cwd: dir, what: `pnpm pack of ${manifest.name}` });
  const tarball = path.join(out, `${manifest.name.replace(/^@/, '').replace('/', '-')}-${manifest.version}.tgz`);
  if (!existsSync(tarball)) fail(`pnpm pack of ${manifest.name} did not write ${path.basename(tarball)}`);

  // What the tarball holds: the entry points, the README, and a package.json as npm will read it.
  const listed = new Set(
    tool('tar', ['tzf', tarball])
      .split('\n')
      .filter(Boolean)
      .map((file) => file.replace(/^package\//, '')),
  );
  const missing = [...entryFiles(manifest), 'README.md', 'package.json'].filter((file) => !listed.has(file));
  if (missing.length > 0) fail(`${manifest.name}: the tarball lacks ${missing.join(', ')}`);
  const packed = tool('tar', ['xzf', tarball, '-O', 'package/package.json']);
  if (packed.includes('"workspace:')) fail(`${manifest.name}: the packed package.json still has a workspace: range`);

  let publint = 'not run';
  let attw = 'not run';
  if (lint) {
    // --strict: warnings fail too. The tarball is what is published, so it is what is linted.
    const publintSaid = tool(bin('publint'), ['run', tarball, '--strict'], { what: `publint of ${manifest.name}` });
    publint = publintSaid.includes('All good!') ? 'all good' : 'suggestions (above)';
    if (publint !== 'all good') process.stdout.write(publintSaid);
    // esm-only: the packages are ESM only (Node ≥ 20.19 require()s ESM), so CommonJS and node10
    // resolution are not checked; types must resolve for ESM under node16/nodenext and bundlers.
    tool(bin('attw'), [tarball, '--profile', 'esm-only', '--format', 'ascii', '--no-emoji', '--no-color'], {
      what: `attw of ${manifest.name}`,
    });
    attw = 'no problems';
  }
  rows.push({ name: manifest.name, tarball: path.basename(tarball), bytes: statSync(tarball).size, files: listed.size, publint, attw });
}

const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
process.stdout.write(`\n| package | tarball | size | files | publint | attw (esm-only) |\n|---|---|---:|---:|---|---|\n`);
for (const r of rows) process.stdout.write(`| ${r.name} | ${r.tarball} | ${kib(r.bytes)} | ${r.files} | ${r.publint} | ${r.attw} |\n`);
const total = rows.reduce((sum, r) => sum + r.bytes, 0);
process.stdout.write(`\n${rows.length} packages, ${kib(total)} in ${out} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
