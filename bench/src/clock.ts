// Epoch clocks: one callback that runs before every other at onEpochBegin and one that runs after
// every other at onEpochEnd, so an epoch's time includes all hooks (notifiers' enqueueing too).
import { Callback } from '@epochcast/core';

class EpochBeginClock extends Callback {
  override order = -1_000_000;
  constructor(private readonly begins: number[]) {
    super();
  }
  override onEpochBegin(): void {
    this.begins.push(performance.now());
  }
}

class EpochEndClock extends Callback {
  override order = 1_000_000;
  constructor(
    private readonly ends: number[],
    private readonly sample?: () => void,
  ) {
    super();
  }
  override onEpochEnd(): void {
    this.ends.push(performance.now());
    this.sample?.();
  }
}

export interface EpochClock {
  callbacks: Callback[];
  /** Wall time of each epoch, all hooks included, ms. */
  epochMs(): number[];
}

/** `sample` runs at the end of every epoch, after every other callback. */
export function epochClock(sample?: () => void): EpochClock {
  const begins: number[] = [];
  const ends: number[] = [];
  return {
    callbacks: [new EpochBeginClock(begins), new EpochEndClock(ends, sample)],
    epochMs: () => ends.map((end, i) => end - (begins[i] as number)),
  };
}
