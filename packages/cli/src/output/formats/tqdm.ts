// tqdm progress bars whose description names the epoch (`Epoch 3/10: 45%|████▌     | 45/100
// [00:01<00:02, 30.1it/s, loss=0.0109]`), PyTorch Lightning's TQDMProgressBar among them (`Epoch 0:
// 100%|██████████| 32/32 [00:01<00:00, 25.00it/s, v_num=0, train_loss=0.512, val_loss=0.498]`).
// An epoch is finished when the next epoch's bar shows up (its last state is the epoch's: Lightning
// adds the validation numbers to the bar after its 100%), when something else is printed after the
// bar completed, or when the output ends.

import type { OutputFormat } from '../events.js';
import type { ScreenLine } from '../terminal.js';
import { epochValues, parseNumber } from '../values.js';
import type { FormatSink, LineFormat } from './format.js';

/** One rendering of a bar. */
export interface Bar {
  desc: string;
  n: number;
  total?: number;
  postfix: Map<string, number>;
  /** Text printed after the bar on the same line (on a terminal, another stream's line lands there). */
  after: string;
}

const ELAPSED = /^\d{1,4}:\d{2}(?::\d{2})?[<,\]]/;
const COUNT = /^(\d{1,15}(?:\.\d{1,6})?)([kMGTPEZY]?)/;
const SCALE: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, Z: 1e21, Y: 1e24 };
const PERCENT = / {0,3}\d{1,3}%$/;
const POSTFIX = /^([A-Za-z_][\w./@-]{0,127})=(\S{1,64})$/;
const DESC_MAX = 200;

/** A tqdm bar's parts, or undefined when the line is not one. Index arithmetic, no backtracking pattern. */
export function parseBar(text: string): Bar | undefined {
  // The timing bracket: ` [00:01<00:02, 30.1it/s, loss=0.01]` (or `[00:01, 30.1it/s]` without a total).
  let open = text.indexOf(' [');
  while (open >= 0 && !(isDigit(text.charCodeAt(open + 2)) && ELAPSED.test(text.slice(open + 2, open + 12))))
    open = text.indexOf(' [', open + 2);
  if (open < 0) return undefined;
  const close = text.indexOf(']', open);
  if (close < 0) return undefined;
  const inside = text.slice(open + 2, close).split(', ');
  const left = text.slice(0, open);
  const space = left.lastIndexOf(' ');
  const pipe = left.lastIndexOf('|');
  const countsAt = Math.max(space, pipe) + 1;
  const counts = left.slice(countsAt);
  const slash = counts.indexOf('/');
  const n = parseCount(slash < 0 ? counts : counts.slice(0, slash));
  if (n === undefined) return undefined;
  const total = slash < 0 || counts.slice(slash + 1) === '?' ? undefined : parseCount(counts.slice(slash + 1));
  if (slash >= 0 && total === undefined && counts.slice(slash + 1) !== '?') return undefined;
  // Before the counts: `{desc}: {pct}%|{bar}|`, `{desc}: |{bar}|` (no total), `{pct}%|{bar}|` or `{desc}: `.
  let head = left.slice(0, countsAt).trimEnd();
  if (head.endsWith('|')) {
    const first = head.indexOf('|');
    if (first === head.length - 1) return undefined;
    head = head.slice(0, first).replace(PERCENT, '');
  }
  let desc = '';
  if (head.trim() !== '') {
    if (!head.trimEnd().endsWith(':')) return undefined;
    desc = head.trimEnd().slice(0, -1).trim();
  }
  const postfix = new Map<string, number>();
  for (const item of inside.slice(2)) {
    const pair = POSTFIX.exec(item.trim());
    if (pair === null) continue;
    const value = parseNumber(pair[2] as string);
    if (value !== undefined) postfix.set(pair[1] as string, value);
  }
  const bar: Bar = { desc, n, postfix, after: text.slice(close + 1) };
  if (total !== undefined) bar.total = total;
  return bar;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function parseCount(text: string): number | undefined {
  const match = COUNT.exec(text);
  if (match === null) return undefined;
  return Number(match[1]) * (SCALE[match[2] as string] ?? 1);
}

const EPOCH = /\bepoch\b[\s:#=[(]{0,4}(\d{1,9})(?:\s{0,3}(?:\/|of)\s{0,3}(\d{1,9}))?/i;
const VALIDATION = /\b(?:val|valid|validation|eval|evaluation|test|testing)\b/i;
const VALIDATION_PREFIX = /^(?:val|eval|valid|validation)_/;
/** Lightning's own bars that are not epochs. */
const LIGHTNING_BAR = /^(?:Sanity Checking|Validation|Testing|Predicting)(?: DataLoader \d+)?$/;
const LIGHTNING_STOPPED = /`?max_epochs=(\d{1,9})`? reached/;
const NAMES = {
  train: ['train_loss_epoch', 'train_loss', 'loss', 'train_loss_step'],
  valid: ['val_loss', 'valid_loss', 'val_loss_epoch', 'validation_loss'],
  lr: ['lr', 'learning_rate'],
} as const;
const BATCH_LOSS = ['train_loss_step', 'loss', 'train_loss'];

interface Epoch {
  /** The number the description shows. */
  label: number;
  planned?: number;
  values: Map<string, number>;
  /** The bar reached its total. */
  complete: boolean;
  line: string;
  stream: ScreenLine['stream'];
}

export class TqdmFormat implements LineFormat {
  /** Descriptions count epochs from 0 (Lightning, `Epoch 0`) rather than from 1. */
  private zeroBased: boolean | undefined;
  private lightning = false;
  private current: Epoch | undefined;
  /** Epochs (from 1) reported, to tell a new training from the next epoch. */
  private finished = 0;
  private offset = 0;
  private lastDesc = '';
  private lastN = -1;
  private lastLoss: number | undefined;

  line({ text, final, stream }: ScreenLine, sink: FormatSink): void {
    const bar = text.includes(' [') ? parseBar(text) : undefined;
    if (bar === undefined) {
      this.other(text, final, stream, sink);
      return;
    }
    this.bar(bar, text, stream, sink);
    if (bar.after.trim() !== '') this.other(bar.after, final, stream, sink);
  }

  private bar(bar: Bar, text: string, stream: ScreenLine['stream'], sink: FormatSink): void {
    const moved = bar.desc !== this.lastDesc || bar.n !== this.lastN;
    if (moved) sink.progress();
    this.lastDesc = bar.desc;
    this.lastN = bar.n;
    if (bar.postfix.has('v_num') || LIGHTNING_BAR.test(bar.desc)) this.lightning = true;
    const desc = bar.desc.length > DESC_MAX ? '' : bar.desc;
    const validation = VALIDATION.test(desc) || LIGHTNING_BAR.test(desc);
    const epoch = EPOCH.exec(desc);
    const current = epoch === null ? undefined : this.epoch(Number(epoch[1]), validation, sink);
    if (!validation) this.batch(bar, sink);
    if (current === undefined || epoch === null) return;
    if (epoch[2] !== undefined) {
      current.planned = Number(epoch[2]);
      sink.total(this.offset + current.planned);
    }
    for (const [name, value] of bar.postfix) {
      if (name === 'v_num') continue;
      // A validation bar of the epoch (`Epoch 3/10 [val]`): its numbers are validation numbers.
      current.values.set(validation ? validationName(name) : name, value);
    }
    if (!validation || current.line === '') current.line = bar.after === '' ? text : text.slice(0, text.length - bar.after.length);
    current.stream = stream;
    if (!validation && bar.total !== undefined && bar.n >= bar.total) current.complete = true;
  }

  /** The epoch a bar labelled `label` belongs to; the one before is finished when the label changes. */
  private epoch(label: number, validation: boolean, sink: FormatSink): Epoch | undefined {
    if (this.zeroBased === undefined || label === 0) this.zeroBased = label === 0 || this.lightning;
    if (this.current !== undefined && this.current.label !== label) this.finish(sink);
    if (this.current === undefined) {
      const count = this.count(label);
      // The last epoch's bar drawn again (Lightning's close()), or its validation bar, adds nothing;
      // an earlier epoch's bar starts a new training.
      if (count === this.finished || (count < this.finished && validation)) return undefined;
      if (count < this.finished) {
        this.offset += this.finished;
        this.finished = 0;
      }
      this.current = { label, values: new Map(), complete: false, line: '', stream: 'stderr' };
    }
    return this.current;
  }

  end(sink: FormatSink): void {
    this.finish(sink);
  }

  private other(text: string, final: boolean, stream: ScreenLine['stream'], sink: FormatSink): void {
    if (!final || text.trim() === '') return;
    const stopped = text.includes('max_epochs=') ? LIGHTNING_STOPPED.exec(text) : null;
    if (stopped !== null) {
      sink.total(this.offset + Number(stopped[1]));
      this.finish(sink);
      return;
    }
    // Printed below a completed bar: the bar is done. Not for Lightning, whose bar gets the validation
    // numbers later; not from the other stream, where a script may say more about the epoch first
    // (its protocol line after its own printout).
    if (this.current?.complete && this.current.stream === stream && !this.lightning) this.finish(sink);
  }

  /**
   * A training bar's loss, as a point of the loss plot when it changed. Not at each new count: tqdm
   * often draws the count of a step beside the loss of the step before (and a bar reset for the next
   * epoch beside the last one); nor only then: a fast loop's counter lags behind the `loss=` it redraws.
   */
  private batch(bar: Bar, sink: FormatSink): void {
    const name = BATCH_LOSS.find((candidate) => bar.postfix.has(candidate));
    if (name === undefined) return;
    const loss = bar.postfix.get(name) as number;
    if (Object.is(loss, this.lastLoss)) return;
    this.lastLoss = loss;
    sink.batch(loss, this.source());
  }

  /** The run's count of finished epochs once the epoch labelled `label` is done. */
  private count(label: number): number {
    return label + (this.zeroBased ? 1 : 0);
  }

  private source(): OutputFormat {
    return this.lightning ? 'lightning' : 'tqdm';
  }

  private finish(sink: FormatSink): void {
    const current = this.current;
    if (current === undefined) return;
    this.current = undefined;
    const count = this.count(current.label);
    this.finished = count;
    const report = { ...epochValues(current.values, NAMES), epoch: this.offset + count, source: this.source(), line: current.line };
    sink.epoch(current.planned === undefined ? report : { ...report, total: this.offset + current.planned });
  }
}

function validationName(name: string): string {
  if (name === 'loss') return 'val_loss';
  return VALIDATION_PREFIX.test(name) ? name : `val_${name}`;
}
