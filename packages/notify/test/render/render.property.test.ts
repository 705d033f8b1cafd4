import { arbitraryNotification } from '@epochcast/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { epochTable, renderText, trimStack } from '../../src/index.js';

const RUNS = { numRuns: 150 };
const notification = arbitraryNotification(fc);

describe('the render kit, for arbitrary notifications', () => {
  it('plain text, the table and the stack fit their limits', () => {
    fc.assert(
      fc.property(notification, fc.integer({ min: 64, max: 5000 }), (n, maxLength) => {
        expect(renderText(n, { maxLength }).length).toBeLessThanOrEqual(maxLength);
        expect(epochTable(n.history, n.metricNames, { maxChars: maxLength, maxRows: 20 }).length).toBeLessThanOrEqual(maxLength);
        if (n.error?.stack) expect(trimStack(n.error.stack, maxLength).length).toBeLessThanOrEqual(maxLength);
      }),
      RUNS,
    );
  });
});
