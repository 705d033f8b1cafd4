import { CrashAt as CrashWith } from '@epochcast/testkit/learner';

export { EpochCounter, SlowEpochs, toyLearner } from '@epochcast/testkit/learner';

/** Collects the notifier's warning lines. */
export function warnings(): { lines: string[]; logger: { warn(line: string): void } } {
  const lines: string[] = [];
  return { lines, logger: { warn: (line) => lines.push(line) } };
}

/** Throws a TypeError with `message` at the end of epoch `at` (0-based), as a bug in user code would. */
export class CrashAt extends CrashWith {
  constructor(at: number, message: string) {
    super(at, new TypeError(message));
  }
}

export const PNG_MAGIC = Buffer.from('89504e470d0a1a0a', 'hex');
