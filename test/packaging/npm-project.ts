// What the packaging tests run as a user would: plain npm and node in folders under os.tmpdir(),
// outside the workspace, with an environment that cannot reach it.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, realpath, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * A user's environment: none of vitest's or pnpm's variables (pnpm sets npm_config_* for its
 * scripts), no service credentials, and no PATH entry inside the workspace (its node_modules/.bin).
 */
export function userEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) =>
        !/^(VITEST|TINYPOOL|npm_|NODE_OPTIONS$|NODE_PATH$|FORCE_COLOR$|PNPM_|TELEGRAM_|SLACK_|SMTP_|EMAIL_|NTFY_|EPOCHCAST_)/i.test(key),
    ),
  );
  const inside = (entry: string) => path.resolve(entry).startsWith(ROOT + path.sep) || path.resolve(entry) === ROOT;
  env.PATH = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((entry) => entry && !inside(entry))
    .join(path.delimiter);
  return { ...env, NO_COLOR: '1', CI: 'true' };
}

export interface Ran {
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command in `cwd`; a failure throws with everything it printed. */
export async function sh(command: string, args: string[], cwd: string, timeoutMs = 300_000): Promise<Ran> {
  const started = performance.now();
  try {
    const { stdout, stderr } = await execFileAsync(command, args, { cwd, env: userEnv(), timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return { stdout, stderr, ms: performance.now() - started };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `\`${command} ${args.join(' ')}\` in ${cwd} failed: ${e.message}\n--- stdout\n${e.stdout ?? ''}\n--- stderr\n${e.stderr ?? ''}`,
    );
  }
}

/**
 * A fresh folder under os.tmpdir(). Node and npm look upwards for node_modules and package.json:
 * none may be above it, or the test would not be outside every project.
 */
export async function freshFolder(prefix: string): Promise<string> {
  // Real path: what Node's resolution reports (on macOS the temporary directory is behind a symlink).
  const dir = await realpath(await mkdtemp(path.join(os.tmpdir(), prefix)));
  for (let up = path.dirname(dir); ; up = path.dirname(up)) {
    for (const leak of ['node_modules', 'package.json'])
      if (existsSync(path.join(up, leak)))
        throw new Error(`${path.join(up, leak)} exists above ${dir}: remove it, or set TMPDIR elsewhere.`);
    if (path.dirname(up) === up) break;
  }
  return dir;
}

/** A fresh npm project: a package.json and nothing else. */
export async function freshProject(prefix: string): Promise<string> {
  const dir = await freshFolder(prefix);
  await writeFile(path.join(dir, 'package.json'), `${JSON.stringify({ name: 'user-project', private: true, type: 'module' }, null, 2)}\n`);
  return dir;
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
