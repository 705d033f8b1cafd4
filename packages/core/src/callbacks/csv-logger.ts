import * as fs from 'node:fs';
import * as path from 'node:path';
import { Callback } from '../callback.js';
import { checkBoolean, checkOptions, invalidOption } from '../options.js';
import type { EpochStats, TrainingState } from '../state.js';

export interface CSVLoggerOptions {
  /** Add to an existing file instead of replacing it; the header is written only if the file is empty. Default false. */
  append?: boolean;
}

/**
 * Writes the epoch table to a CSV file: `epoch,train_loss,valid_loss,<metrics>,time`, one row per
 * epoch as soon as it ends. Each row is written and fsync'ed on an open file descriptor, so a
 * crash (even a killed process) loses no finished epoch. `epoch` is 0-based, losses and metrics
 * are written in full precision (`NaN` when missing), `time` is the epoch's wall time in seconds.
 * A text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return (a metric name such
 * as `=HYPERLINK(…)`) gets a leading `'`, so a spreadsheet shows it instead of evaluating it;
 * numbers (`-0.5`, `1e-7`) stay numbers. The parent directory is created if needed. Runs after
 * the Recorder, at order 60.
 */
export class CSVLogger extends Callback {
  override order = 60;
  readonly path: string;
  readonly append: boolean;
  private fd: number | undefined;
  private metricNames: readonly string[] = [];

  constructor(file: string, options?: CSVLoggerOptions) {
    super();
    if (typeof file !== 'string' || file.length === 0)
      throw invalidOption('CSVLogger', 'path', "a non-empty file path such as './logs/history.csv'", file);
    const o = checkOptions('CSVLogger', options, '{ append: true }');
    this.path = file;
    this.append = checkBoolean('CSVLogger', 'append', o.append ?? false);
  }

  override onTrainBegin(state: TrainingState): void {
    if (state.mode === 'lrFind') return;
    this.close();
    fs.mkdirSync(path.dirname(path.resolve(this.path)), { recursive: true });
    const hasRows = this.append && fs.existsSync(this.path) && fs.statSync(this.path).size > 0;
    this.fd = fs.openSync(this.path, this.append ? 'a' : 'w');
    this.metricNames = [...state.learner.metricNames];
    if (!hasRows) this.writeLine(csvHeader(this.metricNames));
  }

  override onEpochEnd(state: TrainingState): void {
    if (state.mode === 'lrFind' || this.fd === undefined || !state.stats) return;
    this.writeLine(csvRow(state.stats, this.metricNames));
  }

  override onTrainEnd(): void {
    this.close();
  }

  private writeLine(line: string): void {
    if (this.fd === undefined) return;
    fs.writeSync(this.fd, line);
    fs.fsyncSync(this.fd);
  }

  private close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    fs.closeSync(fd);
  }
}

/** The CSV header line: `epoch,train_loss,valid_loss,<metrics>,time`. */
export function csvHeader(metricNames: readonly string[]): string {
  return csvLine(['epoch', 'train_loss', 'valid_loss', ...metricNames, 'time']);
}

/** One epoch as a CSV line: full precision, `NaN` when missing, time in seconds. */
export function csvRow(s: EpochStats, metricNames: readonly string[]): string {
  const num = (v: number | undefined) => (v === undefined ? 'NaN' : String(v));
  return csvLine([
    String(s.epoch),
    num(s.trainLoss),
    num(s.validLoss),
    ...metricNames.map((n) => num(s.metrics[n])),
    (s.timeMs / 1000).toFixed(3),
  ]);
}

/** A whole history in CSVLogger's format (what e-mail attaches). */
export function historyCsv(history: readonly EpochStats[], metricNames: readonly string[]): string {
  return csvHeader(metricNames) + history.map((s) => csvRow(s, metricNames)).join('');
}

function csvLine(cells: readonly string[]): string {
  return `${cells.map(csvCell).join(',')}\n`;
}

/** What `String(n)` of a number gives: a spreadsheet reads it as that number, never as a formula. */
const NUMBER_CELL = /^-?(?:\d+(?:\.\d+)?(?:e[+-]\d+)?|Infinity)$|^NaN$/;
/** OWASP's formula triggers: a spreadsheet opening the file would evaluate such a cell (`=HYPERLINK(…)`, `@SUM(…)`, `-2+3+cmd|…`). */
const FORMULA_START = /^[=+\-@\t\r]/;

function csvCell(cell: string): string {
  // A metric name is text anyone's code or output chose: a leading ' makes it text in a spreadsheet.
  const safe = FORMULA_START.test(cell) && !NUMBER_CELL.test(cell) ? `'${cell}` : cell;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}
