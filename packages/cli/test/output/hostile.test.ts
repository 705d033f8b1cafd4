// Whatever a command prints, the reader neither throws nor grows: huge lines, binary, floods of redraws.
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { batches, epochs, newRun } from './helpers.js';

test('a 10 MB line: passed through untouched, cut in the tail, not parsed', () => {
  const run = newRun({ keepOutput: false });
  run.push('stdout', 'Epoch 1/1\n32/32 - 1s - 20ms/step - loss: 0.5000');
  const chunk = Buffer.from(' - x: 1'.repeat((64 * 1024) / 7));
  for (let sent = 0; sent < 10 * 1024 * 1024; sent += chunk.length) expect(run.push('stdout', chunk)).toBe(chunk);
  run.push('stdout', '\nafter\n');
  run.end();
  expect(epochs(run.events)).toEqual([]);
  const tail = run.reader.tail();
  expect(tail.at(-2)).toBe(`32/32 - 1s - 20ms/step - loss: 0.5000${' - x: 1'.repeat(37)} - …`);
  expect(tail.at(-1)).toBe('after');
});

test('a million redraws of a bar: events and memory stay bounded', () => {
  const run = newRun({ keepOutput: false });
  const heapBefore = process.memoryUsage().heapUsed;
  let redraws = 0;
  let chunks = 0;
  while (redraws < 1_000_000) {
    const parts: string[] = [];
    for (let k = 0; k < 600 && redraws < 1_000_000; k++, redraws++) {
      const n = redraws % 10_000;
      parts.push(
        `\rEpoch ${Math.floor(redraws / 10_000) + 1}/100: ${String(Math.floor(n / 100)).padStart(3)}%|██▌       | ${n}/10000 [00:01<00:02, 30.10it/s, loss=${n}]`,
      );
    }
    run.push('stderr', Buffer.from(parts.join('')));
    chunks++;
  }
  run.end();
  expect(epochs(run.events).map((e) => e.epoch)).toEqual(Array.from({ length: 100 }, (_, k) => k + 1));
  // Samples, not a million: a bar is read when its percentage changes (100 per epoch) and at the end of
  // each chunk, whatever the number of redraws in between.
  expect(run.events.length).toBeLessThan(2 * (100 * 100 + chunks));
  expect(batches(run.events).length).toBeGreaterThan(100);
  expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
  expect(run.reader.tail()).toEqual(['Epoch 100/100:  99%|██▌       | 9999/10000 [00:01<00:02, 30.10it/s, loss=9999]']);
});

test('a long tail of long lines keeps what it shows, not the chunks the lines came in', () => {
  const run = newRun({ tailLines: 1000, keepOutput: false });
  const heapBefore = process.memoryUsage().heapUsed;
  for (let k = 0; k < 2000; k++) run.push('stdout', `${String(k).padStart(64_000, 'y')}\n`);
  expect(run.reader.tail()).toHaveLength(1000);
  expect(run.reader.tail().at(-1)).toBe(`${'y'.repeat(299)}…`);
  // 1000 lines of 300 characters, not 1000 chunks of 64 KB.
  expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(48 * 1024 * 1024);
});

test('random bytes, from a seeded generator: no throw, passed through as they came, the reader still reads afterwards', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), fc.uint8Array({ maxLength: 2048 })), { maxLength: 24 }), (chunks) => {
      const run = newRun();
      const sent: Record<'stdout' | 'stderr', Buffer[]> = { stdout: [], stderr: [] };
      for (const [useStdout, bytes] of chunks) {
        const stream = useStdout ? 'stdout' : 'stderr';
        sent[stream].push(Buffer.from(bytes));
        run.push(stream, Buffer.from(bytes));
      }
      run.push('stdout', '\n@epochcast {"event":"batch","loss":0.25}\n');
      run.end();
      expect(run.passed.stderr).toEqual(Buffer.concat(sent.stderr));
      expect(run.passed.stdout).toEqual(Buffer.concat([...sent.stdout, Buffer.from('\n')]));
      expect(run.events).toContainEqual({ kind: 'batch', loss: 0.25, source: 'protocol' });
      for (const line of run.reader.tail()) expect(line.length).toBeLessThanOrEqual(300);
    }),
    { seed: 20261206, numRuns: 300 },
  );
});

test('tricky pieces in any order and any chunking (escapes, redraws, markers, bars, dicts): no throw, tail bounded', () => {
  const piece = fc.constantFrom(
    '\r',
    '\n',
    '\b',
    '\t',
    '\u001b',
    '\u001b[',
    '\u001b[A',
    '\u001b[5A',
    '\u001b[K',
    '\u001b[2K',
    '\u001b[J',
    '\u001b[99999C',
    '\u001b]0;t',
    '\u0007',
    '\u001b7',
    '\u001b8',
    '@epochcast ',
    '@epoch',
    '{"event":"epoch","epoch":3}',
    '{"event":"batch","loss":1}',
    'Epoch 3/10: 45%|████▌     | 45/100 [00:01<00:02, 30.1it/s, loss=0.01]',
    'Epoch 0: 100%|██████████| 32/32 [00:01<00:00, v_num=0, train_loss=0.5]',
    'Epoch 2/5',
    '32/32 - 1s - loss: 0.5 - val_loss: nan',
    "{'loss': 0.3, 'epoch': 1.0}",
    "{'eval_loss': '0.2', 'epoch': '1'}",
    'epoch     train_loss  valid_loss  time',
    '0         0.5         #na#        00:01',
    '`Trainer.fit` stopped: `max_epochs=3` reached.',
    '€',
    '\uffff',
    ' ',
    'x'.repeat(300),
  );
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 80 }), fc.integer({ min: 1, max: 64 }), (pieces, size) => {
      const run = newRun({ tailLines: 5 });
      const bytes = Buffer.from(pieces.join(''));
      for (let at = 0; at < bytes.length; at += size) run.push(at % 2 === 0 ? 'stdout' : 'stderr', bytes.subarray(at, at + size));
      run.end();
      const found = epochs(run.events).map((e) => e.epoch);
      expect(found).toEqual([...found].sort((a, b) => a - b));
      expect(new Set(found).size).toBe(found.length);
      expect(run.reader.tail().length).toBeLessThanOrEqual(5);
    }),
    { seed: 7, numRuns: 500 },
  );
});

test('an escape sequence of any length is consumed to its end; one cut between chunks is joined', () => {
  const run = newRun();
  run.push('stdout', `\u001b[${'1;'.repeat(100_000)}`);
  run.push('stdout', `${'2;'.repeat(100)}mvisible\n`);
  run.push('stdout', 'red \u001b[3');
  run.push('stdout', '1mtext\u001b[0m\n');
  expect(run.reader.tail()).toEqual(['visible', 'red text']);
  // One that never ends is just not shown.
  run.push('stdout', `\u001b]0;${'t'.repeat(100_000)}`);
  run.end();
  expect(run.reader.tail()).toEqual(['visible', 'red text']);
});
