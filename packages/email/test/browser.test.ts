/**
 * The summary as a reader sees it: the HTML that reached the SMTP sink, opened in headless
 * Chromium — the one inside the npm package @sparticuz/chromium, else Debian's (./chromium.ts).
 * No browser fails this test: a silent skip would let the mail's layout break unnoticed.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SmtpSink, startSmtpSink } from '@epochcast/testkit';
import * as tf from '@tensorflow/tfjs';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmailCallback } from '../src/index.js';
import { chromiumCandidates, NO_CHROMIUM } from './chromium.js';
import { toyLearner } from './helpers.js';

const OUT_DIR = fileURLToPath(new URL('../../../.test-output/email/', import.meta.url));

/** The first candidate that launches, with a fresh profile; why each one before it did not. */
async function launchChromium(profile: string): Promise<BrowserContext> {
  const failures: string[] = [];
  for (const candidate of await chromiumCandidates()) {
    try {
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: candidate.executablePath,
        headless: true,
        args: candidate.args,
        viewport: { width: 900, height: 800 },
      });
      process.stdout.write(`browser check in Chromium from ${candidate.source}\n`);
      return context;
    } catch (error) {
      failures.push(`${candidate.source}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }
  }
  throw new Error([NO_CHROMIUM, ...failures].join('\n'));
}

let sink: SmtpSink;
let browser: Browser | undefined;
let profile: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  sink = await startSmtpSink();
  profile = mkdtempSync(path.join(tmpdir(), 'epochcast-chromium-'));
});

afterAll(async () => {
  await browser?.close();
  await sink.close();
  rmSync(profile, { recursive: true, force: true });
});

describe('the summary in a real browser', () => {
  it('shows the epoch table, the highlighted best row and the loss plot; screenshot written', async () => {
    const email = new EmailCallback({ smtpUrl: sink.url, from: 'runs@example.test', to: 'me@example.test', runName: 'toy-mlp' });
    await toyLearner([email]).fitOneCycle(6, { lrMax: 0.3 });
    await email.close();
    const mail = await sink.waitFor();

    // A mail client resolves cid: against the message's parts; a browser cannot, so do what it does.
    let html = mail.html ?? '';
    for (const a of mail.attachments.filter((x) => x.cid))
      html = html.replaceAll(`cid:${a.cid}`, `data:${a.contentType};base64,${a.content.toString('base64')}`);
    expect(html).not.toContain('cid:');

    // playwright's launcher starts Chromium with its own set of flags plus the candidate's; the profile is fresh.
    const context = await launchChromium(profile);
    browser = context.browser() ?? undefined;
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      await page.setContent(html, { waitUntil: 'load' });

      const table = page.locator('table.epochs');
      await expect.poll(() => table.isVisible()).toBe(true);
      expect(await table.locator('tbody tr').count()).toBe(6);

      const best = page.locator('table.epochs tr.best');
      expect(await best.count()).toBe(1);
      expect(await best.isVisible()).toBe(true);
      // Highlighted means a different background from an ordinary row, as the reader sees it.
      // String expressions: the DOM types are not part of this Node project's lib.
      const bg = (sel: string) => page.evaluate<string>(`getComputedStyle(document.querySelector(${JSON.stringify(sel)})).backgroundColor`);
      const bestBg = await bg('table.epochs tr.best');
      expect(bestBg).not.toBe(await bg('table.epochs tbody tr:not(.best)'));
      expect(bestBg).not.toBe('rgba(0, 0, 0, 0)');

      const img = page.locator('img[alt]');
      expect(await img.isVisible()).toBe(true);
      const size = await page.evaluate<{ complete: boolean; width: number; height: number }>(
        '(() => { const i = document.querySelector("img[alt]"); return { complete: i.complete, width: i.naturalWidth, height: i.naturalHeight }; })()',
      );
      expect(size.complete).toBe(true);
      expect(size.width).toBeGreaterThan(100);
      expect(size.height).toBeGreaterThan(50);

      mkdirSync(OUT_DIR, { recursive: true });
      const file = path.join(OUT_DIR, 'summary.png');
      await page.screenshot({ path: file, fullPage: true });
      expect(existsSync(file)).toBe(true);
    } finally {
      await context.close();
      browser = undefined;
    }
  });
});
