import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createTransport } from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { takeFault } from '../src/faults.js';
import { Faults, startSlackServer, startSmtpSink, startTelegramServer, startWebhookServer } from '../src/index.js';

// What a server could leak; the test runner's own pipes and file reads come and go.
const WATCHED = new Set(['TCPServerWrap', 'TCPSocketWrap', 'Timeout', 'Immediate']);

/** Counts of watched handles by type, beyond those this process had before the test. */
function resourcesSince(baseline: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) if (WATCHED.has(type)) counts[type] = (counts[type] ?? 0) + 1;
  for (const type of baseline) if (WATCHED.has(type)) counts[type] = (counts[type] ?? 0) - 1;
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
}

async function settle(baseline: string[], timeoutMs = 2_000): Promise<Record<string, number>> {
  const deadline = Date.now() + timeoutMs;
  let left = resourcesSince(baseline);
  while (Object.keys(left).length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    left = resourcesSince(baseline);
  }
  return left;
}

describe('close()', () => {
  it('ends long polls, hung requests and open connections, leaving no handles behind', async () => {
    const baseline = process.getActiveResourcesInfo();
    const telegram = await startTelegramServer();
    const slack = await startSlackServer();
    const webhook = await startWebhookServer();
    const smtp = await startSmtpSink();

    // A long poll, a hung Slack call, a hung webhook and a hung SMTP DATA, all in flight at close.
    const poll = fetch(`${telegram.url}/bot${telegram.token}/getUpdates?timeout=50`).catch((e: unknown) => e);
    slack.faults.hang(1);
    const hungSlack = fetch(`${slack.apiUrl}auth.test`, { method: 'POST', headers: { authorization: `Bearer ${slack.token}` } }).catch(
      (e: unknown) => e,
    );
    webhook.faults.hang(1);
    const hungHook = fetch(webhook.url, { method: 'POST', body: '{}' }).catch((e: unknown) => e);
    smtp.faults.hang(1);
    const hungMail = createTransport(smtp.url)
      .sendMail({ from: 'a@x.test', to: 'b@x.test', text: 'x' })
      .catch((e: unknown) => e);
    const waiting = telegram.waitFor('sendMessage', 60_000).catch((e: unknown) => e);
    await Promise.all([telegram.waitFor('getUpdates'), slack.waitFor('auth.test'), webhook.waitFor(), smtp.waitFor()]);

    const open = resourcesSince(baseline);
    expect(open.TCPServerWrap).toBe(4);
    expect(open.TCPSocketWrap).toBeGreaterThanOrEqual(8);

    const started = Date.now();
    await Promise.all([telegram.close(), slack.close(), webhook.close(), smtp.close()]);
    expect(Date.now() - started).toBeLessThan(1_000);
    for (const result of await Promise.all([poll, hungSlack, hungHook, hungMail, waiting])) expect(result).toBeInstanceOf(Error);

    expect(await settle(baseline)).toEqual({});
    // Closing twice is harmless.
    await telegram.close();
  });
});

const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));

// The strongest check: a plain Node process exits by itself after close(). It runs the built
// package, so it needs `tsc -b` first (the root `pnpm test` does that).
describe('a process using the testkit', () => {
  it('runs against the built package', () => {
    expect(existsSync(dist), `${dist} is missing: build first (pnpm build)`).toBe(true);
  });

  it('exits on its own after close(), even with requests in flight', () => {
    const script = `
      const kit = await import(${JSON.stringify(dist)});
      const [tg, slack, hook, smtp] = await Promise.all([kit.startTelegramServer(), kit.startSlackServer(), kit.startWebhookServer(), kit.startSmtpSink()]);
      hook.faults.hang(1);
      const inFlight = [
        fetch(tg.url + '/bot' + tg.token + '/getUpdates?timeout=50').catch(() => {}),
        fetch(hook.url, { method: 'POST', body: '{}' }).catch(() => {}),
        fetch(slack.webhookUrl, { method: 'POST', body: '{"text":"x"}' }),
      ];
      await Promise.all([tg.waitFor('getUpdates'), hook.waitFor(), slack.waitFor('webhook')]);
      await Promise.all([tg.close(), slack.close(), hook.close(), smtp.close()]);
      await Promise.all(inFlight);
      console.log('closed at ' + Date.now());
    `;
    // Under a long timeout: on a loaded machine the child's start-up alone can take seconds.
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    const exitedAt = Date.now();
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toMatch(/^closed at \d+$/);
    expect(child.status).toBe(0);
    // What would hold the process open — the 50 s long poll, the hung request, a socket — would keep
    // it for 50 s or for ever; closed, it exits at once.
    const closedAt = Number(child.stdout.trim().split(' ').at(-1));
    expect(exitedAt - closedAt).toBeLessThan(2_000);
  });
});

describe('Faults', () => {
  it('queues faults in order and applies each to the next N matching calls', () => {
    const faults = new Faults()
      .rateLimit(2, 5)
      .hang(1, { methods: ['sendPhoto'] })
      .reset(1);
    expect(faults.pending).toBe(4);
    expect(takeFault(faults, 'sendPhoto')).toEqual({ kind: 'rateLimit', retryAfterSec: 5 });
    expect(takeFault(faults, 'getMe')).toEqual({ kind: 'rateLimit', retryAfterSec: 5 });
    expect(takeFault(faults, 'getMe')).toEqual({ kind: 'reset' });
    expect(takeFault(faults, 'getMe')).toBeUndefined();
    expect(takeFault(faults, 'SENDPHOTO')).toEqual({ kind: 'hang' });
    expect(faults.pending).toBe(0);
  });

  it('rejects nonsense counts', () => {
    expect(() => new Faults().rateLimit(0)).toThrow(RangeError);
    expect(() => new Faults().serverError(1.5)).toThrow(RangeError);
    expect(() => new Faults().latency(-1)).toThrow(RangeError);
  });
});
