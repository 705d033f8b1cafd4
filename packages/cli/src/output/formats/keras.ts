// Keras 2 and 3 `fit()` output: `Epoch 3/10`, then step lines — verbose 1 redraws one line per epoch
// (`12/32 ━━━━━━━━ 1s 20ms/step - loss: 0.41`, ended by the epoch's final line with the validation
// numbers), verbose 2 prints only that final line (`32/32 - 1s - 20ms/step - accuracy: … - loss: …`).

import type { ScreenLine } from '../terminal.js';
import { epochValues, parseNumber } from '../values.js';
import type { EpochReport, FormatSink, LineFormat } from './format.js';

const HEADER = /^Epoch (\d{1,9})\/(\d{1,9})$/;
const STEP = /^ {0,12}(\d{1,12})\/(\d{1,12}|Unknown)(?= |$)/;
const PAIR = /^([A-Za-z_][\w./@-]{0,127}): (\S{1,64})$/;
const NAMES = { train: ['loss'], valid: ['val_loss'], lr: ['learning_rate', 'lr'] } as const;

export class KerasFormat implements LineFormat {
  /** The number of the epoch in progress, from its header; 0 between epochs. */
  private label = 0;
  private planned: number | undefined;
  /** The label of the last epoch reported, to tell a new fit() (`Epoch 1/5` again) from the next epoch. */
  private finished = 0;
  private offset = 0;
  /** Steps redraw one line (Keras on Linux and macOS, piped or not): the line a line feed ends is the epoch's final one. */
  private redraws = false;
  /** Without redraws every step is its own line: the last full one is the epoch's, once something else follows. */
  private candidate: EpochReport | undefined;
  private lastStep = -1;

  line({ text, final, redrawn }: ScreenLine, sink: FormatSink): void {
    const header = HEADER.exec(text);
    if (header !== null) {
      if (!final) return;
      this.flush(sink);
      const label = Number(header[1]);
      if (label <= this.finished) {
        this.offset += this.finished;
        this.finished = 0;
      }
      this.label = label;
      this.planned = Number(header[2]);
      this.lastStep = -1;
      sink.total(this.offset + this.planned);
      return;
    }
    if (this.label === 0) return;
    const step = STEP.exec(text);
    if (step === null) {
      if (final) this.flush(sink);
      return;
    }
    if (redrawn) this.redraws = true;
    const current = Number(step[1]);
    const target = step[2] === 'Unknown' ? undefined : Number(step[2]);
    const rest = text.slice(step[0].length);
    const values = stepValues(rest);
    if (current !== this.lastStep) sink.progress();
    const last = target !== undefined && current >= target;
    if (final && last) {
      const report = this.report(values, text);
      // Verbose 2 prints only final lines.
      if (this.redraws || rest.startsWith(' - ')) this.send(report, sink);
      else this.candidate = report;
      return;
    }
    if (this.candidate !== undefined) {
      // Steps after a full line: that line was the epoch's last; these are evaluate()'s or predict()'s.
      this.flush(sink);
      return;
    }
    const loss = values.get('loss');
    if (loss !== undefined && current !== this.lastStep) sink.batch(loss, 'keras');
    this.lastStep = current;
  }

  end(sink: FormatSink): void {
    this.flush(sink);
  }

  private report(values: Map<string, number>, text: string): EpochReport {
    const report: EpochReport = { ...epochValues(values, NAMES), epoch: this.offset + this.label, source: 'keras', line: text };
    if (this.planned !== undefined) report.total = this.offset + this.planned;
    return report;
  }

  private flush(sink: FormatSink): void {
    if (this.candidate !== undefined) this.send(this.candidate, sink);
  }

  private send(report: EpochReport, sink: FormatSink): void {
    this.candidate = undefined;
    this.finished = this.label;
    this.label = 0;
    sink.epoch(report);
  }
}

/** `… - accuracy: 0.9600 - loss: 0.1200 - val_loss: 6.8665e-04`: the named numbers, in order. */
function stepValues(rest: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const part of rest.split(' - ')) {
    const pair = PAIR.exec(part.trim());
    if (pair === null) continue;
    const value = parseNumber(pair[2] as string);
    if (value !== undefined) values.set(pair[1] as string, value);
  }
  return values;
}
