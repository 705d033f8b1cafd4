/**
 * vitest's JSON report (what .ci/run counts for its closing "N passed, N failed" line), followed by
 * one line per reason tests were skipped, e.g. `16 tests skipped: redis-server is not installed:
 * apt-get install redis-server …`, so a skip is never silent: the default reporter's summary only
 * counts them. One reporter for both because vitest runs reporters' end hooks concurrently, and the
 * reasons must come after the JSON reporter's "report written" line to close the output.
 */
import type { TestModule } from 'vitest/node';
import { JsonReporter } from 'vitest/reporters';

export default class JsonAndSkipReasonsReporter extends JsonReporter {
  override async onTestRunEnd(testModules: ReadonlyArray<TestModule>): Promise<void> {
    await super.onTestRunEnd(testModules);
    const reasons = new Map<string, number>();
    for (const module of testModules)
      for (const test of module.children.allTests()) {
        const result = test.result();
        if (result.state !== 'skipped') continue;
        const reason = result.note ?? 'skipped without a reason';
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      }
    for (const [reason, count] of reasons) process.stdout.write(`\n${count} test${count === 1 ? '' : 's'} skipped: ${reason}\n`);
  }
}
