// Scenario 5 — a sweep: 8 runs at once, each its own process (examples/sweep's run script), on one
// Telegram bot and chat and one Slack channel, against fresh testkit servers. While they train, a
// simulated user reads each run's id from its start message and sends it `/status <id>`, then
// stops one run through `/stop` → run picker → "Yes, stop", then asks `/runs`. Measured from the
// servers' records: the shared pace per chat and per channel, 409s (two pollers at once), whether
// each answer came from the run addressed, and that every run's last message got through.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Button,
  buttonsOf,
  ChatUser,
  closestPair,
  conflicts,
  type Exchange,
  type NamedRun,
  pollGaps,
  type RunOutcome,
  type RunSpec,
  rateStats,
  repliesTo,
  route,
  runEnv,
  slackWrites,
  spawnRun,
  telegramChatWrites,
} from '@epochcast/example-sweep';
import { type SlackServer, startSlackServer, startTelegramServer, type TelegramServer, type TgMessage } from '@epochcast/testkit';
import { fmt, mark, median, progress, table } from '../harness.js';

export const SWEEP_RUNS = 8;
/** ~250 ms epochs with 8 runs on 2 cores: a run lasts ~20 s, and its epoch messages pile up (1 send/s for all 8). */
export const SWEEP_EPOCHS = 70;
const CHAT = 4343;
const CHANNEL = { id: 'C0SWEEPB', name: 'bench-sweep' };
// Peak learning rates from 1e-3 to 2e-1, a real sweep's spread (the messages do not depend on it).
const LRS = [1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 1e-1, 2e-1];

/** The runs: MNIST MLP 784-32-10 on 1,000 digits (800 train = 13 batches, 200 valid). */
function specs(epochs: number): RunSpec[] {
  return LRS.slice(0, SWEEP_RUNS).map((lrMax, i) => ({
    name: `sweep-${i + 1}`,
    lrMax,
    samples: 1000,
    epochs,
    hidden: 32,
    batchSize: 64,
  }));
}

const describeSweep = (epochs: number) =>
  `${SWEEP_RUNS} child processes started together, each examples/sweep's run script: MNIST MLP 784-32-10, 800 train / 200 valid digits, batch 64, fitOneCycle(${epochs}) at its own lrMax (${LRS.join(', ')}); ` +
  'TelegramCallback + SlackCallback from the environment, plugin defaults (epoch messages every epoch, 1 write/s per chat and per channel shared by the runs, plots on), ' +
  'all on one bot token + chat and one channel of fresh testkit servers; the runs coordinate through the local socket hub (no EPOCHCAST_REDIS_URL)';

interface Conversation {
  statuses: Exchange[];
  stop: Exchange | undefined;
  stopped: NamedRun | undefined;
  /** The /runs sent once the stop is confirmed. */
  runsAfterStop: Exchange | undefined;
  /** Message ids of the bot's keyboards (picker, Yes/No): edits of them answer a command. */
  keyboards: Set<number>;
}

export async function sweepScenario(epochs = SWEEP_EPOCHS): Promise<string> {
  const telegram = await startTelegramServer();
  const slack = await startSlackServer({ token: 'xoxb-bench-sweep', channels: [CHANNEL] });
  try {
    return await measure(telegram, slack, epochs);
  } finally {
    await Promise.all([telegram.close(), slack.close()]);
  }
}

async function measure(telegram: TelegramServer, slack: SlackServer, epochs: number): Promise<string> {
  const env = {
    TELEGRAM_BOT_TOKEN: telegram.token,
    TELEGRAM_CHAT_ID: String(CHAT),
    TELEGRAM_API_ROOT: telegram.url,
    SLACK_BOT_TOKEN: slack.token,
    SLACK_CHANNEL: `#${CHANNEL.name}`,
    SLACK_API_URL: slack.apiUrl,
  };
  const drop = ['SLACK_WEBHOOK_URL', 'EPOCHCAST_DISABLE', 'EPOCHCAST_REDIS_URL'];
  const warnings: string[] = [];
  const began = performance.now();
  const runs = specs(epochs).map((s) => spawnRun(s, runEnv(s, env, drop), (line) => warnings.push(`[${s.name}] ${line}`)));
  const allExited = Promise.all(runs.map((r) => r.finished));
  // Once every run has exited, no answer can come: the user stops waiting.
  const user = new ChatUser(telegram, CHAT, allExited);
  const talked: Conversation = { statuses: [], stop: undefined, stopped: undefined, runsAfterStop: undefined, keyboards: new Set() };
  // Whatever the user got through before a reply failed to come is measured all the same.
  const talk = converse(user, SWEEP_RUNS, talked).catch((error: unknown) => {
    warnings.push(`simulated user: ${error instanceof Error ? error.message : String(error)}`);
  });
  let exited = 0;
  const outcomes = await Promise.all(
    runs.map((r) =>
      r.finished.then((o) => {
        exited += 1;
        progress(`sweep: ${o.spec.name} exited (${o.code ?? o.signal}) after ${fmt(o.wallMs / 1000, 1)} s, ${exited}/${SWEEP_RUNS}`);
        return o;
      }),
    ),
  );
  const wallMs = performance.now() - began;
  await talk;
  return report(telegram, slack, outcomes, talked, wallMs, warnings, epochs);
}

/**
 * The user: `/status <id>` to each run as its start message shows up, then `/stop` without a run
 * → picker → the first run listed (the oldest, usually the one polling for all) → "Yes, stop",
 * then `/runs`. Each wait ends when the sweep does: an answer that never came is reported as such.
 */
async function converse(user: ChatUser, count: number, talked: Conversation): Promise<void> {
  const answer = (match: (m: TgMessage) => boolean, afterId: number, what: string): Promise<TgMessage> =>
    user.waitForBot(match, afterId, 120_000).catch(() => {
      throw new Error(`no answer to ${what} before the last run exited`);
    });
  const send = (command: string, meant?: NamedRun): Exchange => {
    const message = user.say(command);
    return { command, messageId: message.message_id, sentAt: Date.now(), ...(meant ? { meant } : {}) };
  };
  const seen = new Set<string>();
  const deadline = Date.now() + 120_000;
  while (seen.size < count && Date.now() < deadline && !user.over) {
    for (const m of user.botMessages()) {
      const start = /^⏳ (\S+) \(([0-9a-f]{8})\) started/.exec(m.text ?? '');
      if (!start || seen.has(start[2] ?? '')) continue;
      const run = { name: start[1] ?? '', id: start[2] ?? '' };
      seen.add(run.id);
      talked.statuses.push(send(`/status ${run.id}`, run));
    }
    await sleep(50);
  }
  progress(`sweep: /status sent to ${seen.size} runs as their start messages arrived`);

  const stop = send('/stop');
  talked.stop = stop;
  const picker = await answer(
    (m) => buttonsOf(m).some((b) => b.callback_data.startsWith('ec:pick:')),
    stop.messageId,
    '/stop (the picker)',
  );
  talked.keyboards.add(picker.message_id);
  const button = buttonsOf(picker)[0] as Button;
  const stopped = { name: button.text.replace(/ \([0-9a-f]{8}\)$/, ''), id: button.callback_data.split(':')[2] ?? '' };
  talked.stopped = stopped;
  stop.meant = stopped;
  stop.via = picker;
  user.press(picker, button);
  const question = await answer(
    (m) => buttonsOf(m).some((b) => b.callback_data.startsWith(`ec:stop:${stopped.id}:`)),
    picker.message_id,
    `the pick of ${stopped.name} (its Yes/No question)`,
  );
  talked.keyboards.add(question.message_id);
  const yes = buttonsOf(question).find((b) => b.callback_data.endsWith(':y')) as Button;
  user.press(question, yes);
  await answer(
    (m) => m.message_id === question.message_id && (m.text ?? '').startsWith('⏹ Stopping'),
    question.message_id - 1,
    '"Yes, stop"',
  );
  progress(`sweep: stopped ${stopped.name} (${stopped.id}) through the picker`);
  talked.runsAfterStop = send('/runs');
  await answer((m) => /active runs?|No run is active/.test(m.text ?? ''), talked.runsAfterStop.messageId, '/runs after the stop');
}

function report(
  telegram: TelegramServer,
  slack: SlackServer,
  outcomes: readonly RunOutcome[],
  talked: Conversation,
  wallMs: number,
  warnings: readonly string[],
  epochs: number,
): string {
  const runs: NamedRun[] = outcomes.flatMap((o) => (o.result?.runId ? [{ name: o.spec.name, id: o.result.runId }] : []));
  const exchanges = [...talked.statuses, ...(talked.stop ? [talked.stop] : [])];
  const routed = exchanges.map((e) => route(telegram, CHAT, e, runs));
  const correct = routed.filter((r) => r.correct).length;
  const stoppedOutcome = outcomes.find((o) => o.result?.runId === talked.stopped?.id);
  const stopWorked = stoppedOutcome?.result?.status === 'stopped';
  // Latency: command pushed → the answer's arrival at the server (for the stop: the Yes/No question).
  const latency = (e: Exchange) => {
    const answers = [...repliesTo(telegram, CHAT, e.messageId), ...(e.via ? repliesTo(telegram, CHAT, e.via.message_id) : [])];
    const first = answers.find((c) => !/which one\?/.test(String(c.params.text ?? '')));
    return first ? first.at - e.sentAt : Number.NaN;
  };
  const statusLatency = talked.statuses.map(latency);
  const runsAfterStop = talked.runsAfterStop;
  const runsAfterStopMs = runsAfterStop ? latency(runsAfterStop) : Number.NaN;

  // The chat: what the runs sent on their own (start, epochs, end, plot) and all writes with the answers to commands.
  const writes = telegramChatWrites(telegram, CHAT);
  const isAnswer = (params: Record<string, unknown>) =>
    params.reply_parameters !== undefined || talked.keyboards.has(Number(params.message_id));
  const tgAll = rateStats(writes.map((c) => c.at));
  const tgOwn = rateStats(writes.filter((c) => !isAnswer(c.params)).map((c) => c.at));
  const slackCalls = slackWrites(slack);
  const slPosts = rateStats(slackCalls.posts.map((c) => c.at));
  const slAll = rateStats(slackCalls.all.map((c) => c.at));
  const conflictCount = conflicts(telegram);

  // Last messages: a ✅/⏹ message naming the run in the chat; its summary broadcast from its thread in Slack.
  const chat = telegram.messages(CHAT).filter((m) => m.from?.is_bot && m.text !== undefined);
  const tgEnds = runs.filter((r) =>
    chat.some((m) => /^(✅|⏹) /.test(m.text ?? '') && (m.text ?? '').includes(`run: ${r.name} (${r.id})`)),
  ).length;
  const slackEnds = runs.filter((r) =>
    slack.messages(CHANNEL.name).some((m) => m.reply_broadcast && m.text.includes(r.name) && /completed|stopped/.test(m.text)),
  ).length;
  const gaps = pollGaps(outcomes);
  const leaders = outcomes
    .flatMap((o) => (o.result?.ledCommands ?? []).map((l) => ({ name: o.spec.name, ...l })))
    .sort((a, b) => a.from - b.from);
  const fitStart = Math.min(...outcomes.flatMap((o) => (o.result ? [o.result.fitStartedAt] : [])));
  const rel = (t: number) => fmt((t - fitStart) / 1000, 1);
  const trained = outcomes.flatMap((o) => (o.result ? [o.result] : []));
  const epochMs = trained.filter((r) => r.status === 'completed').map((r) => r.trainMs / Math.max(r.epochs, 1));
  const fitSpan = trained.map((r) => (r.fitEndedAt - r.fitStartedAt) / 1000);
  const beginWait = trained.map((r) => r.beginWaitMs / 1000);
  const failed = trained.flatMap((r) =>
    Object.entries(r.delivery).flatMap(([service, d]) => d.failed.map((f) => `${r.name} ${service} ${f}`)),
  );

  // Which two sends came closest: a late sender (its process starved of CPU past its slot) or a lost booking.
  const label = (at: number, method: string, text: unknown) => {
    const run = runs.find((r) => String(text ?? '').includes(r.name));
    return {
      at,
      label: `${rel(at)} s ${method} ${run?.name ?? ''} "${String(text ?? '')
        .replace(/<[^>]+>/g, '')
        .slice(0, 28)}…"`,
    };
  };
  const tgClosest = closestPair(
    writes.filter((c) => !isAnswer(c.params)).map((c) => label(c.at, c.method, c.params.text ?? c.params.caption)),
  );
  const slClosest = closestPair(slackCalls.posts.map((c) => label(c.at, c.method, c.params.text)));
  const pair = (p: ReturnType<typeof closestPair>) => (p ? p.map((c) => c.label).join(' → ') : '–');
  const perSec = (r: { meanPerSec: number }) => fmt(r.meanPerSec, 2);
  const rows = [
    [
      String(SWEEP_RUNS),
      `${fmt(wallMs / 1000, 1)} s`,
      `${fmt(Math.min(...fitSpan), 1)}–${fmt(Math.max(...fitSpan), 1)} s`,
      `${perSec(tgAll)} · ${tgAll.maxInWindow}`,
      `${perSec(tgOwn)} · ${tgOwn.maxInWindow} · ${fmt(tgOwn.minGapMs, 0)} ms`,
      `${perSec(slPosts)} · ${slPosts.maxInWindow} · ${fmt(slPosts.minGapMs, 0)} ms`,
      `${perSec(slAll)} · ${slAll.maxInWindow}`,
      String(conflictCount),
      `${correct}/${exchanges.length}`,
      `${tgEnds}/${SWEEP_RUNS} · ${slackEnds}/${SWEEP_RUNS}`,
    ],
  ];
  // Paced 1050 ms apart by the shared budget; arrivals may land a little closer (a sender starved of CPU past its slot).
  const tgOk = tgOwn.minGapMs >= 950;
  const slOk = slPosts.minGapMs >= 950;
  const routedOk = correct === exchanges.length && exchanges.length === SWEEP_RUNS + 1 && stopWorked;
  const endsOk = tgEnds === SWEEP_RUNS && slackEnds === SWEEP_RUNS;
  const wrong = routed.filter((r) => !r.correct);
  return [
    describeSweep(epochs),
    `wall time ${fmt(wallMs / 1000, 1)} s from spawning the 8 processes to the last exit; median epoch ${fmt(median(epochMs), 0)} ms (completed runs); ` +
      `the user's commands: /status <id> to each run as its start message arrived, /stop → picker → ${talked.stopped?.name ?? '?'} → Yes, then /runs`,
    '',
    table(
      [
        'runs',
        'duration',
        'fits',
        'Telegram writes/s per chat: mean · max in any 1 s',
        'the runs’ own messages: mean · max in 1 s · least gap',
        'Slack posts/s per channel: mean · max in 1 s · least gap',
        'Slack all writes: mean · max in 1 s',
        '409s',
        'commands routed correctly',
        'end messages Telegram · Slack',
      ],
      rows,
      1,
    ),
    '',
    `Telegram: ${tgAll.count} writes to the chat (${tgOwn.count} the runs’ own: start, epoch edits, end, plot; the rest answers to commands), least gap ${fmt(tgAll.minGapMs, 0)} ms (own messages ${fmt(tgOwn.minGapMs, 0)} ms); ` +
      `Slack: ${slPosts.count} chat.postMessage, least gap ${fmt(slPosts.minGapMs, 0)} ms; ${slAll.count} writes with chat.update and plot shares, least gap ${fmt(slAll.minGapMs, 0)} ms`,
    `closest two of the runs' own Telegram messages: ${pair(tgClosest)}; closest two Slack posts: ${pair(slClosest)}`,
    `answers to /status <id>: median ${fmt(median(statusLatency), 0)} ms, max ${fmt(Math.max(...statusLatency), 0)} ms after the command; ` +
      `/stop: ${talked.stopped ? `${talked.stopped.name} ended ${stoppedOutcome?.result?.status ?? '?'} after ${stoppedOutcome?.result?.epochs ?? '?'}/${epochs} epochs` : 'not sent'}; ` +
      `/runs right after the stop: ${Number.isFinite(runsAfterStopMs) ? `answered in ${fmt(runsAfterStopMs / 1000, 1)} s` : 'no answer while the sweep lasted'}`,
    `from a fit's start to its first batch (the notifiers' onTrainBegin: token checks, Slack's start message on the shared budget): ${fmt(Math.min(...beginWait), 1)}–${fmt(Math.max(...beginWait), 1)} s`,
    `getUpdates polled by (s from the first fit's start): ${leaders.map((l) => `${l.name} ${rel(l.from)}–${rel(l.to)}`).join(', ') || 'no run'}; ` +
      `runs training while none polled: ${fmt(gaps.totalMs / 1000, 1)} s in all, longest ${fmt(gaps.longestMs / 1000, 1)} s`,
    ...wrong.map(
      (r) =>
        `misrouted: ${r.exchange.command} meant ${r.exchange.meant?.name ?? '?'}, answered by ${r.answeredBy.map((x) => x.name).join(', ') || 'nobody'}`,
    ),
    '',
    `sweep: the runs' own Telegram messages least gap ${fmt(tgOwn.minGapMs, 0)} ms (target ≥ 950: ${mark(tgOk)}); Slack posts least gap ${fmt(slPosts.minGapMs, 0)} ms (target ≥ 950: ${mark(slOk)}); ` +
      `409s ${conflictCount} (target ≤ 1: ${mark(conflictCount <= 1)}); commands routed ${correct}/${exchanges.length}${stopWorked ? ', the stop stopped its run' : ', the stop did NOT stop its run'} (${mark(routedOk)}); ` +
      `end messages ${tgEnds + slackEnds}/${2 * SWEEP_RUNS} (${mark(endsOk)}); ` +
      `a poller while any run trained (target: gaps < 2 s: ${mark(gaps.longestMs < 2000)})`,
    failed.length ? `messages given up on: ${failed.join(' | ')}` : '',
    warnings.length ? `warnings from the runs: ${warnings.join(' | ')}` : '',
  ]
    .filter((l, i, a) => l !== '' || a[i - 1] !== '')
    .join('\n');
}
