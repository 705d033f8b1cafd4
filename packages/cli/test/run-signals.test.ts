// Issue 15, finding 10: a Ctrl-C in a terminal delivered SIGINT to the command twice (from the
// terminal, and passed on by epochcast); SIGHUP and SIGQUIT were not passed on — epochcast died,
// the command ran on orphaned and no end message was sent. The command now runs in its own process
// group; epochcast passes SIGINT/SIGTERM/SIGHUP/SIGQUIT on to that group once per delivery,
// SIGKILLs it after --kill-after seconds when it does not end, and always reports the end.
import { readFileSync } from 'node:fs';
import type { Notification } from '@epochcast/notify';
import { startWebhookServer, type WebhookServer } from '@epochcast/testkit';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { type CliRun, nodeScript, startCli } from './helpers.js';

let hook: WebhookServer;
const started: CliRun[] = [];
const pids: number[] = [];

beforeEach(async () => {
  hook = await startWebhookServer();
});
afterEach(async () => {
  // Whatever a failed test left running goes, so it cannot disturb the next one.
  for (const pid of pids.splice(0)) kill(pid, 'SIGKILL');
  for (const run of started.splice(0)) kill(-run.pid, 'SIGKILL');
  await hook.close();
});

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Starts epochcast as a terminal starts a job: the leader of its own process group. */
function startJob(args: readonly string[]): CliRun {
  const run = startCli(['run', '--webhook', hook.url, ...args], { detached: true });
  started.push(run);
  return run;
}

/** The process's state letter from /proc (R, S, T stopped, Z zombie), or undefined once it is gone. */
function state(pid: number): string | undefined {
  try {
    return /^\d+ \(.*\) (\S)/s.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** Alive: exists and is not a zombie waiting for a parent that reaps orphans. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return process.platform !== 'linux' || (state(pid) ?? 'Z') !== 'Z';
}

async function until(check: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function pidIn(stdout: string, label: string): number {
  const pid = Number(new RegExp(`${label} (\\d+)`).exec(stdout)?.[1]);
  expect(pid).toBeGreaterThan(0);
  pids.push(pid);
  return pid;
}

const endOf = (): Notification | undefined => hook.received.map((r) => r.body as Notification).find((n) => n.event !== 'start');

// Counts the SIGINTs it gets; 700 ms after the last one it prints the count and dies of SIGINT.
const COUNT_SIGINTS = nodeScript(
  "let n = 0; let timer; process.on('SIGINT', () => { n++; clearTimeout(timer); timer = setTimeout(() => {" +
    "  console.log('SIGINT count ' + n); process.removeAllListeners('SIGINT'); process.kill(process.pid, 'SIGINT'); }, 700); });" +
    "console.log('ready'); setInterval(() => {}, 1000)",
);

/** `node -e script` without core dumps (SIGQUIT's default action dumps one). */
const noCore = (script: string): string[] => ['sh', '-c', 'ulimit -c 0; exec "$0" "$@"', ...nodeScript(script)];

describe.skipIf(process.platform === 'win32')('signals to epochcast run', () => {
  test('Ctrl-C in a terminal (SIGINT to the whole foreground group) reaches the command exactly once per press; exit 130, reported as an interrupt', async () => {
    const run = startJob(['--', ...COUNT_SIGINTS]);
    await run.waitForOutput('ready');
    await hook.waitFor((r) => (r.body as Notification).event === 'start');
    // What the terminal does on Ctrl-C: SIGINT to every process of the foreground group. Three
    // presses, because two SIGINTs that reach a process before it runs merge into one: a single
    // press could hide the double delivery on a busy machine.
    for (let press = 0; press < 3; press++) {
      process.kill(-run.pid, 'SIGINT');
      await new Promise((r) => setTimeout(r, 250));
    }
    const r = await run.done;
    expect(r.stdout).toContain('SIGINT count 3\n');
    expect(r.code, r.stderr).toBe(130);
    expect(endOf()).toMatchObject({ event: 'interrupt', status: 'interrupted', stopReason: 'interrupted by SIGINT' });
  });

  test.each([
    ['SIGHUP', 129],
    ['SIGQUIT', 131],
  ] as const)(
    '%s to epochcast (terminal closed, Ctrl-\\) is passed on: the command dies of it, no orphan is left, the end is reported (exit %i)',
    async (signal, code) => {
      const run = startJob(['--', ...noCore("console.log('command ' + process.pid); setInterval(() => {}, 1000)")]);
      await run.waitForOutput('command ');
      const command = pidIn(run.stdout(), 'command');
      await hook.waitFor((r) => (r.body as Notification).event === 'start');
      process.kill(run.pid, signal);
      const r = await run.done;
      expect(r.code, r.stderr).toBe(code);
      expect(r.stderr).not.toMatch(/Error|at .*\.js:\d+/);
      expect(alive(command)).toBe(false);
      expect(endOf()).toMatchObject({
        event: 'interrupt',
        status: 'interrupted',
        stopReason: `interrupted by ${signal}`,
        error: { name: `killed by ${signal}` },
      });
    },
  );

  test('a process the command started, that ignores SIGHUP and left the output pipes, is not left behind when epochcast is told to stop', async () => {
    const grandchild = "process.on('SIGHUP', () => {}); setInterval(() => {}, 1000)";
    const script =
      "const { spawn } = require('node:child_process');" +
      `const g = spawn(process.execPath, ['-e', ${JSON.stringify(grandchild)}], { stdio: 'ignore' });` +
      "console.log('grandchild ' + g.pid); setInterval(() => {}, 1000)";
    const run = startJob(['--', ...nodeScript(script)]);
    await run.waitForOutput('grandchild ');
    const orphan = pidIn(run.stdout(), 'grandchild');
    await hook.waitFor((r) => (r.body as Notification).event === 'start');
    process.kill(run.pid, 'SIGHUP');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(129);
    await until(() => !alive(orphan), 'the grandchild is gone', 2000);
    expect(endOf()).toMatchObject({ event: 'interrupt', stopReason: 'interrupted by SIGHUP' });
  });

  test('a command that ignores SIGTERM does not keep epochcast waiting: SIGKILL after --kill-after 1, exit 137, reported as interrupted then killed', async () => {
    const run = startJob([
      '--kill-after',
      '1',
      '--',
      ...nodeScript(
        "process.on('SIGTERM', () => console.log('ignoring SIGTERM')); console.log('command ' + process.pid); setInterval(() => {}, 1000)",
      ),
    ]);
    await run.waitForOutput('command ');
    const command = pidIn(run.stdout(), 'command');
    await hook.waitFor((r) => (r.body as Notification).event === 'start');
    const sentAt = performance.now();
    process.kill(run.pid, 'SIGTERM');
    const r = await run.done;
    const took = performance.now() - sentAt;
    expect(r.stdout).toContain('ignoring SIGTERM');
    expect(r.code, r.stderr).toBe(137);
    expect(took).toBeGreaterThan(900);
    expect(took).toBeLessThan(5000);
    expect(alive(command)).toBe(false);
    expect(endOf()).toMatchObject({
      event: 'interrupt',
      status: 'interrupted',
      stopReason: 'interrupted by SIGTERM; still running 1 s later, killed with SIGKILL',
      error: { name: 'killed by SIGKILL' },
    });
  });

  test.skipIf(process.platform !== 'linux')(
    'Ctrl-Z (SIGTSTP) stops the command with epochcast, and SIGCONT (fg) resumes both',
    async () => {
      const run = startJob(['--', ...nodeScript("console.log('command ' + process.pid); setInterval(() => console.log('tick'), 100)")]);
      await run.waitForOutput('command ');
      const command = pidIn(run.stdout(), 'command');
      process.kill(-run.pid, 'SIGTSTP');
      await until(() => state(command) === 'T' && state(run.pid) === 'T', 'the command and epochcast are stopped');
      process.kill(-run.pid, 'SIGCONT');
      await until(() => state(command) !== 'T' && state(run.pid) !== 'T', 'both run again');
      const ticks = (run.stdout().match(/tick/g) ?? []).length;
      await until(() => (run.stdout().match(/tick/g) ?? []).length > ticks + 2, 'the command prints again');
      process.kill(run.pid, 'SIGTERM');
      expect((await run.done).code).toBe(143);
    },
  );
});
