/**
 * The fenced blocks of the Markdown docs and the marker that says where each one comes from.
 *
 * A marker is an HTML comment on the line right before the opening fence (invisible on GitHub):
 *
 *   <!-- sample: docs/samples/core/at-a-glance.ts -->        the block is that file
 *   <!-- sample: examples/telegram/src/main.ts#notifier -->  the lines of its `#region notifier`
 *   <!-- output: docs/transcripts/demo.txt -->                a transcript a producer writes
 *   <!-- commands -->                                         shell commands, each one checked
 *   <!-- figure -->                                           a diagram, not code (text blocks only)
 *
 * Paths are relative to the repository root.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export type Marker =
  | { kind: 'sample'; path: string; region: string | undefined }
  | { kind: 'output'; path: string }
  | { kind: 'commands' }
  | { kind: 'figure' };

export interface FencedBlock {
  /** The Markdown file, relative to the repository root. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  language: string;
  /** The fence's indentation (a block inside a list item), removed from `content`. */
  indent: string;
  /** The lines between the fences, each ending in a newline. */
  content: string;
  marker: Marker | undefined;
  /** A comment before the fence that looks like a marker but is not one. */
  badMarker: string | undefined;
  /** 0-based line indices of the content: [first, end). */
  contentLines: [number, number];
}

const FENCE = /^(\s*)(`{3,}|~{3,})(.*)$/;
const MARKER = /^<!--\s*(sample|output|commands|figure)\b\s*(?::\s*(.*?))?\s*-->$/;

export function parseMarker(text: string): Marker | undefined {
  const match = MARKER.exec(text.trim());
  if (!match) return undefined;
  const [, kind, argument = ''] = match;
  if (kind === 'commands') return argument === '' ? { kind } : undefined;
  if (kind === 'figure') return argument === '' ? { kind } : undefined;
  if (argument === '') return undefined;
  if (kind === 'output') return { kind, path: argument };
  const [file = '', region] = argument.split('#');
  return { kind: 'sample', path: file, region };
}

/** Every fenced block of a Markdown text. */
export function fencedBlocks(file: string, text: string): FencedBlock[] {
  const lines = text.split('\n');
  const blocks: FencedBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] ?? '');
    if (!open) continue;
    const [, indent = '', fence = '', info = ''] = open;
    let close = i + 1;
    const closing = new RegExp(`^\\s*${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
    while (close < lines.length && !closing.test(lines[close] ?? '')) close++;
    const body = lines.slice(i + 1, close).map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l.trimStart()));
    const before = (lines[i - 1] ?? '').trim();
    const marker = parseMarker(before);
    blocks.push({
      file,
      line: i + 1,
      language: info.trim().split(/\s+/)[0] ?? '',
      indent,
      content: body.map((l) => `${l}\n`).join(''),
      marker,
      badMarker: !marker && before.startsWith('<!--') ? before : undefined,
      contentLines: [i + 1, close],
    });
    i = close;
  }
  return blocks;
}

/** Replaces blocks' contents; `replace` returns the new content (lines ending in newlines) or undefined to keep it. */
export function rewriteBlocks(file: string, text: string, replace: (block: FencedBlock) => string | undefined): string {
  const lines = text.split('\n');
  // From the last block back, so earlier line numbers stay valid.
  for (const block of fencedBlocks(file, text).reverse()) {
    const content = replace(block);
    if (content === undefined || content === block.content) continue;
    const body = content
      .replace(/\n$/, '')
      .split('\n')
      .map((l) => (l === '' ? '' : block.indent + l));
    lines.splice(block.contentLines[0], block.contentLines[1] - block.contentLines[0], ...body);
  }
  return lines.join('\n');
}

const REGION = /^\s*(?:\/\/|#|<!--)\s*#(region|endregion)\b\s*([\w-]*)/;

/**
 * What a `sample:` marker shows: the whole file, or the lines of one region, dedented. Region
 * markers (`// #region name` … `// #endregion`, `#` in Python and shell) are never shown.
 */
export function sampleText(root: string, file: string, region?: string): string {
  const lines = readFileSync(path.join(root, file), 'utf8').replace(/\n$/, '').split('\n');
  let shown: string[];
  if (region === undefined) {
    shown = lines.filter((l) => !REGION.test(l));
  } else {
    const start = lines.findIndex((l) => {
      const m = REGION.exec(l);
      return m?.[1] === 'region' && m[2] === region;
    });
    if (start < 0) throw new Error(`${file} has no "#region ${region}"`);
    let depth = 0;
    let end = start + 1;
    for (; end < lines.length; end++) {
      const m = REGION.exec(lines[end] ?? '');
      if (m?.[1] === 'region') depth++;
      if (m?.[1] === 'endregion' && depth-- === 0) break;
    }
    if (end === lines.length) throw new Error(`${file}: "#region ${region}" has no #endregion`);
    shown = dedent(lines.slice(start + 1, end).filter((l) => !REGION.test(l)));
  }
  return shown.map((l) => `${l}\n`).join('');
}

function dedent(lines: string[]): string[] {
  const indents = lines.filter((l) => l.trim() !== '').map((l) => /^\s*/.exec(l)?.[0].length ?? 0);
  const common = indents.length ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(common));
}
