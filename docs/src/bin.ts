/**
 * `pnpm docs:sync` writes the samples and transcripts into the Markdown that shows them;
 * `pnpm docs:check` lists every block that does not match; `pnpm docs:transcripts [file…]` runs
 * the transcripts' producers, writes their files, then syncs.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkDocs, syncDocs } from './check.js';
import { TRANSCRIPTS, writeTranscript } from './transcripts.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const [verb, ...names] = process.argv.slice(2);

if (verb === 'transcripts') {
  const chosen = names.length ? TRANSCRIPTS.filter((t) => names.some((n) => t.file.includes(n))) : TRANSCRIPTS;
  for (const transcript of chosen) {
    process.stdout.write(`${transcript.file} ← ${transcript.command.join(' ')}\n`);
    await writeTranscript(root, transcript);
  }
}
if (verb === 'sync' || verb === 'transcripts') {
  for (const file of syncDocs(root)) process.stdout.write(`updated ${file}\n`);
} else if (verb === 'check') {
  const problems = await checkDocs(root);
  for (const p of problems) process.stdout.write(`${p.where}: ${p.message}\n`);
  process.stdout.write(`${problems.length} problem(s)\n`);
  process.exitCode = problems.length ? 1 : 0;
} else if (verb !== 'transcripts') {
  process.stderr.write('usage: node docs/dist/src/bin.js sync | check | transcripts [file…]\n');
  process.exitCode = 2;
}
