/** Runs a fixture script in a child Node process and collects its output. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** performance.now() when the process exited. */
  at: number;
}

export interface Child {
  process: ChildProcess;
  exited: Promise<Exit>;
  /** Resolves at performance.now() when stdout first contains `text`; rejects if the child exits first. */
  printed(text: string): Promise<number>;
}

export function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

export function runFixture(name: string, env: Record<string, string>, killAfterMs = 30_000): Child {
  const child = spawn(process.execPath, [fixture(name)], {
    // The parent's vitest env may carry EPOCHCAST_DISABLE or service settings: start clean.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const watchers: { text: string; resolve: (at: number) => void }[] = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const w of watchers.splice(0)) {
      if (stdout.includes(w.text)) w.resolve(performance.now());
      else watchers.push(w);
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  const exited = new Promise<Exit>((resolve) =>
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr, at: performance.now() });
    }),
  );
  return {
    process: child,
    exited,
    printed: (text) =>
      new Promise<number>((resolve, reject) => {
        if (stdout.includes(text)) return resolve(performance.now());
        watchers.push({ text, resolve });
        void exited.then((e) =>
          reject(new Error(`exited (${e.code ?? e.signal}) before printing ${JSON.stringify(text)}:\n${e.stdout}\n${e.stderr}`)),
        );
      }),
  };
}
