// What the docs' tests share: where the repository is, running a built sample as a reader would,
// and checking a transcript against a fresh run of its producer.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { type ChildRun, runChild } from '../src/child.js';
import { normalizeTranscript, produceTranscript, transcriptNamed } from '../src/transcripts.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Runs `docs/samples/<name>.ts` as built (`docs/dist/samples/<name>.js`) with the environment the
 * test gives it (the testkit servers' addresses) on top of the test's own, on the backend a
 * reader's machine picks (wasm), as the docs show it.
 */
export function runSample(name: string, env: Record<string, string> = {}, timeoutMs = 60_000): Promise<ChildRun> {
  return runChild([process.execPath, path.join(ROOT, 'docs/dist/samples', `${name}.js`)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    timeoutMs,
  });
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
