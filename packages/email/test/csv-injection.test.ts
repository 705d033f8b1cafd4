// Issue 15, finding 14: header cells beginning with =, +, -, @ went raw into the e-mailed CSV, so
// opening the attachment in a spreadsheet evaluated a formula a metric name carried.
import type { Metric } from '@epochcast/core';
import type { Notification } from '@epochcast/notify';
import { type ReceivedMail, type SmtpSink, sampleNotification, sampleStats, startSmtpSink } from '@epochcast/testkit';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { EmailCallback } from '../src/index.js';
import { toyLearner } from './helpers.js';

const HOSTILE = ['=HYPERLINK("http://x")', '+1', '-cmd', '@SUM(A1)', '\t=1+1', '\r=1+1', "-2+3+cmd|' /C calc'!A0"];

let sink: SmtpSink | undefined;
let made: EmailCallback[] = [];

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterEach(async () => {
  for (const e of made) e.close();
  made = [];
  await sink?.close();
  sink = undefined;
});

function emailTo(s: SmtpSink): EmailCallback {
  const email = new EmailCallback({ smtpUrl: s.url, from: 'runs@example.test', to: 'me@example.test', runName: 'csv', on: ['end'] });
  made.push(email);
  return email;
}

/** The CSV attachment's rows as cells, parsed as a spreadsheet reads RFC 4180 (quotes, "" escapes, line breaks in quotes). */
function csvCells(mail: ReceivedMail): string[][] {
  const text = mail.attachments.find((a) => a.contentType === 'text/csv')?.content.toString('utf8');
  if (text === undefined) throw new Error('no CSV attachment');
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n') {
      rows.push([...row, cell]);
      row = [];
      cell = '';
    } else cell += c;
  }
  return rows;
}

/** What a spreadsheet would evaluate: a cell starting with one of OWASP's formula characters. */
const isFormula = (cell: string) => /^[=+\-@\t\r]/.test(cell);

describe('the e-mailed CSV neutralises formulas (finding 14)', () => {
  test('metric names like =HYPERLINK("http://x"), +1, -cmd, @SUM(A1) arrive as text behind a quote; negative values stay numbers', async () => {
    sink = await startSmtpSink();
    const metrics = (i: number) => Object.fromEntries(HOSTILE.map((name, k) => [name, k === 2 ? -0.5 - i : 0.25 * k]));
    const history = [0, 1].map((i) => ({ ...sampleStats(i, 2, metrics(i), -0.125, 1e-7), timeMs: 1500 }));
    const n: Notification = sampleNotification({ event: 'end', history, stats: history[1], metricNames: HOSTILE });
    expect((await emailTo(sink).notify(n)).delivered).toEqual(['end']);

    const [header, ...rows] = csvCells((await sink.waitFor()) as ReceivedMail);
    expect(header).toEqual(['epoch', 'train_loss', 'valid_loss', ...HOSTILE.map((name) => `'${name}`), 'time']);
    expect(header?.filter(isFormula)).toEqual([]);
    expect(rows).toEqual([
      ['0', '-0.125', '1e-7', '0', '0.25', '-0.5', '0.75', '1', '1.25', '1.5', '1.500'],
      ['1', '-0.125', '1e-7', '0', '0.25', '-1.5', '0.75', '1', '1.25', '1.5', '1.500'],
    ]);
    // Every data cell reads back as the number it was.
    for (const row of rows) for (const cell of row) expect(Number.isNaN(Number(cell))).toBe(false);
  });

  test('a real fit whose metric functions carry hostile names: the attachment has no formula cell, the losses their values', async () => {
    sink = await startSmtpSink();
    const named = (name: string, fn: Metric): Metric => Object.defineProperty(fn, 'name', { value: name });
    const metrics = [
      named('=HYPERLINK("http://x")', (t, p) => tf.mean(tf.sub(p, t))),
      named('-cmd', (t, p) => tf.sub(tf.mean(tf.abs(tf.sub(p, t))), 5)),
      named('@SUM(A1)', (t, p) => tf.mean(tf.abs(tf.sub(p, t)))),
    ];
    const learn = toyLearner([emailTo(sink)], { metrics });
    await learn.fit(2);
    const [header, ...rows] = csvCells((await sink.waitFor()) as ReceivedMail);
    expect(header).toEqual(['epoch', 'train_loss', 'valid_loss', `'=HYPERLINK("http://x")`, "'-cmd", "'@SUM(A1)", 'time']);
    expect(rows).toHaveLength(2);
    learn.recorder.history.forEach((s, i) => {
      const cells = rows[i] ?? [];
      expect(cells.filter((c) => isFormula(c) && Number.isNaN(Number(c)))).toEqual([]);
      expect(Number(cells[4])).toBe(s.metrics['-cmd']);
      expect(Number(cells[4])).toBeLessThan(0);
      expect(Number(cells[1])).toBe(s.trainLoss);
    });
  });
});
