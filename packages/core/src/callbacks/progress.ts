import { Callback } from '../callback.js';
import { formatTable, formatTime, statsHeader, statsRow } from '../format.js';
import { Learner } from '../learner.js';
import { checkBoolean, checkNonNegative, checkOptions, invalidOption } from '../options.js';
import type { TrainingState } from '../state.js';

export interface ProgressCallbackOptions {
  /** Where to write. Default `process.stdout`. */
  stream?: NodeJS.WritableStream;
  /**
   * Draw a live bar, redrawn in place with a carriage return and ANSI erase-line. Default
   * `stream.isTTY`. When false: no bar, only plain lines (the table header, then a row per epoch).
   */
  tty?: boolean;
  /** Least time between two redraws of the bar, in ms. Default 100 (at most 10 redraws a second). */
  refreshMs?: number;
}

const CLEAR_LINE = '\r\x1b[2K';

/**
 * fastai's progress display for a terminal: while an epoch runs, one bar redrawn in place
 * (`epoch 2/5 [#####-----] 120/235 00:03<00:04 loss 0.4321`, smoothed loss; then the validation
 * pass), and at each epoch's end a row of the epoch table, its columns lined up under a header
 * printed once. When the stream is not a TTY (a log file, CI) it prints only the plain lines.
 * If the fit stopped, failed or was interrupted, a last line says so and why. Order 60.
 */
export class ProgressCallback extends Callback {
  override order = 60;
  readonly stream: NodeJS.WritableStream;
  readonly tty: boolean;
  readonly refreshMs: number;
  private metricNames: readonly string[] = [];
  private header: string[] = [];
  private widthRow: string[] = [];
  private headerDone = false;
  private barShown = false;
  private lastDraw = 0;
  private phase: 'train' | 'valid' = 'train';
  private phaseStart = 0;
  private done = 0;

  constructor(options?: ProgressCallbackOptions) {
    super();
    const where = 'ProgressCallback';
    const o = checkOptions(where, options, '{ stream: process.stderr }');
    const stream = o.stream ?? process.stdout;
    if (typeof stream?.write !== 'function') throw invalidOption(where, 'stream', 'a writable stream such as process.stdout', stream);
    this.stream = stream;
    this.tty = checkBoolean(where, 'tty', o.tty ?? (stream as { isTTY?: boolean }).isTTY === true);
    this.refreshMs = checkNonNegative(where, 'refreshMs', o.refreshMs ?? 100);
  }

  override onTrainBegin(state: TrainingState): void {
    if (state.mode === 'lrFind') return;
    this.metricNames = [...state.learner.metricNames];
    this.header = statsHeader(this.metricNames);
    // Rows are printed one at a time, so column widths are fixed up front from a typical row.
    const epochDigits = String(Math.max(0, state.totalEpochs - 1)).length;
    this.widthRow = ['0'.repeat(epochDigits), ...Array(this.metricNames.length + 2).fill('0.000000'), '00:00'];
    this.headerDone = false;
    this.barShown = false;
  }

  override onEpochBegin(state: TrainingState): void {
    if (state.mode === 'lrFind') return;
    this.startPhase(state, 'train');
  }

  override onValidateBegin(state: TrainingState): void {
    if (state.mode === 'lrFind') return;
    this.startPhase(state, 'valid');
  }

  override onBatchEnd(state: TrainingState): void {
    if (state.mode === 'lrFind') return;
    this.done += 1;
    this.draw(state, false);
  }

  override onEpochEnd(state: TrainingState): void {
    if (state.mode === 'lrFind' || !state.stats) return;
    const lines: string[] = [];
    if (!this.headerDone) lines.push(this.tableLine(this.header));
    lines.push(this.tableLine(statsRow(state.stats, this.metricNames)));
    this.headerDone = true;
    this.print(lines);
  }

  override onTrainEnd(state: TrainingState): void {
    if (state.mode === 'lrFind') return;
    const done = `after ${state.learner.recorder.history.length}/${state.totalEpochs} epochs`;
    if (state.status === 'failed') this.print([`training failed ${done}: ${state.error?.message ?? 'unknown error'}`]);
    else if (state.status === 'stopped' || state.status === 'interrupted')
      this.print([`training ${state.status} ${done}: ${state.stopReason ?? state.status}`]);
    else this.print([]);
  }

  /** One line of the table, padded to the widths of the header and a typical row. */
  private tableLine(cells: readonly string[]): string {
    return formatTable([this.header, this.widthRow, cells]).split('\n')[2] ?? '';
  }

  /** Writes whole lines, first erasing the bar if one is showing. */
  private print(lines: readonly string[]): void {
    const text = lines.map((l) => `${l}\n`).join('');
    if (this.barShown) this.stream.write(`${CLEAR_LINE}${text}`);
    else if (text) this.stream.write(text);
    this.barShown = false;
  }

  private startPhase(state: TrainingState, phase: 'train' | 'valid'): void {
    this.phase = phase;
    this.phaseStart = performance.now();
    this.done = 0;
    this.draw(state, true);
  }

  private draw(state: TrainingState, force: boolean): void {
    if (!this.tty) return;
    const now = performance.now();
    if (!force && now - this.lastDraw < this.refreshMs) return;
    this.lastDraw = now;
    this.stream.write(`${CLEAR_LINE}${this.barLine(state, now)}`);
    this.barShown = true;
  }

  private barLine(state: TrainingState, now: number): string {
    const elapsed = now - this.phaseStart;
    const head = `epoch ${state.epoch + 1}/${state.totalEpochs}`;
    const training = this.phase === 'train';
    const done = this.done;
    // Under tfjsCallback there is no Learner and no count of validation batches: the bar then shows a count.
    const total = training
      ? state.numBatches
      : state.learner instanceof Learner
        ? (state.learner.data.valid?.numBatches ?? Number.NaN)
        : Number.NaN;
    const tail = training && Number.isFinite(state.smoothLoss) && done > 0 ? ` loss ${state.smoothLoss.toFixed(4)}` : '';
    const label = training ? head : `${head} valid`;
    if (!(total > 0)) return `${label} ${done} batches ${formatTime(elapsed)}${tail}`;
    const eta = done > 0 ? (elapsed / done) * (total - done) : Number.NaN;
    const times = `${formatTime(elapsed)}<${Number.isFinite(eta) ? formatTime(eta) : '--:--'}`;
    const rest = ` ${done}/${total} ${times}${tail}`;
    const columns = (this.stream as { columns?: number }).columns;
    const room = columns ? columns - 1 - label.length - rest.length - 3 : 20;
    const width = Math.max(5, Math.min(30, room));
    const filled = Math.round((width * done) / total);
    const line = `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}]${rest}`;
    return columns ? line.slice(0, columns - 1) : line;
  }
}
