import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ReportedTraining } from '@epochcast/core';
import { TelegramCallback } from '@epochcast/telegram';

// TelegramCallback reads TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID.
const run = new ReportedTraining([new TelegramCallback()], {
  schedule: '$ node train.js', // shown where a Learner run shows its lr schedule
  onStop: () => child.kill('SIGINT'), // Telegram's /stop, or a callback's CancelFitError
});
await run.begin({ totalEpochs: 3 }); // onTrainBegin: configuration checks, the start message

// The training runs in another process: here a script that prints a JSON line per epoch (yours may
// be `python train.py`, its lines Keras's).
const script = `for (let epoch = 1; epoch <= 3; epoch++)
  console.log(JSON.stringify({ epoch, loss: 0.5 / epoch, val_loss: 0.6 / epoch, val_accuracy: 1 - 0.1 / epoch }));`;
// Its output is read from the moment it starts: nothing it prints is missed.
const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
const exitCode = new Promise<number | null>((resolve) => child.on('close', resolve));
for await (const line of createInterface({ input: child.stdout })) {
  const { epoch, loss, val_loss, val_accuracy } = JSON.parse(line) as Record<string, number>;
  await run.batch(loss ?? Number.NaN); // a training loss: a point of the loss plot
  await run.epoch({ epoch, trainLoss: loss, validLoss: val_loss, metrics: { val_accuracy: val_accuracy ?? Number.NaN } });
}
const code = await exitCode;
await run.end({ status: code === 0 ? 'completed' : 'failed', outcome: `exit code ${code}` });
console.log(run.recorder.formatStats());
