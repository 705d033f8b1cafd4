import { trainMnist } from '@epochcast/cli/mnist';
import { selectBackend } from '@epochcast/core';

await selectBackend();
const run = await trainMnist({ samples: 1000, epochs: 2 }); // any of DEMO_CONFIG's fields, plus hidden, callbacks
console.log(run.validAccuracy, run.learn.recorder.formatStats());
run.dispose(); // frees the model, the data and the optimizer: nothing else is left behind
