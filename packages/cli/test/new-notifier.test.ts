// `epochcast new-notifier`: the skeleton it writes passes its own tests untouched. It is generated
// under the repository's .test-output/, where Node finds the workspace's node_modules
// (@epochcast/core and @epochcast/testkit as built by `tsc -b`, vitest, typescript), then
// type-checked with the repository's tsc and tested with the repository's vitest in a child
// process, using the skeleton's own vitest.config.ts — no install, no network. That its own
// `npm install && npm test` pass in a folder outside the repository, from an installed CLI, is
// test/packaging/install.test.ts (`pnpm test:packaging`); here, what a checkout writes into vendor/.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkNotifierName, notifierFiles, SCAFFOLD_VERSIONS } from '../src/new-notifier.js';
import { runCli } from '../src/program.js';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const VITEST = path.join(ROOT, 'node_modules/vitest/vitest.mjs');
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');
let work: string;

beforeAll(async () => {
  await mkdir(path.join(ROOT, '.test-output'), { recursive: true });
  work = await mkdtemp(path.join(ROOT, '.test-output/new-notifier-'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function cli(args: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(args, {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    env: {},
  });
  return { code, out, err };
}

/** The environment of a child tool: no vitest worker state, no service credentials, no colours. */
function childEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(VITEST|TINYPOOL|NODE_OPTIONS$|FORCE_COLOR$)/.test(k)));
  return { ...env, NO_COLOR: '1', CI: 'true' };
}

describe('epochcast new-notifier', () => {
  test('the skeleton type-checks and passes its tests (the conformance suite included) as written', async () => {
    const dir = path.join(work, 'epochcast-notifier-acme-hooks');
    const { code, out, err } = await cli(['new-notifier', 'acme-hooks', '--dir', dir, '--registry']);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain('Wrote epochcast-notifier-acme-hooks (AcmeHooksCallback)');
    expect((await readdir(dir, { recursive: true })).sort()).toEqual(
      [
        '.gitignore',
        'README.md',
        'package.json',
        'src',
        'src/index.ts',
        'test',
        'test/conformance.test.ts',
        'test/index.test.ts',
        'tsconfig.json',
        'vitest.config.ts',
      ].sort(),
    );

    // Sources with the skeleton's own tsconfig; its tests with the same options (a config beside
    // the package, so the package stays untouched).
    await run(process.execPath, [TSC, '-p', dir, '--noEmit'], { cwd: dir, env: childEnv() });
    const testConfig = path.join(work, 'tsconfig.acme-tests.json');
    await writeFile(
      testConfig,
      JSON.stringify({
        extends: './epochcast-notifier-acme-hooks/tsconfig.json',
        compilerOptions: { noEmit: true, rootDir: './epochcast-notifier-acme-hooks' },
        include: ['epochcast-notifier-acme-hooks/src', 'epochcast-notifier-acme-hooks/test'],
      }),
    );
    await run(process.execPath, [TSC, '-p', testConfig], { cwd: work, env: childEnv() });

    const result = await run(process.execPath, [VITEST, 'run', '--root', dir, '--config', path.join(dir, 'vitest.config.ts')], {
      cwd: dir,
      env: childEnv(),
      maxBuffer: 16 * 1024 * 1024,
    }).catch((error: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`the skeleton's tests failed:\n${error.stdout ?? ''}\n${error.stderr ?? error.message}`);
    });
    expect(result.stdout).toMatch(/Test Files +2 passed \(2\)/);
    // 2 unit tests and the conformance suite's 14: two of them on secrets (other services' redacted;
    // the notifier printed), three on alerts (delivered; not lost behind the end; a secret in the text redacted).
    expect(result.stdout).toMatch(/Tests +16 passed \(16\)/);
    expect(result.stdout).toMatch(/test\/conformance\.test\.ts \(14 tests\)/);
  }, 120_000);

  test('without --dir it writes ./epochcast-notifier-<name>; the package is named for the convention, core a peer dependency', async () => {
    const cwd = path.join(work, 'here');
    await mkdir(cwd);
    const previous = process.cwd();
    process.chdir(cwd);
    try {
      expect((await cli(['new-notifier', 'ntfy', '--registry'])).code).toBe(0);
    } finally {
      process.chdir(previous);
    }
    const pkg = JSON.parse(await readFile(path.join(cwd, 'epochcast-notifier-ntfy/package.json'), 'utf8'));
    expect(pkg).toMatchObject({
      name: 'epochcast-notifier-ntfy',
      type: 'module',
      keywords: expect.arrayContaining(['epochcast-notifier']),
      peerDependencies: { '@epochcast/core': '^0.1.0', '@epochcast/notify': '^0.1.0' },
      // --registry: the registry's ranges, no vendor/.
      devDependencies: { '@epochcast/core': '^0.1.0', '@epochcast/notify': '^0.1.0', '@epochcast/testkit': '^0.1.0', vitest: '4.1.12' },
      scripts: { test: 'vitest run' },
    });
    await expect(readdir(path.join(cwd, 'epochcast-notifier-ntfy/vendor'))).rejects.toThrow(/ENOENT/);
    expect(pkg.dependencies).toBeUndefined();
    const index = await readFile(path.join(cwd, 'epochcast-notifier-ntfy/src/index.ts'), 'utf8');
    expect(index).toContain('export class NtfyCallback extends Notifier');
    expect(index).toContain("readonly service = 'ntfy';");
    expect(index).toContain('process.env.NTFY_URL');
    // The text comes from the base, sized to limits.maxTextLength.
    expect(index).toContain('context.messages()');
    const readme = await readFile(path.join(cwd, 'epochcast-notifier-ntfy/README.md'), 'utf8');
    expect(readme).toContain('npm install epochcast-notifier-ntfy @epochcast/notify @epochcast/core @tensorflow/tfjs');
    expect(readme).toContain('`NtfyCallback`');
    // Only the public entry points of notify and testkit.
    const sources = Object.entries(notifierFiles('ntfy')).filter(([file]) => file.endsWith('.ts'));
    const imports = sources.flatMap(([, text]) => [...text.matchAll(/from '([^']+)'/g)].map((m) => m[1]));
    expect(new Set(imports)).toEqual(
      new Set(['@epochcast/notify', '@epochcast/testkit', '@epochcast/testkit/conformance', 'vitest', 'vitest/config', '../src/index.js']),
    );
  });

  test('from a checkout, the packages this CLI runs on are packed into vendor/ with pnpm, as published, and the package depends on them there', async () => {
    const dir = path.join(work, 'vendored');
    const { code, out, err } = await cli(['new-notifier', 'acme', '--dir', dir]);
    expect(err).toBe('');
    expect(code).toBe(0);
    const tarballs = ['coordination', 'core', 'notify', 'testkit'].map((name) => `epochcast-${name}-0.1.0.tgz`);
    expect((await readdir(path.join(dir, 'vendor'))).sort()).toEqual(tarballs);
    expect(out).toContain(
      `vendor/epochcast-notify-0.1.0.tgz  (@epochcast/notify 0.1.0: pnpm pack of ${path.join(ROOT, 'packages/notify')})`,
    );
    expect(out).toContain('--registry writes version ranges instead');
    const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8'));
    expect(pkg.devDependencies).toMatchObject({
      '@epochcast/core': 'file:vendor/epochcast-core-0.1.0.tgz',
      '@epochcast/notify': 'file:vendor/epochcast-notify-0.1.0.tgz',
      '@epochcast/testkit': 'file:vendor/epochcast-testkit-0.1.0.tgz',
      // notify's dependency: from vendor/ too, or npm would look for it on the registry.
      '@epochcast/coordination': 'file:vendor/epochcast-coordination-0.1.0.tgz',
      vitest: SCAFFOLD_VERSIONS.vitest,
    });
    // Peer ranges stay what a published plugin declares.
    expect(pkg.peerDependencies).toEqual({ '@epochcast/core': '^0.1.0', '@epochcast/notify': '^0.1.0' });
    // pnpm rewrote the workspace: ranges: npm can install each tarball.
    for (const tarball of tarballs) {
      const { stdout } = await run('tar', ['xzf', path.join(dir, 'vendor', tarball), '-O', 'package/package.json']);
      expect(stdout, tarball).not.toContain('workspace:');
    }
    expect(await readFile(path.join(dir, 'README.md'), 'utf8')).toContain('packed copies in `vendor/`');

    // --tarballs copies them from a folder instead (here, the vendor/ just written); one missing: nothing written.
    const copied = path.join(work, 'copied');
    const fromFolder = await cli(['new-notifier', 'acme', '--dir', copied, '--tarballs', path.join(dir, 'vendor')]);
    expect(fromFolder.code).toBe(0);
    expect(fromFolder.out).toContain(`(@epochcast/core 0.1.0: copied from ${path.join(dir, 'vendor')})`);
    expect((await readdir(path.join(copied, 'vendor'))).sort()).toEqual(tarballs);
    const partial = path.join(work, 'partial');
    await mkdir(partial);
    await writeFile(path.join(partial, 'epochcast-core-0.1.0.tgz'), '');
    const missing = await cli(['new-notifier', 'acme', '--dir', path.join(work, 'not-written'), '--tarballs', partial]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain(`--tarballs ${partial} has no epochcast-notify-0.1.0.tgz`);
    await expect(readdir(path.join(work, 'not-written'))).rejects.toThrow(/ENOENT/);
  });

  test('from a checkout without pnpm on the PATH: says how to get it, or to use --tarballs or --registry; nothing written', async () => {
    const path_ = process.env.PATH;
    process.env.PATH = path.join(work, 'no-tools-here');
    try {
      const { code, err } = await cli(['new-notifier', 'acme', '--dir', path.join(work, 'no-pnpm')]);
      expect(code).toBe(1);
      expect(err).toMatch(
        /only `pnpm pack` packs as published .* pnpm is not on the PATH\. Install it \(`npm install --global pnpm@12\.4\.2`\)/,
      );
      expect(err).toContain('--tarballs <dir>');
      expect(err).toContain('--registry');
    } finally {
      process.env.PATH = path_;
    }
    await expect(readdir(path.join(work, 'no-pnpm'))).rejects.toThrow(/ENOENT/);
  });

  test("the skeleton's versions are the ones this repository builds and tests with", async () => {
    const json = async (file: string) => JSON.parse(await readFile(path.join(ROOT, file), 'utf8'));
    const root = await json('package.json');
    const core = await json('packages/core/package.json');
    const notify = await json('packages/notify/package.json');
    const testkit = await json('packages/testkit/package.json');
    expect(SCAFFOLD_VERSIONS.core).toBe(`^${core.version}`);
    expect(SCAFFOLD_VERSIONS.notify).toBe(`^${notify.version}`);
    expect(SCAFFOLD_VERSIONS.testkit).toBe(`^${testkit.version}`);
    expect(SCAFFOLD_VERSIONS.tfjs).toBe(root.devDependencies['@tensorflow/tfjs']);
    expect(SCAFFOLD_VERSIONS.vitest).toBe(root.devDependencies.vitest);
    expect(SCAFFOLD_VERSIONS.typescript).toBe(root.devDependencies.typescript);
    expect(SCAFFOLD_VERSIONS.typesNode).toBe(root.devDependencies['@types/node']);
  });

  test('a bad name is a usage error (exit 2) that says what a name may be; nothing is written', async () => {
    for (const name of ['Discord', 'my_service', '9lives', 'a--b', 'trailing-', 'x'.repeat(41), 'émoji']) {
      const { code, err } = await cli(['new-notifier', name, '--dir', path.join(work, 'bad')]);
      expect(code).toBe(2);
      expect(err).toMatch(
        /^epochcast new-notifier: the name must be 1–40 lowercase letters, digits and single dashes, starting with a letter/,
      );
    }
    const { code, err } = await cli(['new-notifier', 'epochcast-notifier-discord', '--dir', path.join(work, 'bad')]);
    expect(code).toBe(2);
    expect(err).toContain("give the service's name alone: `epochcast new-notifier discord`");
    await expect(readdir(path.join(work, 'bad'))).rejects.toThrow(/ENOENT/);
    expect(checkNotifierName('ms-teams')).toBeUndefined();
    expect((await cli(['new-notifier'])).code).toBe(2);
  });

  test('an existing non-empty directory is never overwritten (exit 2: a --dir to change); an empty one is used', async () => {
    const full = path.join(work, 'full');
    await mkdir(full);
    await writeFile(path.join(full, 'notes.txt'), 'mine');
    const { code, err } = await cli(['new-notifier', 'acme', '--dir', full]);
    expect(code).toBe(2);
    expect(err).toMatch(
      /^epochcast new-notifier: .*full already exists and is not empty; nothing written\. Choose another place with --dir\.\n$/,
    );
    expect(await readdir(full)).toEqual(['notes.txt']);
    const empty = path.join(work, 'empty');
    await mkdir(empty);
    expect((await cli(['new-notifier', 'acme', '--dir', empty])).code).toBe(0);
    expect(await readdir(empty)).toContain('package.json');
  });
});
