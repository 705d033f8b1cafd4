import { loadMnist, mnistModel } from '@epochcast/cli/mnist';
import { accuracy, DataLoaders, Learner, selectBackend } from '@epochcast/core';
import { SlackCallback } from '@epochcast/slack';

await selectBackend();
const { x, y } = loadMnist(1000); // 1,000 real digits, labels one-hot
const data = DataLoaders.fromTensors(x, y, { validPct: 0.2, seed: 42 });
const model = mnistModel(); // 784 → 128 (ReLU) → 10 (softmax)

// Reads SLACK_BOT_TOKEN=xoxb-… and SLACK_CHANNEL=#training (or pass { token, channel }).
const slack = new SlackCallback({ runName: 'mnist-mlp' });
const learn = new Learner({ model, data, loss: 'categoricalCrossentropy', metrics: [accuracy], callbacks: [slack] });
await learn.fitOneCycle(3, { lrMax: 1e-2 });
