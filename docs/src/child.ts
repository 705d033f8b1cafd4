/**
 * Runs a program to its end as the docs' producers and tests need it: what it printed on stdout,
 * on stderr, and both in arrival order (what `2>&1 | cat` shows); killed when it runs too long.
 */
import { spawn } from 'node:child_process';

export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr in the order they came. */
  output: string;
}

export interface ChildOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** SIGKILLs the program as soon as this holds of its stdout so far (a crash at a chosen point). */
  killWhen?: (stdout: string) => boolean;
}

export function runChild(command: readonly string[], { cwd, env, timeoutMs, killWhen }: ChildOptions): Promise<ChildRun> {
  const [program = '', ...args] = command;
  const child = spawn(program, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const run: ChildRun = { code: null, signal: null, stdout: '', stderr: '', output: '' };
  child.stdout.on('data', (chunk: Buffer) => {
    run.stdout += chunk.toString('utf8');
    run.output += chunk.toString('utf8');
    if (killWhen?.(run.stdout)) child.kill('SIGKILL');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    run.stderr += chunk.toString('utf8');
    run.output += chunk.toString('utf8');
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command.join(' ')} ran over ${timeoutMs} ms; what it printed so far:\n${run.output}`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ ...run, code, signal });
    });
  });
}
