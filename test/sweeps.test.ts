// The multi-process sweep scenarios, one after another in one worker. Each starts several training
// processes and asserts on the pacing a service saw, so two of them at once on two cores could
// squeeze a 1 s gap; one file keeps them apart while the other test files run beside it (at a
// lower priority, see test/support/lower-priority.ts). To run one: `npx vitest run test/sweeps.test.ts -t <name>`.
import './sweep/one-machine.test.js';
import './sweep/machines.test.js';
import '../examples/sweep/test/sweep.test.js';
