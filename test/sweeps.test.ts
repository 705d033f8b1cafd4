// The multi-process sweep scenarios, one after another in one worker. Each starts several training
// processes and asserts on the pacing a service saw: two of them at once on two cores squeezed a
// 1 s gap, so one file keeps them apart while the other test files run beside it.
// To run one: `npx vitest run test/sweeps.test.ts -t <name>`.
import './sweep/one-machine.test.js';
import './sweep/machines.test.js';
import './sweep/topics.test.js';
import '../examples/sweep/test/sweep.test.js';
