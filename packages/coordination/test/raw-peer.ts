/**
 * A hostile (or merely foreign) client of a local hub: any process of the user can connect to the
 * hub's socket and write whatever it likes. It speaks the wire protocol by hand, so the tests can
 * send what no epochcast run would.
 */
import net from 'node:net';

export interface Reply {
  op: string;
  rid?: number;
  ok?: boolean;
  value?: unknown;
  error?: string;
  [key: string]: unknown;
}

export class RawPeer {
  readonly received: Reply[] = [];
  private buffer = '';
  private nextRid = 1;
  private closedAt: number | undefined;
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      let newline = this.buffer.indexOf('\n');
      while (newline >= 0) {
        const line = this.buffer.slice(0, newline);
        this.buffer = this.buffer.slice(newline + 1);
        try {
          this.received.push(JSON.parse(line) as Reply);
        } catch {
          // Not ours to judge.
        }
        newline = this.buffer.indexOf('\n');
      }
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.closedAt = performance.now();
        resolve();
      }),
    );
  }

  static connect(path: string): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ path });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawPeer(socket));
      });
    });
  }

  get isClosed(): boolean {
    return this.closedAt !== undefined;
  }

  /** Writes raw text, newline and all up to the caller. */
  write(text: string): boolean {
    return this.socket.write(text);
  }

  send(message: Record<string, unknown>): number {
    const rid = this.nextRid++;
    this.socket.write(`${JSON.stringify({ ...message, rid })}\n`);
    return rid;
  }

  /** Sends a request and waits for the hub's reply to it (or the connection's end). */
  async request(message: Record<string, unknown>, timeoutMs = 3_000): Promise<Reply> {
    const rid = this.send(message);
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const reply = this.received.find((r) => r.op === 'reply' && r.rid === rid);
      if (reply) return reply;
      if (this.isClosed) throw new Error(`the hub closed the connection before answering ${String(message.op)}`);
      if (performance.now() > deadline) throw new Error(`no reply to ${String(message.op)}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A record as the wire carries it; override any field, with any type. */
export function rawRecord(id: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, name: `raw-${id}`, host: 'raw-host', pid: 1, startedAt: Date.now(), epoch: 0, totalEpochs: 1, ...fields };
}

/** A join as an epochcast run of this version sends it, without a proof of any key. */
export function rawJoin(record: Record<string, unknown>, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { op: 'join', v: 2, record, token: `token-${String(record.id)}`, proc: 'raw', leader: false, ...fields };
}
