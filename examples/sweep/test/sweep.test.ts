import { readFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { expect, test } from 'vitest';
import { normalizeTranscript, transcriptNamed } from '../../../docs/src/transcripts.js';
import { main, SWEEP } from '../src/main.js';

// The launcher spawns dist/run.js: `pnpm test` builds first (tsc -b), as it does for every test.
test('four runs as child processes share one chat and one channel: picker, routing, pacing, one poller', async () => {
  for (const v of [
    'TELEGRAM_BOT_TOKEN',
    'TELEGRAM_CHAT_ID',
    'TELEGRAM_API_ROOT',
    'SLACK_BOT_TOKEN',
    'SLACK_CHANNEL',
    'SLACK_API_URL',
    'SLACK_WEBHOOK_URL',
    'EPOCHCAST_REDIS_URL',
  ])
    delete process.env[v];
  let printed = '';
  // stdout and stderr in the order they came, as `pnpm --filter @epochcast/example-sweep start` shows them.
  let terminal = '';
  const out = new Writable({
    write(chunk, _encoding, done) {
      printed += String(chunk);
      terminal += String(chunk);
      done();
    },
  });
  const logged: string[] = [];
  // The example's own configuration: fewer digits or epochs and the first run (the one polling
  // Telegram for all) may end before the conversation does.
  const report = await main({
    out,
    log: (line) => {
      logged.push(line);
      terminal += `${line}\n`;
    },
  });
  const context = `${printed}\n${logged.join('\n')}`;

  expect(
    report.outcomes.map((o) => [o.spec.name, o.code, o.result?.status]),
    context,
  ).toEqual(SWEEP.map((r) => [r.name, 0, 'completed']));
  const facts = report.local;
  if (!facts) throw new Error('no local facts: the test must run without credentials');
  const runs = report.outcomes.map((o) => ({ name: o.spec.name, id: o.result?.runId ?? '?' }));

  // The chat: each run names itself (name and id) in its start and end messages; 4 end messages.
  const bot = facts.chat.filter((m) => m.from?.is_bot);
  const texts = bot.map((m) => m.text ?? '');
  for (const { name, id } of runs) {
    expect(
      texts.filter((t) => t.startsWith(`⏳ ${name} (${id}) started`)),
      name,
    ).toHaveLength(1);
    const ends = texts.filter((t) => t.startsWith(`✅ ${name} completed`));
    expect(ends, name).toHaveLength(1);
    expect(ends[0], name).toContain(`run: ${name} (${id})`);
    expect(
      bot.filter((m) => m.photo && (m.caption ?? '').includes(`run: ${name} (${id})`)),
      name,
    ).toHaveLength(1);
  }
  expect(texts.filter((t) => t.startsWith('✅ '))).toHaveLength(4);

  // /runs listed the four runs; each command was answered by the run it was meant for — the one
  // pressed in the picker, the one named, the one whose id prefix was given.
  expect(facts.runsListed, context).toBe(4);
  const commands = facts.routed.map((r) => r.exchange.command);
  expect(commands.at(-3)).toBe('/status');
  const picked = facts.routed.find((r) => r.exchange.via);
  // The picker, once pressed, is edited to say which run the command went to.
  const pressed = facts.chat.find((m) => m.message_id === picked?.exchange.via?.message_id)?.text ?? '';
  expect(pressed).toMatch(/^\/status → lr=/);
  expect(picked?.answeredBy.map((r) => `/status → ${r.name} (${r.id})`)).toEqual([pressed]);
  for (const r of facts.routed.filter((x) => x.exchange.meant))
    expect(r.correct, `${r.exchange.command}: ${r.replies.join(' | ')}`).toBe(true);

  // The channel: one thread per run, its start message edited into the result, the summary in it.
  expect(facts.threads).toHaveLength(4);
  for (const { name } of runs) {
    const thread = facts.threads.filter((t) => t.parent.startsWith(`✅ ${name} completed`));
    expect(thread, name).toHaveLength(1);
    expect(thread[0]?.replies, name).toBeGreaterThanOrEqual(3);
  }

  // One budget for the channel: each Slack post of the four runs in a 1050 ms slot of its own. A
  // training process on busy cores may send late into its slot (275 ms was seen on a loaded CI run),
  // never into another's, which would make it a whole slot late. One poller: at most one 409 from a
  // hand-over.
  expect(facts.slackPosts.slotLatenessMs, context).toBeLessThanOrEqual(1050 / 2);
  expect(facts.conflicts, context).toBeLessThanOrEqual(1);

  // What the user reads.
  expect(printed).toContain('What the phone received (chat 4242');
  expect(printed.match(/^lr=\S+ .* completed +← best$/gm)).toHaveLength(1);
  expect(printed).toMatch(/\/status +at .*picker → pressed (lr=\S+ \([0-9a-f]{8}\)); answered by \1 ✓/);

  // The README's transcript (docs/transcripts/sweep.txt, written by `pnpm docs:transcripts sweep`)
  // is what this sweep printed, once what varies between two sweeps is masked. Checked here rather
  // than by a second sweep of its own: each takes a minute or more.
  const transcript = transcriptNamed('docs/transcripts/sweep.txt');
  const shown = await readFile(new URL('../../../docs/transcripts/sweep.txt', import.meta.url), 'utf8');
  expect(
    normalizeTranscript(transcript, `$ ${transcript.prompt}\n${terminal}`),
    'examples/sweep/README.md shows another sweep: run pnpm docs:transcripts sweep.txt',
  ).toBe(normalizeTranscript(transcript, shown));
}, 180_000);
