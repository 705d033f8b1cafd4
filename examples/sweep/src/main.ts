#!/usr/bin/env node
import path from 'node:path';
// A learning-rate sweep: four runs of the MNIST MLP (one-cycle lrMax 3e-3, 1e-2, 3e-2, 1e-1), each
// its own process (src/run.ts), all reporting to one Telegram chat and one Slack channel. The runs
// find each other by themselves — same bot token, same channel — through a socket on this machine
// (or Redis across machines, EPOCHCAST_REDIS_URL): one of them polls Telegram for all and forwards
// each command to the run it names, and their messages share each service's ~1 per second.
//
// With TELEGRAM_BOT_TOKEN (+ TELEGRAM_CHAT_ID) or SLACK_BOT_TOKEN (+ SLACK_CHANNEL) set, the runs
// report there: talk to the bot while they train (/runs, /status, /status lr=3e-2, /stop …).
// Without, the launcher starts the testkit's local Telegram and Slack servers, plays the user
// while the runs train — /runs, /status answered through the run picker, /lr <run name>,
// /status <run id> — and prints the results, the chat, the channel and what it measured.
//
//   pnpm build && pnpm --filter @epochcast/example-sweep start
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  type SlackMessage,
  type SlackServer,
  startSlackServer,
  startTelegramServer,
  type TelegramServer,
  type TgMessage,
} from '@epochcast/testkit';
import {
  busiestWindow,
  channelSummary,
  chatTranscript,
  closestPair,
  conflicts,
  type Exchange,
  fmt,
  type NamedRun,
  pollGaps,
  type RateStats,
  type Routed,
  rateStats,
  resultsTable,
  route,
  type Stamped,
  slackWrites,
  telegramChatWrites,
  threads,
} from './report.js';
import { type RunOutcome, type RunProcess, type RunSpec, runEnv, spawnRun } from './sweep.js';
import { buttonsOf, ChatUser } from './user.js';

export * from './report.js';
export * from './sweep.js';
export * from './user.js';

/** The sweep: four peak learning rates around the demo's 1e-2, half a decade apart. */
export const SWEEP: readonly { name: string; lrMax: number }[] = [
  { name: 'lr=3e-3', lrMax: 3e-3 },
  { name: 'lr=1e-2', lrMax: 1e-2 },
  { name: 'lr=3e-2', lrMax: 3e-2 },
  { name: 'lr=1e-1', lrMax: 1e-1 },
];

/**
 * 6,000 digits (4,800 train / 1,200 valid), 4 epochs: ~1.5 s an epoch with four runs sharing two
 * cores, so the runs are still training when the simulated user has talked to them (the runs that
 * start last also wait a second or more for their turn to post the start message to Slack), and
 * the whole example takes 20–40 s, most of it the runs' last messages waiting for their turn on
 * the chat's and the channel's ~1 message/s.
 */
export const SWEEP_CONFIG = { samples: 6000, epochs: 4 } as const;

export const LOCAL_CHAT = 4242;
export const LOCAL_CHANNEL = { id: 'C0SWEEP', name: 'sweep' } as const;

/** Settings that would point the runs at real services: dropped when they report to the testkit. */
const SERVICE_ENV = [
  'TELEGRAM_BOT_TOKEN',
  'TELEGRAM_CHAT_ID',
  'TELEGRAM_API_ROOT',
  'SLACK_BOT_TOKEN',
  'SLACK_CHANNEL',
  'SLACK_API_URL',
  'SLACK_WEBHOOK_URL',
  'EPOCHCAST_DISABLE',
];

export interface SweepOptions {
  /** The runs; default SWEEP. */
  runs?: readonly { name: string; lrMax: number }[];
  samples?: number;
  epochs?: number;
  /** Where the report goes. Default stdout. */
  out?: NodeJS.WritableStream;
  /** Progress lines and the runs' warnings. Default: stderr. */
  log?: (line: string) => void;
}

/** What the simulated user and the testkit servers saw (local mode only). */
/** Slack's pace per channel, as SlackCallback books it on the budget the runs share. */
const SLACK_SLOT_MS = 1050;

export interface LocalFacts {
  /** The chat and the channel at the end, each message in its final state. */
  chat: readonly TgMessage[];
  channel: readonly SlackMessage[];
  telegram: RateStats;
  slackPosts: RateStats;
  slackWrites: RateStats;
  /** The chat's busiest second, and the two Slack posts closest together: which sends they were. */
  telegramBusiest: Stamped[];
  slackClosest: [Stamped, Stamped] | undefined;
  /** getUpdates answered 409 (two pollers at once). */
  conflicts: number;
  /** While some run trained and none polled Telegram (commands waited). */
  pollGap: { totalMs: number; longestMs: number };
  /** Runs the last /runs reply listed. */
  runsListed: number;
  routed: Routed[];
  threads: { parent: string; replies: number }[];
}

export interface SweepReport {
  outcomes: RunOutcome[];
  wallMs: number;
  local: LocalFacts | undefined;
}

/** Runs the sweep; in local mode, also plays the user and measures. Prints the report to `out`. */
export async function main(options: SweepOptions = {}): Promise<SweepReport> {
  const out = options.out ?? process.stdout;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const began = performance.now();
  const specs: RunSpec[] = (options.runs ?? SWEEP).map((r) => ({
    ...r,
    samples: options.samples ?? SWEEP_CONFIG.samples,
    epochs: options.epochs ?? SWEEP_CONFIG.epochs,
  }));
  const real = Boolean(process.env.TELEGRAM_BOT_TOKEN || process.env.SLACK_BOT_TOKEN || process.env.SLACK_WEBHOOK_URL);
  const onStderr = (name: string) => (line: string) => log(`[${name}] ${line}`);

  if (real) {
    const where = [
      process.env.TELEGRAM_BOT_TOKEN ? `Telegram chat ${process.env.TELEGRAM_CHAT_ID ?? '(TELEGRAM_CHAT_ID unset)'}` : '',
      process.env.SLACK_BOT_TOKEN ? `Slack ${process.env.SLACK_CHANNEL ?? '(SLACK_CHANNEL unset)'}` : '',
      !process.env.SLACK_BOT_TOKEN && process.env.SLACK_WEBHOOK_URL ? 'Slack (incoming webhook)' : '',
    ].filter(Boolean);
    const how = process.env.EPOCHCAST_REDIS_URL ? 'coordinating through Redis (EPOCHCAST_REDIS_URL)' : 'coordinating on this machine';
    out.write(`${specs.length} runs reporting to ${where.join(' and ')}, ${how}. Send /runs to the bot while they train.\n`);
    const runs = specs.map((s) => spawnRun(s, runEnv(s, {}), onStderr(s.name)));
    const outcomes = await Promise.all(runs.map((r) => r.finished));
    out.write(`\n${describe(specs)}\n\n${resultsTable(outcomes)}\n`);
    return { outcomes, wallMs: performance.now() - began, local: undefined };
  }

  const telegram = await startTelegramServer();
  const slack = await startSlackServer({ token: 'xoxb-local-sweep', channels: [LOCAL_CHANNEL] });
  try {
    out.write(
      `No TELEGRAM_BOT_TOKEN or SLACK_BOT_TOKEN: ${specs.length} runs report to the testkit's local Telegram (chat ${LOCAL_CHAT}) ` +
        `and Slack (#${LOCAL_CHANNEL.name}); a simulated user talks to them while they train.\n`,
    );
    const local: Record<string, string> = {
      TELEGRAM_BOT_TOKEN: telegram.token,
      TELEGRAM_CHAT_ID: String(LOCAL_CHAT),
      TELEGRAM_API_ROOT: telegram.url,
      SLACK_BOT_TOKEN: slack.token,
      SLACK_CHANNEL: `#${LOCAL_CHANNEL.name}`,
      SLACK_API_URL: slack.apiUrl,
    };
    const runs = specs.map((s) => spawnRun(s, runEnv(s, local, SERVICE_ENV), onStderr(s.name)));
    const finished = Promise.all(runs.map((r) => r.finished));
    const user = new ChatUser(telegram, LOCAL_CHAT, finished);
    // The conversation may fail (a run crashed, an answer never came): report it, finish the sweep,
    // and measure what the user did get through.
    const exchanges: Exchange[] = [];
    const talk = playUser(user, runs, exchanges, log).catch((error: unknown) => {
      log(`simulated user: ${error instanceof Error ? error.message : String(error)}`);
    });
    const outcomes = await finished;
    await talk;
    const wallMs = performance.now() - began;
    const facts = measure(telegram, slack, outcomes, exchanges);
    out.write(`\n${describe(specs)}\n\n${resultsTable(outcomes)}\n`);
    out.write(
      `\nWhat the phone received (chat ${LOCAL_CHAT}; blank lines left out, long messages cut to 3 lines):\n\n${chatTranscript(telegram, LOCAL_CHAT)}\n`,
    );
    out.write(
      `\nWhat #${LOCAL_CHANNEL.name} received (one thread per run; first line of each message):\n\n${channelSummary(slack, LOCAL_CHANNEL.name)}\n`,
    );
    out.write(`\nMeasured (server arrival times):\n\n${factLines(facts, outcomes, began)}\n`);
    out.write(`\nsweep wall time ${fmt(wallMs / 1000, 1)} s\n`);
    for (const o of outcomes)
      if (o.code !== 0) out.write(`\n${o.spec.name} exited with ${o.code ?? o.signal}; its stderr:\n${o.stderr.slice(-3000)}\n`);
    return { outcomes, wallMs, local: facts };
  } finally {
    await Promise.all([telegram.close(), slack.close()]);
  }
}

function describe(specs: readonly RunSpec[]): string {
  const s = specs[0];
  if (!s) return 'No runs.';
  const train = Math.round(s.samples * 0.8);
  return `${specs.length} runs of the MNIST MLP 784-${s.hidden ?? 128}-10, ${train} train / ${s.samples - train} valid digits, fitOneCycle(${s.epochs}, { lrMax }) (← best: the lowest valid_loss):`;
}

/**
 * The user: once the runs have begun (the launcher sees their start lines) and the bot has spoken,
 * asks which runs are active, asks the newest for its status through the run picker, the next for
 * its lr by name, and a third for its status by the id /runs showed. Each command is sent after
 * the answer to the previous one.
 */
async function playUser(user: ChatUser, runs: readonly RunProcess[], exchanges: Exchange[], log: (line: string) => void): Promise<void> {
  const send = (command: string, meant?: NamedRun, via?: TgMessage): Exchange => {
    const message = user.say(command);
    const exchange: Exchange = { command, messageId: message.message_id, sentAt: Date.now(), ...(meant ? { meant } : {}) };
    if (via) exchange.via = via;
    exchanges.push(exchange);
    log(`user: ${command}`);
    return exchange;
  };
  const n = runs.length;
  await Promise.all(runs.map((r) => r.started));
  await user.waitForBot((m) => / started on /.test(m.text ?? ''), 0, 60_000);

  // A run joins the others a moment after its fit begins (it checks the token first): ask again
  // if /runs does not list them all yet.
  let listed: NamedRun[] = [];
  for (let attempt = 0; attempt < 10 && listed.length < n; attempt++) {
    if (attempt > 0) await sleep(300);
    const ask = send('/runs');
    const reply = await user.waitForBot((m) => /active runs?/.test(m.text ?? ''), ask.messageId);
    listed = [...(reply.text ?? '').matchAll(/^• (\S+) ([0-9a-f]{8}) ·/gm)].map((m) => ({ name: m[1] ?? '', id: m[2] ?? '' }));
  }
  // /runs lists the oldest first: talk to the newest runs, the ones furthest from their end.
  const [third, second, newest] = listed.slice(-3);
  if (!third || !second || !newest) throw new Error(`/runs listed ${listed.length} runs; the conversation needs 3`);

  // /status without a run: the bot asks which, with a button per run; press the newest run's.
  const status = send('/status');
  const picker = await user.waitForBot((m) => buttonsOf(m).some((b) => b.callback_data.startsWith('ec:pick:')), status.messageId);
  const button = buttonsOf(picker).find((b) => b.callback_data.startsWith(`ec:pick:${newest.id}:`));
  if (!button) throw new Error(`no button for ${newest.name} under "${picker.text}"`);
  status.meant = newest;
  status.via = picker;
  user.press(picker, button);
  log(`user: pressed [ ${button.text} ]`);
  await user.waitForBot((m) => (m.text ?? '').startsWith('📊') && (m.text ?? '').includes(`(${newest.id})`), picker.message_id);

  // /lr naming a run: it answers with its lr (it follows a schedule, so a new value would not stick).
  const lr = send(`/lr ${second.name}`, second);
  await user.waitForBot((m) => /\blr\b/.test(m.text ?? '') && (m.text ?? '').includes(`(${second.id})`), lr.messageId);

  // /status by the first four characters of the id /runs showed.
  const byId = send(`/status ${third.id.slice(0, 4)}`, third);
  await user.waitForBot((m) => (m.text ?? '').startsWith('📊') && (m.text ?? '').includes(`(${third.id})`), byId.messageId);
}

function measure(
  telegram: TelegramServer,
  slack: SlackServer,
  outcomes: readonly RunOutcome[],
  exchanges: readonly Exchange[],
): LocalFacts {
  const runs: NamedRun[] = outcomes.flatMap((o) => (o.result?.runId ? [{ name: o.spec.name, id: o.result.runId }] : []));
  const runsReplies = exchanges
    .filter((e) => e.command === '/runs')
    .map((e) => route(telegram, LOCAL_CHAT, e, runs))
    .at(-1);
  const slackCalls = slackWrites(slack);
  const tgCalls = telegramChatWrites(telegram, LOCAL_CHAT);
  const stamp = (at: number, method: string, text: unknown) => ({ at, label: `${method} "${snippet(String(text ?? ''))}"` });
  return {
    chat: [...telegram.messages(LOCAL_CHAT)],
    channel: [...slack.messages(LOCAL_CHANNEL.name)],
    telegram: rateStats(tgCalls.map((c) => c.at)),
    slackPosts: rateStats(
      slackCalls.posts.map((c) => c.at),
      1000,
      SLACK_SLOT_MS,
    ),
    slackWrites: rateStats(slackCalls.all.map((c) => c.at)),
    telegramBusiest: busiestWindow(tgCalls.map((c) => stamp(c.at, c.method, c.params.text ?? c.params.caption))),
    slackClosest: closestPair(slackCalls.posts.map((c) => stamp(c.at, c.method, c.params.text))),
    conflicts: conflicts(telegram),
    pollGap: pollGaps(outcomes),
    runsListed: runsReplies?.answeredBy.length ?? 0,
    routed: exchanges.map((e) => route(telegram, LOCAL_CHAT, e, runs)),
    threads: threads(slack, LOCAL_CHANNEL.name),
  };
}

function factLines(f: LocalFacts, outcomes: readonly RunOutcome[], began: number): string {
  const origin = Date.now() - (performance.now() - began);
  const at = (t: number) => `${fmt((t - origin) / 1000, 1)} s`;
  const rate = (r: RateStats) =>
    `${r.count}, mean ${fmt(r.meanPerSec, 2)}/s, max ${r.maxInWindow} in any 1 s, least gap ${Number.isFinite(r.minGapMs) ? `${fmt(r.minGapMs, 0)} ms` : '–'}` +
    (r.slotLatenessMs === undefined
      ? ''
      : `, each in a ${SLACK_SLOT_MS} ms slot of its own if sent at most ${fmt(r.slotLatenessMs, 0)} ms late into it`);
  const leaders = outcomes
    .flatMap((o) => (o.result?.ledCommands ?? []).map((l) => ({ name: o.spec.name, ...l })))
    .sort((a, b) => a.from - b.from)
    .map((l) => `${l.name} ${at(l.from)}–${at(l.to)}`);
  const label = (r: NamedRun) => `${r.name} (${r.id})`;
  const routes = f.routed.map((r) => {
    const e = r.exchange;
    const how = e.via ? `picker → pressed ${e.meant ? label(e.meant) : '?'}` : e.meant ? `names ${label(e.meant)}` : 'for the leader';
    const answer =
      e.command === '/runs'
        ? `listed ${r.answeredBy.length} run${r.answeredBy.length === 1 ? '' : 's'}`
        : `answered by ${r.answeredBy.map(label).join(', ') || 'nobody'}${r.correct === undefined ? '' : r.correct ? ' ✓' : ' ✗'}`;
    return `    ${e.command.padEnd(13)} at ${at(e.sentAt)}: ${how}; ${answer}`;
  });
  const closest = f.slackClosest;
  const exits = [...outcomes]
    .sort((a, b) => a.wallMs - b.wallMs)
    .map((o) => `${o.spec.name} ${fmt(o.wallMs / 1000, 1)} s`)
    .join(', ');
  return [
    `- Telegram chat ${LOCAL_CHAT}, sends and edits: ${rate(f.telegram)}`,
    ...(f.telegram.maxInWindow > 1 ? [`    busiest second: ${f.telegramBusiest.map((c) => `${at(c.at)} ${c.label}`).join('; ')}`] : []),
    `- Slack #${LOCAL_CHANNEL.name}, chat.postMessage: ${rate(f.slackPosts)}`,
    ...(closest ? [`    closest two: ${closest.map((c) => `${at(c.at)} ${c.label}`).join(' → ')}`] : []),
    `- Slack #${LOCAL_CHANNEL.name}, all writes (posts, chat.update, plot shares): ${rate(f.slackWrites)}`,
    `- getUpdates answered 409 Conflict: ${f.conflicts}`,
    `- getUpdates polled by (s from the launcher's start): ${leaders.join(', ') || 'no run'}`,
    `- training while no run polled Telegram: ${fmt(f.pollGap.totalMs / 1000, 1)} s (longest ${fmt(f.pollGap.longestMs / 1000, 1)} s)`,
    `- from each fit's start to its first batch (the notifiers' onTrainBegin): ${outcomes.map((o) => `${o.spec.name} ${fmt((o.result?.beginWaitMs ?? Number.NaN) / 1000, 1)} s`).join(', ')}`,
    `- run processes exited at: ${exits}`,
    `- Slack threads: ${f.threads.length} (${f.threads.map((t) => t.replies).join(', ')} replies)`,
    '- Commands, and which run answered (each names itself in its reply):',
    ...routes,
  ].join('\n');
}

/** The first words of a message, tags and markup stripped. */
function snippet(text: string): string {
  const plain =
    text
      .replace(/<[^>]+>/g, '')
      .replace(/[*_`]/g, '')
      .split('\n')[0] ?? '';
  return plain.length > 48 ? `${plain.slice(0, 47)}…` : plain;
}

// Run only as the entry point, so tests and the bench can import from this module.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
