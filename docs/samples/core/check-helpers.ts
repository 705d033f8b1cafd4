import { Callback, checkBoolean, checkInteger, checkOptions, type TrainingState } from '@epochcast/core';

export class EveryNth extends Callback {
  readonly every: number;
  readonly quiet: boolean;
  constructor(options?: { every?: number; quiet?: boolean }) {
    super();
    const o = checkOptions('EveryNth', options, '{ every: 5 }');
    this.every = checkInteger('EveryNth', 'every', o.every ?? 5, 1, 'a number of epochs');
    this.quiet = checkBoolean('EveryNth', 'quiet', o.quiet ?? false);
  }
  override onEpochEnd(state: TrainingState) {
    if (!this.quiet && state.epoch % this.every === 0) console.log(state.stats);
  }
}

for (const options of [{ every: 0 }, { quiet: 'yes' }, 5]) {
  try {
    new EveryNth(options as never);
  } catch (error) {
    console.log(`${(error as Error).name}: ${(error as Error).message}`);
  }
}
// ConfigError: EveryNth: every must be an integer >= 1 (a number of epochs); received 0.
// ConfigError: EveryNth: quiet must be true or false; received "yes".
// ConfigError: EveryNth: options must be an object such as { every: 5 }; received 5.
