import { loadMnist, mnistModel } from '@epochcast/cli/mnist';
import { accuracy, DataLoaders, Learner, selectBackend } from '@epochcast/core';
import { TelegramCallback } from '@epochcast/telegram';

await selectBackend();
const { x, y } = loadMnist(1000); // 1,000 real digits, labels one-hot
const data = DataLoaders.fromTensors(x, y, { validPct: 0.2, seed: 42 });
const model = mnistModel(); // 784 → 128 (ReLU) → 10 (softmax)

// Reads TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID (and TELEGRAM_API_ROOT, for a self-hosted Bot API).
const telegram = new TelegramCallback({ runName: 'mnist-mlp' });
const learn = new Learner({ model, data, loss: 'categoricalCrossentropy', metrics: [accuracy], callbacks: [telegram] });
await learn.fitOneCycle(3, { lrMax: 1e-2 });
