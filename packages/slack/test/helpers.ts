import type { NotifierLogger } from '@epochcast/notify';
import type { SlackCall, SlackServer } from '@epochcast/testkit';
import { SlowEpochs } from '@epochcast/testkit/learner';

export { AlertsAt, CrashAt as Crash, EpochCounter, toyLearner } from '@epochcast/testkit/learner';

export const TOKEN = 'xoxb-test-1f2e3d4c';

export function collectingLogger(): NotifierLogger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, warn: (line) => lines.push(line) };
}

export const calls = (server: SlackServer, method: string): SlackCall[] => server.received.filter((c) => c.method === method);

/** Every string a test should search for secrets: calls, messages, files. */
export function everything(server: SlackServer): string {
  return JSON.stringify({ received: server.received, messages: server.messages() });
}

/**
 * Waits at each epoch end, after the notifier has queued its message: a toy epoch takes a few ms,
 * less than a round trip, so without it epoch messages are (rightly) coalesced.
 */
export class Pause extends SlowEpochs {
  override order = 200;
  constructor(ms = 40) {
    super(ms);
  }
}
