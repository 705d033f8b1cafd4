// fastai's console output (fastprogress when not in a notebook): the Recorder's table — a header
// `epoch     train_loss  valid_loss  accuracy  time` naming the columns, then a row per epoch
// `0         0.412345    0.301234    0.912000  00:05` (0-based epoch, `#na#` or `None` when missing) —
// and fastprogress's bars `Epoch 1/4 : |███---| 25.00% [2/8 00:00<00:00 0.7212]`, whose comment is the
// smoothed training loss and whose `Epoch k/N` gives the total.

import type { ScreenLine } from '../terminal.js';
import { epochValues, parseNumber } from '../values.js';
import type { FormatSink, LineFormat } from './format.js';

const TIME = /^\d{1,4}:\d{2}(?::\d{2})?$/;
const MISSING = new Set(['#na#', 'None']);
const COLUMNS_MAX = 64;
const NAMES = { train: ['train_loss'], valid: ['valid_loss'], lr: ['lr'] } as const;
const BAR = /^(.{0,200}?) ?\|[^|]{0,400}\| {0,3}\d{1,3}(?:\.\d{1,2})?% \[(\d{1,12})\/(\d{1,12}) [^\]]{0,200}\]$/;
const BAR_EPOCH = /^Epoch (\d{1,9})\/(\d{1,9}) ?:?$/;

export class FastaiFormat implements LineFormat {
  private columns: string[] | undefined;
  /** Rows read under the current header. */
  private rows = 0;
  private offset = 0;
  private lastEpoch = 0;
  private lastN = -1;
  private lastLoss: number | undefined;

  line({ text, final }: ScreenLine, sink: FormatSink): void {
    if (text.endsWith(']') && text.includes('% [')) {
      this.bar(text, sink);
      return;
    }
    if (!final || (this.columns === undefined && !text.startsWith('epoch'))) return;
    const tokens = text.trim().split(/ +/, COLUMNS_MAX + 1);
    if (tokens[0] === 'epoch' && tokens.at(-1) === 'time' && tokens.includes('train_loss') && tokens.length <= COLUMNS_MAX) {
      // A new table is a new fit() (fine_tune() runs two): its epochs count on from the last one.
      if (this.rows > 0) this.offset = this.lastEpoch;
      this.columns = tokens;
      this.rows = 0;
      return;
    }
    const columns = this.columns;
    if (columns === undefined || tokens.length !== columns.length || !/^\d{1,9}$/.test(tokens[0] as string)) return;
    if (!TIME.test(tokens.at(-1) as string)) return;
    const values = new Map<string, number>();
    for (let k = 1; k < columns.length - 1; k++) {
      const token = tokens[k] as string;
      if (MISSING.has(token)) continue;
      const value = parseNumber(token);
      if (value === undefined) return;
      values.set(columns[k] as string, value);
    }
    this.rows++;
    this.lastEpoch = this.offset + Number(tokens[0]) + 1;
    sink.progress();
    sink.epoch({ ...epochValues(values, NAMES), epoch: this.lastEpoch, source: 'fastai', line: text.trimEnd() });
  }

  end(): void {}

  private bar(text: string, sink: FormatSink): void {
    const bar = BAR.exec(text);
    if (bar === null) return;
    const n = Number(bar[2]);
    const epoch = BAR_EPOCH.exec((bar[1] as string).trim());
    if (epoch !== null) sink.total(this.offset + Number(epoch[2]));
    // The comment, when there is one, is the last word in the brackets: the smoothed training loss.
    const inside = text.slice(text.lastIndexOf('[') + 1, -1).split(' ');
    const loss = inside.length >= 3 ? parseNumber(inside.at(-1) as string) : undefined;
    if (n !== this.lastN) sink.progress();
    this.lastN = n;
    // Validation bars show the last training loss again: a repeated value is no new point.
    if (loss !== undefined && loss !== this.lastLoss) {
      this.lastLoss = loss;
      sink.batch(loss, 'fastai');
    }
  }
}
