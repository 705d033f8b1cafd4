import { loadMnist, mnistModel } from '@epochcast/cli/mnist';
import { accuracy, DataLoaders, Learner, selectBackend } from '@epochcast/core';
import { NtfyCallback } from '@epochcast/ntfy';

await selectBackend();
const { x, y } = loadMnist(1000); // 1,000 real digits, labels one-hot
const data = DataLoaders.fromTensors(x, y, { validPct: 0.2, seed: 42 });
const model = mnistModel(); // 784 → 128 (ReLU) → 10 (softmax)

// Reads NTFY_URL=https://ntfy.sh/my-runs-7f3k (and NTFY_TOKEN=tk_… if the topic is protected).
const ntfy = new NtfyCallback({ runName: 'mnist-mlp', clickUrl: 'https://wandb.ai/me/mnist' });
const learn = new Learner({ model, data, loss: 'categoricalCrossentropy', metrics: [accuracy], callbacks: [ntfy] });
await learn.fitOneCycle(3, { lrMax: 1e-2 });
