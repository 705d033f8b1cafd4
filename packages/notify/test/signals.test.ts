import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Callback, Learner } from '@epochcast/core';
import { toyLoaders, toyModel } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ScriptedNotifier } from './scripted-notifier.js';

const received: { event: string; status: string; stopReason?: string }[] = [];
const server = createServer((req: IncomingMessage, res) => {
  let body = '';
  req.on('data', (chunk) => {
    body += chunk;
  });
  req.on('end', () => {
    const n = JSON.parse(body) as { event: string; status: string; stopReason?: string };
    received.push({ event: n.event, status: n.status, stopReason: n.stopReason });
    res.end('ok');
  });
});

beforeAll(async () => {
  await tf.setBackend('cpu');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const fixture = fileURLToPath(new URL('./fixtures/interrupted-run.mjs', import.meta.url));

function runUntilTraining(): Promise<{
  kill: (signal: NodeJS.Signals) => void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>;
}> {
  const { port } = server.address() as AddressInfo;
  const child = spawn(process.execPath, [fixture], {
    env: { ...process.env, HOOK_URL: `http://127.0.0.1:${port}/hook` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stdout })),
  );
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('training\n')) resolve({ kill: (s) => child.kill(s), exited });
    });
    child.on('exit', () => reject(new Error(`child exited before training: ${stdout}`)));
  });
}

describe('Ctrl-C and SIGTERM', () => {
  test.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    '%s mid-training: the interrupt message is delivered, then the process dies of the signal (exit %i)',
    async (signal, _exitCode) => {
      received.length = 0;
      const run = await runUntilTraining();
      const sentAt = performance.now();
      run.kill(signal);
      const { code, signal: diedOf, stdout } = await run.exited;
      // Killed by the signal itself (a shell shows 128 + its number), not a normal exit.
      expect({ code, diedOf }).toEqual({ code: null, diedOf: signal });
      expect(stdout).not.toContain('fit returned');
      expect(performance.now() - sentAt).toBeLessThan(5000);
      expect(received.map((r) => r.event)).toEqual(['start', 'interrupt']);
      expect(received[1]).toMatchObject({ status: 'interrupted', stopReason: `interrupted by ${signal}` });
    },
  );

  test('no signal handler is left installed after fit returns', async () => {
    const count = () => [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
    const before = count();
    let during: number[] = [];
    class Look extends Callback {
      override onEpochEnd() {
        during = count();
      }
    }
    // Two notifiers share one guard: one listener per signal while training, none after.
    const callbacks = [new ScriptedNotifier(), new ScriptedNotifier(), new Look()];
    await new Learner({ model: toyModel(), data: toyLoaders(64, 32), loss: 'categoricalCrossentropy', callbacks }).fit(2);
    expect(during).toEqual(before.map((n) => n + 1));
    expect(count()).toEqual(before);
  });
});
