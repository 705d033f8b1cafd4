/**
 * A text sink — what a terminal, a log file or a log shipper is to ConsoleCallback-like plugins —
 * with the same fault injection as the servers, mapped to what a writer can do: latency and hang
 * delay the write callback; `serverError` fails it with EIO, `reset` with EPIPE, `unauthorized`
 * with EACCES. A writer cannot ask to be retried later, so `rateLimit` faults are not used here.
 *
 * It is a plain object with `write(text, callback)`, not a Node `Writable`: a Writable whose
 * write fails stays errored for good, which would make every transient fault permanent.
 */
import { type Fault, Faults, takeFault } from './faults.js';

/** The part of a writable stream a text notifier uses. */
export interface TextWriter {
  write(text: string, callback: (error?: Error | null) => void): unknown;
}

export interface StreamWrite {
  text: string;
  /** `null` while the write is pending; `'ok'` or the error code it failed with. */
  status: 'ok' | 'EIO' | 'EPIPE' | 'EACCES' | null;
  at: number;
}

export interface StreamSink {
  readonly stream: TextWriter;
  readonly received: StreamWrite[];
  readonly faults: Faults;
  /** Texts written successfully, in order. */
  written(): string[];
  close(): Promise<void>;
}

const ERRORS: Partial<Record<Fault['kind'], { code: 'EIO' | 'EPIPE' | 'EACCES'; message: string }>> = {
  serverError: { code: 'EIO', message: 'EIO: i/o error, write' },
  reset: { code: 'EPIPE', message: 'EPIPE: broken pipe, write' },
  unauthorized: { code: 'EACCES', message: 'EACCES: permission denied, write' },
};

export async function startStreamSink(): Promise<StreamSink> {
  const faults = new Faults();
  const received: StreamWrite[] = [];
  const pending = new Set<() => void>();
  const stream: TextWriter = {
    write(text, callback) {
      const record: StreamWrite = { text, status: null, at: Date.now() };
      received.push(record);
      const fault = takeFault(faults, 'write', (kind) => kind !== 'rateLimit');
      const finish = () => {
        pending.delete(finish);
        const failure = fault ? ERRORS[fault.kind] : undefined;
        record.status = failure?.code ?? 'ok';
        callback(failure ? Object.assign(new Error(failure.message), { code: failure.code }) : null);
      };
      if (fault?.kind === 'hang') return true;
      pending.add(finish);
      if (faults.latencyMs > 0) setTimeout(finish, faults.latencyMs);
      else finish();
      return true;
    },
  };
  return {
    stream,
    received,
    faults,
    written: () => received.filter((r) => r.status === 'ok').map((r) => r.text),
    close: async () => {
      pending.clear();
    },
  };
}
