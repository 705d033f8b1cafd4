// Hugging Face Trainer logs: a Python dict per log — training logs at fractional epochs
// (`{'loss': 0.31, 'grad_norm': 1.2, 'learning_rate': 4.5e-05, 'epoch': 0.25}`), an evaluation dict
// (`{'eval_loss': 0.29, 'eval_accuracy': 0.9, …, 'epoch': 1.0}`) and a closing summary
// (`{'train_runtime': …, 'train_loss': …, 'epoch': 3.0}`). transformers 5 quotes the numbers
// (`'loss': '0.6898'`, `'epoch': '1'`). An epoch is complete when its evaluation arrives, when the
// next epoch's logs start, or when the output ends. Its info log says `Num Epochs = 3`.

import { parsePythonDict } from '../python-literal.js';
import type { ScreenLine } from '../terminal.js';
import { epochValues, parseNumber } from '../values.js';
import type { FormatSink, LineFormat } from './format.js';

const NUM_EPOCHS = /\bNum Epochs = (\d{1,9})$/;
/** Timings and counters, not metrics. */
const SKIPPED = /(?:^|_)(?:runtime|samples_per_second|steps_per_second|tokens_per_second)$/;
const SKIPPED_NAMES = new Set(['epoch', 'step', 'grad_norm', 'total_flos', 'num_input_tokens_seen']);
const NAMES = { train: ['loss'], valid: ['eval_loss'], lr: ['learning_rate'] } as const;
const DICT_MAX = 64 * 1024;
/** How close to a whole number a logged epoch must be to mark an epoch's end (older versions round to 2 decimals). */
const WHOLE = 1e-6;

interface Epoch {
  /** The epoch's number in this training, from 1. */
  label: number;
  values: Map<string, number>;
  line: string;
}

export class HuggingFaceFormat implements LineFormat {
  private pending: Epoch | undefined;
  private finished = 0;
  private offset = 0;
  /** Whether epochs end with an evaluation: learnt from the first epochs, so that without one an epoch is reported as soon as it ends. */
  private evaluates: boolean | undefined;

  line({ text, final }: ScreenLine, sink: FormatSink): void {
    if (!final) return;
    const planned = NUM_EPOCHS.exec(text);
    if (planned !== null) {
      // A new training: what the last one left pending is done, and the count goes on.
      this.flush(sink);
      this.offset += this.finished;
      this.finished = 0;
      sink.total(this.offset + Number(planned[1]));
      return;
    }
    if (!text.endsWith('}') || text.length > DICT_MAX || !text.trimStart().startsWith('{')) return;
    const dict = parsePythonDict(text);
    if (dict === undefined) return;
    const values = new Map<string, number>();
    for (const [name, raw] of dict) {
      const value = typeof raw === 'number' ? raw : parseNumber(raw.trim());
      if (value !== undefined) values.set(name, value);
    }
    const epoch = values.get('epoch');
    if (epoch === undefined || !Number.isFinite(epoch) || epoch < 0) return;
    sink.progress();
    if (values.has('train_runtime')) {
      // The closing summary: its train_loss is the whole run's mean, no epoch's.
      this.flush(sink);
      return;
    }
    const evaluation = [...values.keys()].some((name) => name.startsWith('eval_'));
    const label = Math.max(1, Math.ceil(epoch - WHOLE));
    const whole = Math.abs(epoch - Math.round(epoch)) < WHOLE && Math.round(epoch) >= 1;
    if (this.pending !== undefined && label > this.pending.label) this.flush(sink, true);
    if (this.pending === undefined) {
      if (label <= this.finished) {
        // An evaluation of an epoch already reported (trainer.evaluate() after training) changes nothing;
        // a training log there is a new training.
        if (evaluation) return;
        this.offset += this.finished;
        this.finished = 0;
      }
      this.pending = { label, values: new Map(), line: text };
    }
    const pending = this.pending;
    for (const [name, value] of values) {
      if (!SKIPPED_NAMES.has(name) && !SKIPPED.test(name)) pending.values.set(name, value);
    }
    pending.line = text;
    if (evaluation) {
      this.evaluates = true;
      if (whole) this.flush(sink);
      return;
    }
    const loss = values.get('loss');
    if (loss !== undefined) sink.batch(loss, 'huggingface');
    if (whole && this.evaluates === false) this.flush(sink);
  }

  end(sink: FormatSink): void {
    this.flush(sink);
  }

  /** Reports the pending epoch; `byNextEpoch` when the next epoch's logs are what ended it. */
  private flush(sink: FormatSink, byNextEpoch = false): void {
    const pending = this.pending;
    if (pending === undefined) return;
    this.pending = undefined;
    if (byNextEpoch && this.evaluates === undefined) this.evaluates = false;
    this.finished = pending.label;
    sink.epoch({ ...epochValues(pending.values, NAMES), epoch: this.offset + pending.label, source: 'huggingface', line: pending.line });
  }
}
