// Issue 9 on one machine: four runs of a sweep, each its own process, on one bot token and one
// Slack channel. Exactly one process polls Telegram; commands reach the run they name and no
// other; a killed poller is replaced; the channel's ~1 post/s is shared by all four.
import { type SlackServer, startSlackServer, startTelegramServer, type TelegramServer } from '@epochcast/testkit';
import { afterEach, describe, expect, test } from 'vitest';
import {
  ask,
  CHANNEL,
  CHAT,
  describeRuns,
  expectOnePostPerSlot,
  finishSignal,
  keyboard,
  pollers,
  runIds,
  type SweepChild,
  slackEnv,
  startRun,
  telegramEnv,
  text,
  until,
} from './helpers.js';

const NAMES = ['sweep-a', 'sweep-b', 'sweep-c', 'sweep-d'] as const;
let children: SweepChild[] = [];
let servers: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const c of children) if (c.process.exitCode === null && c.process.signalCode === null) c.process.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
  await Promise.all(servers.map((s) => s.close()));
  children = [];
  servers = [];
});

describe.each(['older', 'newer'] as const)('a sweep of four processes on one machine (409 answered to the %s poller)', (conflictLoser) => {
  test('one poller, commands routed by run, SIGKILL takeover, one shared Slack budget', async () => {
    const tg: TelegramServer = await startTelegramServer({ conflictLoser });
    const slack: SlackServer = await startSlackServer();
    servers = [tg, slack];
    const finish = await finishSignal();
    servers.push({ close: finish.remove });
    // The chat's pace is shortened: this test is about routing and polling (the channel's budget,
    // kept at Slack's 1050 ms, is the shared pace under test). 1000 epochs of 100 ms outlast the
    // test; once it finishes them, the rest go at full speed.
    const env = {
      ...telegramEnv(tg),
      ...slackEnv(slack),
      TELEGRAM_MIN_SEND_INTERVAL_MS: '300',
      EPOCHS: '1000',
      EPOCH_MS: '100',
      FINISH_FILE: finish.path,
    };
    children = NAMES.map((name) => startRun(name, env));

    // All four announce themselves; then exactly one of them polls.
    const ids = await until(() => {
      const found = runIds(tg, NAMES);
      return found.size === NAMES.length && found;
    }, 'four start messages');
    await until(
      () => children.every((c) => c.latest()) && pollers(children).length === 1,
      'exactly one poller',
      15_000,
      () => describeRuns(children),
    );
    const id = (name: string): string => ids.get(name) ?? '';

    // /runs: every run, by name and id.
    const [runs] = await ask(tg, '/runs', 'the /runs reply');
    expect(text(runs)).toMatch(/^🏃 4 active runs\n/);
    for (const name of NAMES) expect(text(runs)).toContain(`• ${name} ${id(name)} · `);

    // /status with a selector: one answer, from that run.
    const [status] = await ask(tg, '/status sweep-b', 'the status of sweep-b');
    expect(text(status)).toMatch(new RegExp(`^📊 sweep-b \\(${id('sweep-b')}\\) · epoch \\d+/1000`));

    // /status without one: a keyboard of the four runs; pressing sweep-c's button asks sweep-c.
    const [picker] = await ask(tg, '/status', 'the run picker');
    expect(text(picker)).toBe('4 runs are active: /status for which one?');
    const buttons = keyboard(picker);
    expect(buttons.map((b) => b.text).sort()).toEqual(NAMES.map((n) => `${n} (${id(n)})`));
    const forC = buttons.find((b) => b.text.startsWith('sweep-c'));
    tg.pushCallbackQuery({ chatId: CHAT, messageId: picker?.message_id ?? 0, data: forC?.callback_data ?? '' });
    const picked = await until(
      () => tg.messages(CHAT).find((m) => text(m).startsWith(`📊 sweep-c (${id('sweep-c')})`)),
      'the status of the picked run',
    );
    expect(picked.reply_to_message?.text).toBe('/status');

    // /lr with a selector changes that run's lr and no other's.
    const [lrReply] = await ask(tg, '/lr sweep-a 0.003', 'the /lr reply');
    expect(text(lrReply)).toBe(`lr set to 0.003 for sweep-a (${id('sweep-a')}) from the next batch (was 0.01).`);
    await until(() => children[0]?.latest()?.lr === 0.003, 'sweep-a training at the new lr');
    for (const other of children.slice(1)) expect(other.latest()?.lr).toBe(0.01);

    // /stop sweep-d: the question's buttons carry sweep-d's id; "Yes" stops sweep-d only.
    const [question] = await ask(tg, '/stop sweep-d', 'the stop question');
    const yes = keyboard(question)[0]?.callback_data ?? '';
    expect(yes).toContain(id('sweep-d'));
    tg.pushCallbackQuery({ chatId: CHAT, messageId: question?.message_id ?? 0, data: yes });
    const stopped = children[3] as SweepChild;
    // Its end messages wait their turn on the chat's and the channel's budgets (the other three keep
    // sending, each process slower on a loaded machine), then it exits.
    const pressedAt = tg.received.length;
    const done = await until(
      () => stopped.lines.find((l) => l.event === 'done'),
      'sweep-d to stop',
      60_000,
      () =>
        `${describeRuns(children)}\nTelegram since the press: ${tg.received
          .slice(pressedAt)
          .map((c) => `${c.method}:${c.status ?? c.fault ?? 'pending'}`)
          .join(' ')}`,
    );
    expect(done).toMatchObject({ status: 'stopped', stopReason: expect.stringMatching(/^stopped from Telegram by /) });
    for (const other of children.slice(0, 3)) expect(other.lines.some((l) => l.event === 'done')).toBe(false);

    // SIGKILL whichever process polls now: another takes over and answers within seconds.
    const leader = await until(() => pollers(children).find((c) => c !== stopped), 'a poller among the running three');
    leader.process.kill('SIGKILL');
    await leader.exited;
    const killedAt = performance.now();
    const [first] = await ask(tg, '/runs', '/runs answered by the new poller');
    const takeoverMs = performance.now() - killedAt;
    expect(takeoverMs).toBeLessThan(8000);
    // The survivors re-join the new hub within a moment: /runs soon lists exactly them.
    let after = first;
    for (let i = 0; i < 10 && !/^🏃 2 active runs\n/.test(text(after)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      [after] = await ask(tg, '/runs', '/runs once the survivors re-joined');
    }
    const alive = children.filter((c) => c !== leader && c !== stopped).map((c) => c.name);
    expect(text(after)).toMatch(/^🏃 2 active runs\n/);
    // Still mid-sweep: the survivors had epochs left when the poller died.
    for (const c of children.filter((c) => c !== leader && c !== stopped)) expect(c.lines.some((l) => l.event === 'done')).toBe(false);
    for (const name of alive) expect(text(after)).toContain(`• ${name} ${id(name)}`);
    expect(text(after)).not.toContain(leader.name);
    await until(() => pollers(children).length === 1, 'one poller among the survivors');

    // The two survivors finish: every run that was not killed delivered its end message.
    await finish.finish();
    await Promise.all(children.map((c) => c.exited));
    for (const c of children.filter((c) => c !== leader)) {
      expect(c.lines.at(-1)?.event, `${c.name}: ${c.stderr()}`).toBe('done');
      const end = tg.messages(CHAT).find((m) => text(m).includes(`${c.name} (${id(c.name)})`) && /^(✅|⏹)/u.test(text(m)));
      expect(end, `the end message of ${c.name}`).toBeDefined();
    }
    // No 409 storm: a poller hand-over costs at most one conflict.
    const conflicts = tg.received.filter((c) => c.method === 'getUpdates' && c.status === 409);
    expect(conflicts.length).toBeLessThanOrEqual(1);
    // Nobody printed a warning about another poller.
    for (const c of children) expect(c.stderr()).not.toMatch(/409|another process/);

    // Slack: each run keeps its own thread, and the channel got at most one post per second.
    const posts = slack.received.filter((c) => c.method === 'chat.postMessage' && c.status === 200).map((p) => p.at);
    // ~1 post/s for the channel as a whole, each post in a slot of its own on the shared budget.
    expectOnePostPerSlot(posts);
    const parents = slack.messages(CHANNEL).filter((m) => !m.thread_ts || m.thread_ts === m.ts);
    for (const name of NAMES) {
      const parent = parents.filter((m) => m.text.includes(name));
      expect(parent, `one parent message for ${name}`).toHaveLength(1);
      const replies = slack.messages(CHANNEL).filter((m) => m.thread_ts === parent[0]?.ts && m.ts !== parent[0]?.ts);
      for (const r of replies) expect(r.text).toContain(name);
    }
  }, 180_000);
});
