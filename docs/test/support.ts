// What the docs' tests share: where the repository is, running a built sample as a reader would,
// and checking a transcript against a fresh run of its producer.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { normalizeTranscript, produceTranscript, transcriptNamed } from '../src/transcripts.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface SampleRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `docs/samples/<name>.ts` as built (`docs/dist/samples/<name>.js`) with the environment the
 * test gives it (the testkit servers' addresses) on top of the test's own.
 */
export async function runSample(name: string, env: Record<string, string> = {}, timeoutMs = 60_000): Promise<SampleRun> {
  const child = spawn(process.execPath, [path.join(ROOT, 'docs/dist/samples', `${name}.js`)], {
    cwd: ROOT,
    // The backend a reader's machine picks (wasm), as the docs show: 4–5× faster than cpu on the MNIST samples.
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sample ${name} ran over ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  return { code, stdout, stderr };
}

/** Runs a transcript's producer and expects what it prints to be what the file (and so the docs) show. */
export async function expectTranscriptCurrent(file: string): Promise<void> {
  const transcript = transcriptNamed(file);
  const shown = await readFile(path.join(ROOT, file), 'utf8');
  const fresh = await produceTranscript(ROOT, transcript);
  expect(
    normalizeTranscript(transcript, fresh),
    `${file} no longer matches what its producer prints: run pnpm docs:transcripts ${path.basename(file)}`,
  ).toBe(normalizeTranscript(transcript, shown));
}
