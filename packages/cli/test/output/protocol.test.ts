// The `@epochcast {json}` line protocol.
import { expect, test } from 'vitest';
import { batches, epochs, kinds, newRun, read } from './helpers.js';

const EPOCH_1 = '@epochcast {"event":"epoch","epoch":1,"epochs":3,"loss":0.31,"val_loss":0.29,"accuracy":0.91,"lr":0.001,"note":"x"}';

test('an epoch line: the event, and the line taken out of what is shown and of the tail', () => {
  const run = newRun();
  const out = run.push('stdout', `before\n${EPOCH_1}\nafter\n`);
  expect(out.toString()).toBe('before\nafter\n');
  expect(run.events).toEqual([
    { kind: 'progress' },
    { kind: 'epochs', total: 3 },
    { kind: 'epoch', epoch: 1, total: 3, trainLoss: 0.31, validLoss: 0.29, lr: 0.001, metrics: { accuracy: 0.91 }, source: 'protocol' },
  ]);
  expect(run.reader.tail()).toEqual(['before', 'after']);
  expect(run.reader.lastProgressLine).toBe(EPOCH_1);
});

test('start, batch and alert lines; `train_loss`/`valid_loss`, validation metrics first; CRLF', () => {
  const text =
    '@epochcast {"event":"start","epochs":2,"name":"resnet"}\r\n' +
    '@epochcast {"event":"batch","loss":0.42}\r\n' +
    '@epochcast {"event":"alert","text":"GPU hot"}\r\n' +
    '@epochcast {"event":"alert","text":"loss diverged","level":"critical"}\r\n' +
    '@epochcast {"event":"epoch","epoch":1,"train_loss":0.5,"valid_loss":0.6,"acc":0.7,"val_acc":0.65}\r\n';
  const run = read(text);
  expect(run.passed.stdout.toString()).toBe('');
  expect(run.events.filter((e) => e.kind !== 'progress')).toEqual([
    { kind: 'start', epochs: 2, name: 'resnet' },
    { kind: 'epochs', total: 2 },
    { kind: 'batch', loss: 0.42, source: 'protocol' },
    { kind: 'alert', text: 'GPU hot', level: 'warning' },
    { kind: 'alert', text: 'loss diverged', level: 'critical' },
    { kind: 'epoch', epoch: 1, total: 2, trainLoss: 0.5, validLoss: 0.6, metrics: { val_acc: 0.65, acc: 0.7 }, source: 'protocol' },
  ]);
});

test("Python's json.dumps NaN and Infinity are read: a diverged loss is reported", () => {
  const run = read('@epochcast {"event": "epoch", "epoch": 1, "loss": NaN, "val_loss": Infinity, "acc": NaN, "name": "NaN"}\n');
  const [epoch] = epochs(run.events);
  expect(epoch?.trainLoss).toBeNaN();
  expect(epoch?.validLoss).toBe(Number.POSITIVE_INFINITY);
  // Metrics are finite numbers only.
  expect(epoch?.metrics).toEqual({});
});

test('malformed lines are output like any other: shown, kept in the tail, no event', () => {
  const malformed = [
    '@epochcast {"event":"epoch","epoch":1',
    '@epochcast not json',
    '@epochcast {"event":"finish"}',
    '@epochcast {"epoch":1}',
    '@epochcast ["event","epoch"]',
    '@epochcast {"event":"epoch","epoch":"1"}',
    '@epochcast {"event":"epoch","epoch":0}',
    '@epochcast {"event":"epoch","epoch":1.5}',
    '@epochcast {"event":"epoch","epoch":1,"loss":"0.3"}',
    '@epochcast {"event":"batch"}',
    '@epochcast {"event":"alert","text":""}',
    '@epochcast {"event":"alert","text":"x","level":"fatal"}',
    '@epochcast {"event":"start","epochs":-1}',
    '@epochcast {"event":"start","name":3}',
    `@epochcast {"event":"alert","text":"${'x'.repeat(70_000)}"}`,
  ];
  const text = `${malformed.join('\n')}\n`;
  const run = read(text);
  expect(run.passed.stdout.toString()).toBe(text);
  expect(run.events).toEqual([]);
  expect(run.reader.tail()).toHaveLength(15);
  expect(run.reader.tail()[0]).toBe('@epochcast {"event":"epoch","epoch":1');
});

test('a line split across chunks — even byte by byte — is held back, then taken out whole', () => {
  const text = `loss 1\n${EPOCH_1}\nloss 2\n`;
  const run = read(text, { size: 1 });
  expect(run.passed.stdout.toString()).toBe('loss 1\nloss 2\n');
  expect(epochs(run.events).map((e) => e.epoch)).toEqual([1]);

  // While the line is incomplete its bytes are held back; the chunk before them is passed on.
  const partial = newRun();
  expect(partial.push('stdout', 'a\n@epochc').toString()).toBe('a\n');
  expect(partial.push('stdout', 'ast {"event":"batch","loss":1}').toString()).toBe('');
  expect(partial.push('stdout', '\nb\n').toString()).toBe('b\n');
  expect(batches(partial.events)).toEqual([1]);
});

test('a held-back start that turns out not to be the marker is passed on as it was', () => {
  const run = newRun();
  expect(run.push('stdout', 'mail me @epo').toString()).toBe('mail me ');
  expect(run.push('stdout', 'ch 3\n').toString()).toBe('@epoch 3\n');
  expect(run.reader.tail()).toEqual(['mail me @epoch 3']);
});

test('a held-back line longer than 64 KiB is let through', () => {
  const run = newRun();
  run.push('stdout', '@epochcast {"event":"alert","text":"');
  const out = run.push('stdout', 'x'.repeat(70_000));
  expect(out.toString()).toBe(`@epochcast {"event":"alert","text":"${'x'.repeat(70_000)}`);
  expect(run.push('stdout', '"}\nnext\n').toString()).toBe('"}\nnext\n');
  expect(run.events).toEqual([]);
});

test('the last line without its line feed is still a protocol line when it is well-formed; a cut one is given back', () => {
  const complete = newRun();
  expect(complete.push('stdout', '@epochcast {"event":"batch","loss":0.5}').toString()).toBe('');
  complete.end();
  expect(batches(complete.events)).toEqual([0.5]);
  expect(complete.passed.stdout.toString()).toBe('');

  const cut = newRun();
  cut.push('stdout', '@epochcast {"event":"batch",');
  expect(cut.reader.end('stdout').toString()).toBe('@epochcast {"event":"batch",');
  expect(cut.reader.tail()).toEqual(['@epochcast {"event":"batch",']);
});

test('a chunk without a protocol line is passed on as the same Buffer', () => {
  const run = newRun();
  const chunk = Buffer.from('Epoch 1/3\nsome @ sign\n\r 12/32 [====>....] - ETA: 1s');
  expect(run.push('stdout', chunk)).toBe(chunk);
});

test('a protocol line printed while a progress bar holds the row (Keras, Lightning): only the protocol text and its line feed go', () => {
  const run = newRun();
  const keras = `\r 1/16 ━━━━ 0s 5ms/step - loss: 0.6989${EPOCH_1}\n\b\b\b\r16/16 ━━━━ 0s 5ms/step - loss: 0.2809 - val_loss: 0.1098\n`;
  expect(run.push('stdout', keras).toString()).toBe(
    '\r 1/16 ━━━━ 0s 5ms/step - loss: 0.6989\b\b\b\r16/16 ━━━━ 0s 5ms/step - loss: 0.2809 - val_loss: 0.1098\n',
  );
  const lightning = `\rValidation DataLoader 0: 100%|██████████| 4/4 [00:00<00:00, 547.38it/s]\u001b[A${EPOCH_1.replace('"epoch":1', '"epoch":2')}\n`;
  expect(run.push('stdout', lightning).toString()).toBe(
    '\rValidation DataLoader 0: 100%|██████████| 4/4 [00:00<00:00, 547.38it/s]\u001b[A',
  );
  expect(epochs(run.events).map((e) => e.epoch)).toEqual([1, 2]);
});

test('once a protocol epoch line was seen, the formats no longer report epochs or batches; before it they do', () => {
  const run = newRun();
  run.push('stdout', 'Epoch 1/3\n32/32 - 1s - 20ms/step - loss: 0.5000\n');
  run.push('stdout', '@epochcast {"event":"epoch","epoch":2,"loss":0.41}\n');
  run.push('stdout', 'Epoch 3/3\n\r16/32 ━━━━ 0s 5ms/step - loss: 0.3000\r32/32 ━━━━ 1s 5ms/step - loss: 0.2900\n');
  run.push('stdout', '@epochcast {"event":"epoch","epoch":3,"loss":0.29123}\n');
  run.end();
  expect(epochs(run.events).map((e) => [e.epoch, e.trainLoss, e.source])).toEqual([
    [1, 0.5, 'keras'],
    [2, 0.41, 'protocol'],
    [3, 0.29123, 'protocol'],
  ]);
  expect(batches(run.events)).toEqual([]);
  // The protocol's total is not overridden by Keras's `Epoch 3/3` once the protocol gave one.
  expect(kinds(run.events).filter((k) => k === 'epochs')).toHaveLength(1);
});

test('epochs only go forward: a repeated or older epoch line is taken out but reports nothing', () => {
  const run = read(
    '@epochcast {"event":"epoch","epoch":2}\n@epochcast {"event":"epoch","epoch":2}\n@epochcast {"event":"epoch","epoch":1}\n',
  );
  expect(run.passed.stdout.toString()).toBe('');
  expect(epochs(run.events).map((e) => e.epoch)).toEqual([2]);
});
