import { loadMnist, mnistModel } from '@epochcast/cli/mnist';
import { accuracy, DataLoaders, Learner, selectBackend } from '@epochcast/core';
import { EmailCallback } from '@epochcast/email';

await selectBackend();
const { x, y } = loadMnist(1000); // 1,000 real digits, labels one-hot
const data = DataLoaders.fromTensors(x, y, { validPct: 0.2, seed: 42 });
const model = mnistModel(); // 784 → 128 (ReLU) → 10 (softmax)

// Reads SMTP_URL='smtps://me%40example.com:app-password@smtp.example.com',
// EMAIL_FROM='epochcast <me@example.com>' and EMAIL_TO='me@example.com, team@example.com'
// (or pass { smtpUrl, from, to }).
const email = new EmailCallback({ runName: 'mnist-mlp' });
const learn = new Learner({ model, data, loss: 'categoricalCrossentropy', metrics: [accuracy], callbacks: [email] });
await learn.fitOneCycle(3, { lrMax: 1e-2 });
