import { loadMnist, mnistModel } from '@epochcast/cli/mnist';
import { accuracy, DataLoaders, Learner, selectBackend } from '@epochcast/core';
import { Alerts, divergence, nanLoss, plateau, slowEpoch, threshold } from '@epochcast/notify';
import { TelegramCallback } from '@epochcast/telegram';

await selectBackend();
const { x, y } = loadMnist(1000); // 1,000 real digits, labels one-hot
const data = DataLoaders.fromTensors(x, y, { validPct: 0.2, seed: 42 });
const model = mnistModel(); // 784 → 128 (ReLU) → 10 (softmax)

// Reads TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID.
const learn = new Learner({
  model,
  data,
  loss: 'categoricalCrossentropy',
  metrics: [accuracy],
  callbacks: [
    new TelegramCallback({ runName: 'mnist-mlp' }),
    new Alerts([
      nanLoss(),
      divergence({ factor: 4 }),
      threshold('accuracy', '>=', 0.8, { level: 'info' }),
      plateau('valid_loss', { patience: 3 }),
      slowEpoch({ factor: 2 }),
    ]),
  ],
});
await learn.fitOneCycle(3, { lrMax: 1e-2 });
