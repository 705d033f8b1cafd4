import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../src/index.js';

/** The built binary: these tests run it as a real child process. */
export const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '../dist/bin.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRun {
  /** The epochcast process. */
  pid: number;
  process: ChildProcessWithoutNullStreams;
  /** What it printed on stdout so far. */
  stdout(): string;
  /** Resolves once stdout contains `text`. */
  waitForOutput(text: string): Promise<void>;
  done: Promise<CliResult>;
}

/** Variables that would point a notifier at a real service: never inherited by a test. */
const SERVICE_VARS = /^(TELEGRAM_|SLACK_|SMTP_|EMAIL_|EPOCHCAST_)/;

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, which is then closed; `false` leaves stdin open for the test. */
  input?: string | false;
  /** Start epochcast as the leader of its own process group, as a shell starts a job in a terminal. */
  detached?: boolean;
}

/** Starts `node dist/bin.js <args>` with a clean service environment plus `env`. */
export function startCli(args: readonly string[], options: StartOptions = {}): CliRun {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !SERVICE_VARS.test(k)));
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...base, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  if (options.input !== false) child.stdin.end(options.input ?? '');
  let stdout = '';
  let stderr = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    for (const w of waiters.splice(0)) {
      if (stdout.includes(w.text)) w.resolve();
      else waiters.push(w);
    }
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return {
    pid: child.pid ?? -1,
    process: child,
    stdout: () => stdout,
    waitForOutput: (text) => (stdout.includes(text) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ text, resolve }))),
    done,
  };
}

/** Runs the binary to its end. */
export function cli(args: readonly string[], options: StartOptions = {}): Promise<CliResult> {
  return startCli(args, options).done;
}

/** `node -e <script>` as a command for `epochcast run`. */
export function nodeScript(script: string): string[] {
  return [process.execPath, '-e', script];
}

/**
 * Runs the CLI in this process with captured output and `env` as its environment (what the CLI
 * reads itself; plugins read process.env: use `cli` for a setting a plugin reads).
 */
export async function runInProcess(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io = {
    out: (text: string) => {
      out += text;
    },
    err: (text: string) => {
      err += text;
    },
    env,
  };
  const code = await runCli(args, io);
  return { code, out, err };
}
