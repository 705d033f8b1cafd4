// What the heuristic format readers share: how they report, and how they are fed.

import type { OutputFormat } from '../events.js';
import type { ScreenLine } from '../terminal.js';
import type { EpochValues } from '../values.js';

/** A finished epoch as a format read it. */
export interface EpochReport extends EpochValues {
  /** Finished epochs of the run, from 1. */
  epoch: number;
  total?: number;
  source: OutputFormat;
  /** The line that told it, as shown. */
  line: string;
}

/** Where the formats report; the reader decides what reaches the caller (protocol lines win, epochs only go up). */
export interface FormatSink {
  epoch(report: EpochReport): void;
  batch(loss: number, source: OutputFormat): void;
  /** The planned number of epochs. */
  total(total: number): void;
  progress(): void;
}

export interface LineFormat {
  line(line: ScreenLine, sink: FormatSink): void;
  /** The output ended: report what waits for a next line. */
  end(sink: FormatSink): void;
}
