import { spawn } from 'node:child_process';

export interface ExitedChild {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs node with `args` and a clean env (the parent's may carry EPOCHCAST_* settings meant for other
 * tests) plus `env`, until the child exits by itself; rejects, killing it, after `timeoutMs`.
 */
export function runToExit(args: string[], env: Record<string, string>, timeoutMs = 15_000): Promise<ExitedChild> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node ${args.join(' ')} did not exit by itself within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
