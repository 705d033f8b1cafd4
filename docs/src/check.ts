/**
 * The docs' blocks against the files they show: every fenced block of the Markdown docs has a
 * marker (docs/src/markdown.ts), a sample equals its file, a transcript equals what its producer
 * wrote, commands pass the command checks. `sync` writes the files' text into the Markdown.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CommandChecker } from './commands.js';
import { type FencedBlock, fencedBlocks, rewriteBlocks, sampleText } from './markdown.js';
import { TRANSCRIPTS } from './transcripts.js';

export interface DocProblem {
  /** `file:line` of the block's opening fence. */
  where: string;
  message: string;
}

/** The Markdown files whose blocks are checked, relative to the root. */
export function markdownFiles(root: string): string[] {
  const readmes = (dir: string) =>
    readdirSync(path.join(root, dir))
      .map((p) => `${dir}/${p}/README.md`)
      .filter((f) => existsSync(path.join(root, f)));
  const docs = readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`);
  return ['README.md', ...readmes('packages'), ...docs, ...readmes('examples')];
}

/** What a sample or output marker says the block must hold, or why it cannot say. */
function expectedText(root: string, block: FencedBlock): string | Error | undefined {
  const marker = block.marker;
  if (marker?.kind !== 'sample' && marker?.kind !== 'output') return undefined;
  if (!existsSync(path.join(root, marker.path))) return new Error(`${marker.path} does not exist`);
  if (marker.kind === 'output' && !TRANSCRIPTS.some((t) => t.file === marker.path))
    return new Error(`${marker.path} is not produced by any entry of TRANSCRIPTS (docs/src/transcripts.ts)`);
  try {
    return marker.kind === 'sample' ? sampleText(root, marker.path, marker.region) : readFileSync(path.join(root, marker.path), 'utf8');
  } catch (error) {
    return error as Error;
  }
}

export async function checkDocs(root: string): Promise<DocProblem[]> {
  const problems: DocProblem[] = [];
  const commands = new CommandChecker(root);
  for (const file of markdownFiles(root)) {
    for (const block of fencedBlocks(file, readFileSync(path.join(root, file), 'utf8'))) {
      const where = `${file}:${block.line}`;
      const report = (message: string) => problems.push({ where, message });
      const marker = block.marker;
      if (!marker) {
        report(
          block.badMarker
            ? `"${block.badMarker}" is not a marker (sample: <path>[#region], output: <path>, commands, figure)`
            : `a \`\`\`${block.language} block with no marker before it: show a real file (<!-- sample: path -->), a transcript (<!-- output: docs/transcripts/… -->) or checked commands (<!-- commands -->)`,
        );
        continue;
      }
      if (marker.kind === 'figure') {
        if (block.language !== '' && block.language !== 'text') report('a figure is text, not code: show code as a sample');
        continue;
      }
      if (marker.kind === 'commands') {
        for (const problem of await commands.check(block.content)) report(problem);
        continue;
      }
      const expected = expectedText(root, block);
      if (expected instanceof Error) report(expected.message);
      else if (expected !== undefined && expected !== block.content)
        report(
          `differs from ${marker.path}${marker.kind === 'sample' && marker.region ? `#${marker.region}` : ''} ${firstDifference(block.content, expected)}: run pnpm docs:sync`,
        );
    }
  }
  return problems;
}

function firstDifference(shown: string, actual: string): string {
  const a = shown.split('\n');
  const b = actual.split('\n');
  const i = a.findIndex((line, n) => line !== b[n]);
  const at = i < 0 ? a.length : i;
  return `at its line ${at + 1}: the docs show ${JSON.stringify(a[at] ?? '(end)')}, the file has ${JSON.stringify(b[at] ?? '(end)')}`;
}

/** Writes every sample's and transcript's file into the blocks that show it; returns the files changed. */
export function syncDocs(root: string): string[] {
  const changed: string[] = [];
  for (const file of markdownFiles(root)) {
    const full = path.join(root, file);
    const text = readFileSync(full, 'utf8');
    const next = rewriteBlocks(file, text, (block) => {
      const expected = expectedText(root, block);
      return typeof expected === 'string' ? expected : undefined;
    });
    if (next !== text) {
      writeFileSync(full, next);
      changed.push(file);
    }
  }
  return changed;
}

/** Files under docs/samples and docs/transcripts that no block shows. */
export function unshownFiles(root: string): string[] {
  const shown = new Set<string>();
  for (const file of markdownFiles(root))
    for (const block of fencedBlocks(file, readFileSync(path.join(root, file), 'utf8')))
      if (block.marker?.kind === 'sample' || block.marker?.kind === 'output') shown.add(block.marker.path);
  return [...filesUnder(root, 'docs/samples'), ...filesUnder(root, 'docs/transcripts')].filter((f) => !shown.has(f));
}

export function filesUnder(root: string, dir: string): string[] {
  if (!existsSync(path.join(root, dir))) return [];
  return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(root, `${dir}/${entry.name}`) : entry.name === '.gitkeep' ? [] : [`${dir}/${entry.name}`],
  );
}
