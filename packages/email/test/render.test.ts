import type { Plot } from '@epochcast/core';
import { jobNotification, jobRunInfo, renderText } from '@epochcast/notify';
import { failedNotification, hostileNotification, sampleNotification } from '@epochcast/testkit';
import { Parser } from 'htmlparser2';
import { describe, expect, it } from 'vitest';
import { LOSS_PLOT_CID, renderEmail } from '../src/render.js';

const note = sampleNotification;
const failed = failedNotification;
const evil = hostileNotification();

describe('e-mail', () => {
  it('e-mail: subject, escaped HTML, best row, plot and error', () => {
    const plot = { title: 'Loss <x>', svg: '<svg/>' } as unknown as Plot;
    const e = renderEmail({ ...evil, plot });
    expect(e.subject).toBe('[epochcast] <b>&*_[evil] completed · top_5_acc 97.12% · 5 epochs in 3m 12s');
    expect(e.html).toContain('&lt;b&gt;&amp;*_[evil]');
    expect(e.html).not.toContain('<b>');
    expect(e.html).toContain(`<img src="cid:${LOSS_PLOT_CID}" alt="Loss &lt;x&gt;"`);
    expect(e.html).toMatch(/<tr class="best" style="background:[^"]+"[^>]*><td[^>]*>3<\/td>/);
    expect(e.text).toBe(renderText({ ...evil, plot }, { maxTableRows: 100, maxStackChars: 20_000 }));

    const f = renderEmail(failed());
    expect(f.subject).toBe('[epochcast] mnist-mlp failed after 2/5 epochs · TypeError: x is undefined');
    expect(f.html).toContain('<pre');
    expect(f.html).toContain('at Learner.oneBatch');
    expect(renderEmail(note({ event: 'interrupt', status: 'interrupted', stopReason: 'SIGINT' })).subject).toBe(
      '[epochcast] mnist-mlp interrupted (SIGINT) after 5/5 epochs',
    );
    expect(renderEmail(note({ run: { ...note().run, name: 'a\r\nBcc: x@y' } })).subject).not.toMatch(/[\r\n]/);
    // A job (`epochcast run` with no epoch read) counts no epochs: its subject says how long it ran, as the chat does.
    const job = jobRunInfo({ name: 'nightly', schedule: '$ python3 train.py' });
    const jobFailed = {
      ...jobNotification('error', job, 'failed', { error: { name: 'exit code 1', message: 'OverflowError: math range error' } }),
      durationMs: 407,
    };
    expect(renderEmail(jobFailed).subject).toBe('[epochcast] nightly failed after 407ms · exit code 1: OverflowError: math range error');
    const jobInterrupted = { ...jobNotification('interrupt', job, 'interrupted', { stopReason: 'SIGINT' }), durationMs: 4_000 };
    expect(renderEmail(jobInterrupted).subject).toBe('[epochcast] nightly interrupted (SIGINT) after 4s');

    let depth = 0;
    const parser = new Parser(
      {
        onopentag: (name) => {
          if (!['meta', 'img'].includes(name)) depth++;
        },
        onclosetag: (name, implied) => {
          if (implied && !['meta', 'img'].includes(name)) throw new Error(`unclosed <${name}>`);
          if (!['meta', 'img'].includes(name)) depth--;
        },
      },
      { decodeEntities: true },
    );
    parser.end(e.html);
    expect(depth).toBe(0);
  });
});
