// Feeding a TrainingOutputReader and looking at what it said.
import type { OutputEvent } from '../../src/output/index.js';
import { TrainingOutputReader, type TrainingOutputReaderOptions } from '../../src/output/index.js';

export type Stream = 'stdout' | 'stderr';
export type EpochEvent = Extract<OutputEvent, { kind: 'epoch' }>;

export interface Run {
  reader: TrainingOutputReader;
  events: OutputEvent[];
  /** What push() and end() returned, per stream, joined. */
  passed: Record<Stream, Buffer>;
}

/** A reader that records its events and what it passes on. */
export interface LiveRun extends Run {
  push(stream: Stream, data: string | Buffer): Buffer;
  /** Ends both streams. */
  end(): void;
}

/** `keepOutput: false`: a flood's hundred megabytes are not kept for `passed`. */
export function newRun(options: TrainingOutputReaderOptions & { keepOutput?: boolean } = {}): LiveRun {
  const events: OutputEvent[] = [];
  const reader = new TrainingOutputReader((event) => events.push(event), {
    ...(options.tailLines === undefined ? {} : { tailLines: options.tailLines }),
  });
  const parts: Record<Stream, Buffer[]> = { stdout: [], stderr: [] };
  return {
    reader,
    events,
    get passed() {
      return { stdout: Buffer.concat(parts.stdout), stderr: Buffer.concat(parts.stderr) };
    },
    push(stream, data) {
      const out = reader.push(stream, typeof data === 'string' ? Buffer.from(data) : data);
      if (options.keepOutput !== false) parts[stream].push(out);
      return out;
    },
    end() {
      for (const stream of ['stdout', 'stderr'] as const) parts[stream].push(reader.end(stream));
    },
  };
}

/** Reads `text` from one stream, in one chunk (or in chunks of `size` bytes), then ends the output. */
export function read(text: string | Buffer, options: { stream?: Stream; size?: number; end?: boolean } = {}): LiveRun {
  const run = newRun();
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  const size = options.size ?? bytes.length;
  for (let at = 0; at < bytes.length; at += size) run.push(options.stream ?? 'stdout', bytes.subarray(at, at + size));
  if (options.end !== false) run.end();
  return run;
}

export function epochs(events: readonly OutputEvent[]): EpochEvent[] {
  return events.filter((event): event is EpochEvent => event.kind === 'epoch');
}

export function batches(events: readonly OutputEvent[]): number[] {
  return events.flatMap((event) => (event.kind === 'batch' ? [event.loss] : []));
}

export function kinds(events: readonly OutputEvent[]): OutputEvent['kind'][] {
  return events.map((event) => event.kind);
}
