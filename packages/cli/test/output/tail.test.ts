// tail(): the last lines as a terminal shows them — what the end message quotes.
import { expect, test } from 'vitest';
import { TrainingOutputReader } from '../../src/output/index.js';
import { newRun, read } from './helpers.js';

test('the last N lines of both streams in the order they came, the unfinished one included', () => {
  const run = newRun({ tailLines: 3 });
  run.push('stdout', 'one\ntwo\n');
  run.push('stderr', 'three\n');
  run.push('stdout', 'four\nfive, still being writ');
  expect(run.reader.tail()).toEqual(['three', 'four', 'five, still being writ']);
});

test('as shown: a redraw replaces what it covers, colours and escapes are gone, CRLF is one line end', () => {
  const text =
    'progress 50%\rdone\n' + // `done` covers the first four characters only
    '\u001b[31mValueError\u001b[0m: boom\r\n' +
    'abc\b\bX\n' + // backspaces move the cursor back
    'old text\r\u001b[Knew\n' + // erase to the end of the line
    'left\u001b[2K\rright\n' +
    '\u001b]0;window title\u0007titled\n';
  expect(read(text).reader.tail()).toEqual(['doneress 50%', 'ValueError: boom', 'aXc', 'new', 'right', 'titled']);
});

test('a bar redrawn a thousand times is one line; lines above it stay', () => {
  let text = 'Training\n';
  for (let n = 0; n <= 1000; n++) text += `\r${n}/1000 [00:0${n % 10}<00:01]`;
  expect(read(text, { size: 777 }).reader.tail()).toEqual(['Training', '1000/1000 [00:00<00:01]']);
});

test('a line moved up to and rewritten (nested tqdm bars) is shown once, rewritten', () => {
  const text = 'outer 0%\n\rinner 10%\u001b[A\router 50%\n\rinner 20%\u001b[A\router 100%\n\n';
  expect(read(text).reader.tail()).toEqual(['outer 100%', 'inner 20%']);
});

test('blank lines before the kept lines are dropped, and after them too; between them kept', () => {
  expect(read('\n\n\na\n\nb\n\n\n').reader.tail()).toEqual(['a', '', 'b']);
});

test('long lines are cut, a character cut between chunks is whole, invalid bytes are shown as such', () => {
  const run = newRun();
  run.push('stdout', `${'x'.repeat(1000)}\n`);
  const euro = Buffer.from('price: 3€\n');
  run.push('stdout', euro.subarray(0, 9)); // inside the 3 bytes of €
  run.push('stdout', euro.subarray(9));
  run.push('stdout', Buffer.from([0x61, 0xff, 0x62, 0x0a]));
  expect(run.reader.tail()).toEqual([`${'x'.repeat(299)}…`, 'price: 3€', 'a\ufffdb']);
});

test('tailLines must be a whole number of lines', () => {
  for (const tailLines of [0, -1, 1.5, Number.NaN, 100_000]) {
    expect(() => new TrainingOutputReader(() => {}, { tailLines })).toThrow(/tailLines must be a whole number from 1 to 10000, got/);
  }
  expect(new TrainingOutputReader(() => {}).tail()).toEqual([]);
});
