// The reader of a command's output for `epochcast run`: every chunk of stdout and stderr goes through
// here on its way to the terminal. It resolves each stream as a terminal shows it (terminal.ts), takes
// the `@epochcast` protocol lines out (protocol.ts), and reads the training formats it recognises —
// Keras, tqdm and Lightning bars, fastai's table, Hugging Face's log dicts — into events. No I/O.

import type { OutputEvent } from './events.js';
import { FastaiFormat } from './formats/fastai.js';
import type { EpochReport, FormatSink, LineFormat } from './formats/format.js';
import { HuggingFaceFormat } from './formats/huggingface.js';
import { KerasFormat } from './formats/keras.js';
import { TqdmFormat } from './formats/tqdm.js';
import { PROTOCOL_MARKER, type ProtocolMessage, type ProtocolSink, ProtocolSplitter, parseProtocolJson } from './protocol.js';
import { keptRedraws } from './redraws.js';
import { SHOWN_MAX } from './row.js';
import { detached, Screen, type ScreenLine } from './terminal.js';
import { Utf8Stream } from './utf8.js';

export interface TrainingOutputReaderOptions {
  /** Lines tail() keeps. Default 20. */
  tailLines?: number;
}

type Stream = 'stdout' | 'stderr';

const TAIL_LINES = 20;
const BS = 0x08;
const LF = 0x0a;
const CR = 0x0d;
const ESC = 0x1b;
const TAIL_LINES_MAX = 10_000;

interface StreamState {
  readonly splitter: ProtocolSplitter;
  readonly decoder: Utf8Stream;
  readonly screen: Screen;
  /** Where the splitter sends the stream's bytes. */
  readonly sink: ProtocolSink;
  ended: boolean;
}

export class TrainingOutputReader {
  private readonly streams: Record<Stream, StreamState>;
  // One reader per format for both streams: a format's lines may span them (Hugging Face logs its
  // epochs on stdout and its plan on stderr; Lightning draws on stdout and says it stopped on stderr).
  private readonly formats: LineFormat[] = [new KerasFormat(), new TqdmFormat(), new FastaiFormat(), new HuggingFaceFormat()];
  private readonly sink: FormatSink;
  private readonly tailLines: number;
  /** Events of the chunk being read, delivered once it is read: a throwing callback cannot leave the reader half-way. */
  private queue: OutputEvent[] = [];
  private seq = 0;
  private lastEpoch = 0;
  private total: number | undefined;
  /** A protocol `start` or `epoch` line was seen: the heuristic formats no longer report epochs and batches. */
  private protocolEpochs = false;
  /** The protocol gave the number of epochs: the heuristic formats' guesses no longer count. */
  private protocolTotal = false;
  private movedThisChunk = false;
  private latest: string | undefined;
  /** A bug in this reader must not cost the user their training's output: after one, chunks only pass through. */
  private broken = false;

  constructor(
    private readonly onEvent: (event: OutputEvent) => void,
    options: TrainingOutputReaderOptions = {},
  ) {
    const keep = options.tailLines ?? TAIL_LINES;
    if (!Number.isInteger(keep) || keep < 1 || keep > TAIL_LINES_MAX) {
      throw new RangeError(`TrainingOutputReader: tailLines must be a whole number from 1 to ${TAIL_LINES_MAX}, got ${keep}`);
    }
    const nextSeq = () => this.seq++;
    const stream = (name: Stream): StreamState => {
      const state: StreamState = {
        splitter: new ProtocolSplitter(),
        decoder: new Utf8Stream(),
        screen: new Screen(name, (line) => this.line(line), nextSeq, keep),
        sink: { show: (bytes) => this.show(state, bytes), line: (text) => this.protocolLine(text) },
        ended: false,
      };
      return state;
    };
    this.streams = { stdout: stream('stdout'), stderr: stream('stderr') };
    this.sink = {
      epoch: (report) => this.heuristicEpoch(report),
      batch: (loss, source) => {
        if (this.protocolEpochs) return;
        this.moved();
        this.queue.push({ kind: 'batch', loss, source });
      },
      total: (total) => {
        if (!this.protocolTotal) this.setTotal(total);
      },
      progress: () => this.moved(),
    };
    this.tailLines = keep;
  }

  /**
   * Reads one chunk of the command's stdout or stderr, as it arrives. Returns what to pass on to the
   * terminal: the chunk itself (the same Buffer, no copy) when it holds no complete protocol line, else
   * the chunk without its well-formed protocol lines. Never throws, whatever the bytes.
   */
  push(stream: Stream, chunk: Buffer): Buffer {
    if (this.broken) return chunk;
    const state = this.streams[stream];
    state.ended = false;
    this.movedThisChunk = false;
    let out: Buffer;
    try {
      out = state.splitter.split(chunk, state.sink);
      state.screen.settle();
    } catch {
      this.broken = true;
      out = chunk;
    }
    this.deliver();
    return out;
  }

  /**
   * The output has ended: pending epochs (an HF epoch waiting for its eval line) and held-back bytes
   * are emitted/returned. Held-back bytes are the stream's own, returned at once (a protocol line
   * complete but for its line feed counts as one); the pending epochs are reported once both streams
   * have ended, as a format may print on both (Lightning's bars on stdout, its last word on stderr).
   */
  end(stream: Stream): Buffer {
    if (this.broken) return Buffer.alloc(0);
    const state = this.streams[stream];
    this.movedThisChunk = false;
    let out: Buffer;
    try {
      out = state.splitter.end(state.sink);
      const rest = state.decoder.end();
      if (rest !== '') state.screen.write(rest);
      state.screen.end();
      state.ended = true;
      // Each format's lines may be on either stream: what waits for a next line waits until both ended.
      if (this.streams.stdout.ended && this.streams.stderr.ended) for (const format of this.formats) format.end(this.sink);
    } catch {
      this.broken = true;
      out = Buffer.alloc(0);
    }
    this.deliver();
    return out;
  }

  /** The last lines as a terminal would show them (both streams, in arrival order), no protocol lines, no colours. */
  tail(): string[] {
    const lines = [...this.streams.stdout.screen.lines(), ...this.streams.stderr.screen.lines()].sort((a, b) => a.seq - b.seq);
    const texts = lines.map((line) => line.text);
    while (texts.length > 0 && texts.at(-1)?.trim() === '') texts.pop();
    const last = texts.slice(-this.tailLines);
    while (last.length > 0 && last[0]?.trim() === '') last.shift();
    return last;
  }

  /** The latest finished epoch's raw line as printed, for /status (undefined before the first). */
  get lastProgressLine(): string | undefined {
    return this.latest;
  }

  /** Shows bytes on the stream's screen. A chunk of nothing but redraws is cut to the redraws that matter before it is decoded. */
  private show(state: StreamState, bytes: Buffer): void {
    if (bytes.indexOf(CR) >= 0 && bytes.indexOf(LF) < 0 && bytes.indexOf(ESC) < 0 && bytes.indexOf(BS) < 0) {
      for (const [start, end] of keptRedraws(bytes)) state.screen.write(state.decoder.decode(bytes, start, end));
    } else {
      state.screen.write(state.decoder.decode(bytes));
    }
  }

  private line(line: ScreenLine): void {
    for (const format of this.formats) format.line(line, this.sink);
  }

  private protocolLine(text: string): boolean {
    const message: ProtocolMessage | undefined = parseProtocolJson(text);
    if (message === undefined) return false;
    switch (message.event) {
      case 'epoch': {
        this.protocolEpochs = true;
        this.moved();
        if (message.epochs !== undefined) {
          this.protocolTotal = true;
          this.setTotal(message.epochs);
        }
        this.epoch({ ...message.values, epoch: message.epoch, source: 'protocol', line: `${PROTOCOL_MARKER}${text}` });
        break;
      }
      case 'batch':
        this.moved();
        this.queue.push({ kind: 'batch', loss: message.loss, source: 'protocol' });
        break;
      case 'start': {
        // A script that announces itself over the protocol reports its epochs over it: from here on,
        // an epoch line of its framework printed before its own protocol line must not take its place.
        this.protocolEpochs = true;
        const event: OutputEvent = { kind: 'start' };
        if (message.epochs !== undefined) event.epochs = message.epochs;
        if (message.name !== undefined) event.name = message.name;
        this.queue.push(event);
        if (message.epochs !== undefined) {
          this.protocolTotal = true;
          this.setTotal(message.epochs);
        }
        break;
      }
      case 'alert':
        this.queue.push({ kind: 'alert', text: message.text, level: message.level });
        break;
    }
    return true;
  }

  private heuristicEpoch(report: EpochReport): void {
    if (this.protocolEpochs) return;
    this.moved();
    this.epoch(report);
  }

  /** Epochs only go up: a format that reports one again (or two formats reporting the same run) adds nothing. */
  private epoch(report: EpochReport): void {
    if (report.epoch <= this.lastEpoch) return;
    this.lastEpoch = report.epoch;
    this.latest = detached(report.line.length > SHOWN_MAX ? `${report.line.slice(0, SHOWN_MAX - 1)}…` : report.line);
    const total = report.source === 'protocol' || this.protocolTotal ? this.total : (report.total ?? this.total);
    this.queue.push({
      kind: 'epoch',
      epoch: report.epoch,
      ...(total === undefined ? {} : { total }),
      ...(report.trainLoss === undefined ? {} : { trainLoss: report.trainLoss }),
      ...(report.validLoss === undefined ? {} : { validLoss: report.validLoss }),
      ...(report.lr === undefined ? {} : { lr: report.lr }),
      metrics: report.metrics,
      source: report.source,
    });
  }

  private setTotal(total: number): void {
    if (total === this.total) return;
    this.total = total;
    this.queue.push({ kind: 'epochs', total });
  }

  /** The training moved: one `progress` per chunk is enough for a stall watch. */
  private moved(): void {
    if (this.movedThisChunk) return;
    this.movedThisChunk = true;
    this.queue.push({ kind: 'progress' });
  }

  private deliver(): void {
    const events = this.queue;
    this.queue = [];
    for (const event of events) this.onEvent(event);
  }
}
