/**
 * The epochcast packages a generated notifier develops against, packed into its `vendor/` folder,
 * so that its `npm install` works before (or without) the packages being on the npm registry.
 *
 * They are found by Node's own resolution from this CLI — the same copies the CLI runs on — and
 * packed with the tool that packs them as published: in a checkout of epochcast their package.json
 * has `workspace:` ranges, which only `pnpm pack` rewrites to versions; an installed copy is
 * already as published, and `npm pack` repacks it. Tarballs packed earlier (`pnpm pack:all`) can be
 * given instead with `--tarballs <dir>`.
 */
import { execFile } from 'node:child_process';
import { copyFile, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import which from 'which';

const run = promisify(execFile);

/**
 * What the skeleton's tests import (core, notify, testkit), and what they need at run time that
 * npm would otherwise fetch from the registry: notify's dependency @epochcast/coordination. Each
 * is found from the package that depends on it, as Node would.
 */
const NEEDED = [
  { name: '@epochcast/core', from: 'cli' },
  { name: '@epochcast/notify', from: 'cli' },
  { name: '@epochcast/testkit', from: 'cli' },
  { name: '@epochcast/coordination', from: '@epochcast/notify' },
] as const;

export interface LocalPackage {
  name: string;
  version: string;
  /** The package's folder: `packages/<x>` in a checkout, `node_modules/@epochcast/<x>` when installed. */
  dir: string;
  /** Its package.json has `workspace:` ranges: a checkout of epochcast, packed with pnpm. */
  workspace: boolean;
}

export interface VendoredPackage extends LocalPackage {
  /** The tarball's file name in `vendor/`. */
  tarball: string;
  /** How it got there: `pnpm pack`, `npm pack`, or copied from `--tarballs`. */
  how: string;
}

/** `@epochcast/core` 0.1.0 → `epochcast-core-0.1.0.tgz`, the name npm and pnpm pack it under. */
export function tarballName(name: string, version: string): string {
  return `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;
}

/** The folder of `name` as resolved from `fromDir`: the nearest package.json above its entry that names it. */
async function packageDir(name: string, fromDir: string): Promise<string> {
  let dir = path.dirname(createRequire(path.join(fromDir, 'package.json')).resolve(name));
  for (;;) {
    const manifest = await readFile(path.join(dir, 'package.json'), 'utf8').catch(() => undefined);
    if (manifest !== undefined && (JSON.parse(manifest) as { name?: string }).name === name) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`found ${name} but not its package.json above ${fromDir}`);
    dir = parent;
  }
}

/** The epochcast packages beside this CLI (`cliDir`: the folder of @epochcast/cli's package.json). */
export async function localPackages(cliDir: string): Promise<LocalPackage[]> {
  const found = new Map<string, LocalPackage>();
  for (const { name, from } of NEEDED) {
    const fromDir = from === 'cli' ? cliDir : found.get(from)?.dir;
    if (!fromDir) throw new Error(`${from} must be found before ${name}`);
    const dir = await packageDir(name, fromDir);
    const manifest = await readFile(path.join(dir, 'package.json'), 'utf8');
    const { version } = JSON.parse(manifest) as { version: string };
    found.set(name, { name, version, dir, workspace: manifest.includes('"workspace:') });
  }
  return [...found.values()];
}

/** Why the packages cannot be packed here (a checkout without pnpm), or undefined when they can. */
export async function packProblem(packages: readonly LocalPackage[], tarballs: string | undefined): Promise<string | undefined> {
  if (tarballs !== undefined) {
    for (const p of packages) {
      const file = path.resolve(tarballs, tarballName(p.name, p.version));
      if (!(await stat(file).catch(() => undefined))?.isFile())
        return `--tarballs ${tarballs} has no ${tarballName(p.name, p.version)}; pack them there with \`pnpm pack:all\` in the epochcast repository.`;
    }
    return undefined;
  }
  const tool = packages.some((p) => p.workspace) ? 'pnpm' : 'npm';
  if (!(await which(tool, { nothrow: true })))
    return tool === 'pnpm'
      ? 'this CLI runs from a checkout of epochcast, whose packages only `pnpm pack` packs as published (it rewrites their workspace: ranges), and pnpm is not on the PATH. Install it (`npm install --global pnpm@12.4.2`), give packed tarballs with --tarballs <dir>, or use --registry once @epochcast/* are published.'
      : 'packing the installed @epochcast packages needs npm on the PATH; or use --registry once @epochcast/* are published.';
  return undefined;
}

/** Packs (or copies from `tarballs`) each package into `vendorDir`. */
export async function vendorPackages(
  packages: readonly LocalPackage[],
  vendorDir: string,
  tarballs: string | undefined,
): Promise<VendoredPackage[]> {
  const vendored: VendoredPackage[] = [];
  for (const p of packages) {
    const tarball = tarballName(p.name, p.version);
    const target = path.join(vendorDir, tarball);
    let how: string;
    if (tarballs !== undefined) {
      await copyFile(path.resolve(tarballs, tarball), target);
      how = `copied from ${path.resolve(tarballs)}`;
    } else if (p.workspace) {
      await run('pnpm', ['pack', '--pack-destination', vendorDir], { cwd: p.dir, maxBuffer: 16 * 1024 * 1024 });
      how = `pnpm pack of ${p.dir}`;
    } else {
      await run('npm', ['pack', p.dir, '--pack-destination', vendorDir, '--silent'], { cwd: vendorDir, maxBuffer: 16 * 1024 * 1024 });
      how = `npm pack of ${p.dir}`;
    }
    if (!(await stat(target).catch(() => undefined))?.isFile()) throw new Error(`${how} did not write ${tarball}`);
    vendored.push({ ...p, tarball, how });
  }
  return vendored;
}
