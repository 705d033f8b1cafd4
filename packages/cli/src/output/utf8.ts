// Decoding a stream's bytes piece by piece: a character cut by the end of a chunk waits for its last
// bytes. Buffer#toString is several times faster than a streaming TextDecoder on Node 20, and this
// reader decodes every byte a training prints.

/** The bytes a sequence starting with `lead` takes: 1 for ASCII, 2–4 for a lead byte, 0 for a continuation byte. */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead < 0xc0) return 0;
  if (lead < 0xe0) return 2;
  if (lead < 0xf0) return 3;
  return 4;
}

export class Utf8Stream {
  /** The first bytes of a character cut by the end of the last piece. */
  private pending: Buffer | undefined;

  /** The text of `bytes[start, end)`, after what the last piece left pending. Invalid bytes become U+FFFD. */
  decode(bytes: Buffer, start = 0, end = bytes.length): string {
    let head = '';
    if (this.pending !== undefined) {
      // Complete the cut character with the continuation bytes that open this piece.
      let k = start;
      const need = sequenceLength(this.pending[0] as number) - this.pending.length;
      while (k < end && k - start < need && ((bytes[k] as number) & 0xc0) === 0x80) k++;
      if (k === end && k - start < need) {
        // Still cut: this piece was too short to complete it.
        this.pending = Buffer.concat([this.pending, bytes.subarray(start, end)]);
        return '';
      }
      head = Buffer.concat([this.pending, bytes.subarray(start, k)]).toString('utf8');
      this.pending = undefined;
      start = k;
    }
    let cut = end;
    for (let k = end - 1; k >= start && k >= end - 3; k--) {
      const length = sequenceLength(bytes[k] as number);
      if (length === 0) continue;
      if (end - k < length) cut = k;
      break;
    }
    if (cut < end) this.pending = Buffer.from(bytes.subarray(cut, end));
    return head + bytes.toString('utf8', start, cut);
  }

  /** The stream ended: a character still cut is shown as U+FFFD. */
  end(): string {
    const rest = this.pending === undefined ? '' : this.pending.toString('utf8');
    this.pending = undefined;
    return rest;
  }
}
