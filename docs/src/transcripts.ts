/**
 * The transcripts the docs show, each with the command that produces it. `pnpm docs:transcripts`
 * runs them and writes the files (and the Markdown that shows them); the docs' tests run them again
 * and compare, with the parts that differ from run to run (durations, ports, paths, run ids) masked.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runChild } from './child.js';
import { CLI_TRANSCRIPTS } from './transcripts/cli.js';
import { CORE_TRANSCRIPTS } from './transcripts/core.js';
import { GUIDE_TRANSCRIPTS } from './transcripts/guide.js';
import { NOTIFIERS_TRANSCRIPTS } from './transcripts/notifiers.js';
import { SWEEP_TRANSCRIPTS } from './transcripts/sweep.js';

export interface Transcript {
  /** The file under docs/transcripts/ the Markdown shows (`<!-- output: … -->`). */
  file: string;
  /** The command, run at the repository root, its stderr merged into its stdout. */
  command: readonly string[];
  /** The command line the transcript shows as `$ …` on its first line; none when undefined. */
  prompt?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Masks what differs from run to run beyond what `normalizeTranscript` masks. */
  normalize?: (text: string) => string;
}

// One list per area of the docs, so that each is edited on its own.
/** What a transcript shows for the path of the checkout it was made in. */
export const CHECKOUT = '~/epochcast';

export const TRANSCRIPTS: readonly Transcript[] = [
  ...CORE_TRANSCRIPTS,
  ...NOTIFIERS_TRANSCRIPTS,
  ...GUIDE_TRANSCRIPTS,
  ...CLI_TRANSCRIPTS,
  ...SWEEP_TRANSCRIPTS,
];

export function transcriptNamed(file: string): Transcript {
  const found = TRANSCRIPTS.find((t) => t.file === file);
  if (!found) throw new Error(`${file} is not in TRANSCRIPTS (docs/src/transcripts.ts)`);
  return found;
}

/** Runs the transcript's command and returns what it printed, with its `$ …` line. */
export async function produceTranscript(root: string, transcript: Transcript): Promise<string> {
  const { code, output } = await runChild(transcript.command, {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...transcript.env },
    timeoutMs: transcript.timeoutMs ?? 120_000,
  });
  if (code !== 0) throw new Error(`${transcript.command.join(' ')} exited ${code}:\n${output}`);
  // The checkout's path, wherever it is, as the docs show it.
  return (transcript.prompt === undefined ? '' : `$ ${transcript.prompt}\n`) + output.replaceAll(`${root}/`, `${CHECKOUT}/`);
}

export async function writeTranscript(root: string, transcript: Transcript): Promise<void> {
  await writeFile(path.join(root, transcript.file), await produceTranscript(root, transcript));
}

/** What a transcript says with what differs between two runs of the same code masked. */
export function normalizeTranscript(transcript: Transcript, text: string): string {
  const masked = text
    // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal colours are what is removed
    .replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '')
    .replace(/\b(127\.0\.0\.1|localhost):\d+/g, '$1:<port>')
    .replace(/\/tmp\/[\w.-]+(\/[\w.-]+)*/g, '<tmp>')
    .replace(/\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\b/g, '<timestamp>')
    .replace(/\b\d\d:\d\d(:\d\d)?\b/g, '<clock>')
    .replace(/\b\d+(\.\d+)?\s?(ms|s|min|m|h)\b/g, '<duration>')
    .replace(/\b(\d+h)?(\d+m)?\d+s\b/g, '<duration>')
    .replace(/\([0-9a-f]{8}\)/g, '(<id>)');
  return transcript.normalize ? transcript.normalize(masked) : masked;
}
