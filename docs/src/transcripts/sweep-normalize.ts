/**
 * What the sweep's transcript (examples/sweep/README.md) says once what varies between two runs of
 * the same code is masked. Four processes share a chat and a channel, so the order in which their
 * messages arrive, how many of their epoch messages the shared pace merged, which run was elected
 * to poll and which runs the simulated user happened to address all vary; what each run says, in
 * its own order, does not, nor the results, nor which run answered each command (✓ or ✗).
 *
 * The result is for comparing, not for reading: each run's messages under its name, the
 * conversation with the runs' names and ids masked, every measurement reduced to what it measures.
 */

// The runs' names (`lr=3e-2`), never `lrMax=0.03`.
const RUN = /\blr=\d[\d.]*e[-+]?\d+\b/g;
const ID = /\b[0-9a-f]{8}\b/g;

const SECTIONS = [
  { name: 'results', starts: /^\d+ runs of the MNIST MLP/ },
  { name: 'chat', starts: /^What the phone received/ },
  { name: 'channel', starts: /^What #\S+ received/ },
  { name: 'measured', starts: /^Measured \(/ },
  { name: 'wall', starts: /^sweep wall time/ },
] as const;

export function normalizeSweep(text: string): string {
  const masked = text
    .replace(ID, '<id>')
    .replace(/\/status [0-9a-f]{4}\b/g, '/status <id>')
    // A duration of minutes and seconds is masked as two.
    .replace(/<duration> <duration>/g, '<duration>')
    .replace(/ · ETA <duration>/g, '')
    // The host the runs ran on.
    .replace(/ started on \S+ · /g, ' started on <host> · ')
    .replace(/^(\s*)host: .*$/gm, '$1host: <host>');
  const sections = new Map<string, string[]>([['preamble', []]]);
  let current = 'preamble';
  for (const line of masked.split('\n')) {
    const next = SECTIONS.find((s) => s.starts.test(line));
    if (next) {
      current = next.name;
      sections.set(current, []);
    }
    sections.get(current)?.push(line);
  }
  const part = (name: string) => (sections.get(name) ?? []).filter((line) => line.trim() !== '');
  return [
    ...preamble(part('preamble')),
    '== results',
    ...part('results').map((line) => line.replace(/ {2,}/g, ' ')),
    '== chat',
    ...chat(part('chat')),
    '== channel',
    ...channel(part('channel')),
    '== measured',
    ...measured(part('measured')),
    '== wall',
    ...part('wall'),
  ].join('\n');
}

/**
 * The launcher's first line and the simulated user's steps, in their order (the user asks `/runs`
 * again until every run has joined: one `/runs`), then anything else the processes wrote to stderr.
 */
function preamble(lines: string[]): string[] {
  const prompt = lines.filter((l) => l.startsWith('$ '));
  const user = lines.filter((l) => l.startsWith('user: ')).map((l) => l.replace(RUN, '<run>'));
  const other = lines.filter((l) => !l.startsWith('$ ') && !l.startsWith('user: ')).sort();
  return [...prompt, ...other, ...user.filter((l, i) => !(l === 'user: /runs' && user[i + 1] === 'user: /runs'))];
}

interface Message {
  head: string;
  body: string[];
}

/** Messages of the chat transcript: `🤖 …` or `👤 …`, continued by lines indented 3 spaces. */
function messages(lines: string[]): Message[] {
  const out: Message[] = [];
  for (const line of lines) {
    const last = out.at(-1);
    if (line.startsWith('   ') && last) last.body.push(line.trim().replace(/ {2,}/g, ' '));
    else if (/^(🤖|👤)/u.test(line)) out.push({ head: line.replace(/edited \d+×/, 'edited'), body: [] });
  }
  return out;
}

/** The run a message is about, when it is one of the run's own (start, epochs, end, plot). */
function ownerOf(message: Message): string | undefined {
  const owned = /^🤖 (?:\([^)]*\) )?(?:⏳|📈|✅) (lr=\S+)/u.exec(message.head);
  return owned?.[1];
}

function chat(lines: string[]): string[] {
  const [title = '', ...rest] = lines;
  const all = messages(rest);
  const runs = new Map<string, Message[]>();
  const conversation: Message[] = [];
  for (const m of all) {
    const owner = ownerOf(m);
    if (owner) runs.set(owner, [...(runs.get(owner) ?? []), m]);
    else conversation.push(m);
  }
  const out = [title];
  for (const name of [...runs.keys()].sort()) {
    out.push(`-- ${name}`);
    for (const m of runs.get(name) ?? []) out.push(m.head, ...m.body);
  }
  // What the user sent, in order, then what the bots answered, in order: the user sends the next
  // command on a timer, so whether an answer came before it depends on how busy the machine was.
  const kept = lastRunsExchange(conversation);
  const fromUser = (m: Message) => m.head.startsWith('👤');
  out.push('-- the user sent');
  for (const m of kept.filter(fromUser)) out.push(...conversed(m));
  out.push('-- the bots answered');
  for (const m of kept.filter((m) => !fromUser(m))) out.push(...conversed(m));
  return out;
}

/** The user asks `/runs` again until every run has joined: the last exchange is the one that counts. */
function lastRunsExchange(conversation: Message[]): Message[] {
  const asks = conversation.flatMap((m, i) => (m.head === '👤 /runs' ? [i] : []));
  const dropped = new Set<number>();
  for (const i of asks.slice(0, -1)) {
    dropped.add(i);
    const reply = conversation.findIndex((m, j) => j > i && m.head.startsWith('🤖 🏃'));
    if (reply >= 0) dropped.add(reply);
  }
  return conversation.filter((_, i) => !dropped.has(i));
}

/** A conversation message with the runs masked and, in answers about a run's progress, the numbers. */
function conversed(m: Message): string[] {
  const head = m.head.replace(RUN, '<run>');
  if (/^🤖 (\([^)]*\) )?📊/u.test(head)) return [head.replace(/ · .*/, ' · …')];
  if (/^🤖 lr now /.test(head)) return [head.replace(/\d[\d.e-]*/g, '#')];
  // The runs list and the picker name every run, in the order they joined.
  const body = m.body.map((l) => l.replace(RUN, '<run>').replace(/^• <run> <id> · .*/, '• <run> <id> · …'));
  return [head, ...body];
}

/** One thread per run, by name; which epoch messages the pace merged, and which came last before the end, differ. */
function channel(lines: string[]): string[] {
  const [title = '', ...rest] = lines;
  const threads: string[][] = [];
  for (const line of rest) {
    if (line.startsWith('●')) threads.push([line]);
    else threads.at(-1)?.push(line);
  }
  // A run's epoch replies, however many: the shared pace merges some, and which epoch was the last
  // one sent before the end superseded the rest depends on how busy the machine was (the end's own
  // table has every epoch).
  const collapsed = threads.map((thread) =>
    thread
      .filter((line, i) => !(isEpoch(line) && isEpoch(thread[i + 1] ?? '')))
      .map((line) => (isEpoch(line) ? '    └ 📈 <epochs>' : line)),
  );
  const run = (thread: string[]) => (thread[0] ?? '').match(RUN)?.[0] ?? '';
  return [title, ...collapsed.sort((a, b) => run(a).localeCompare(run(b))).flat()];
}

const isEpoch = (line: string) => /^ {4}└ 📈 /u.test(line);

/**
 * What was measured, without the measurements (the tests of examples/sweep assert on those), and
 * which run answered each command: by the run meant (✓) or not (✗).
 */
function measured(lines: string[]): string[] {
  const [title = '', ...rest] = lines;
  const kept = rest
    .filter((l) => !/^ {4}(busiest second|closest two):/.test(l))
    .map((l) => (l.startsWith('- ') ? l.replace(/:.*/, ':') : l.replace(RUN, '<run>').replace(/ at [^:]*:/, ' at <time>:')));
  const runsAsked = kept.flatMap((l, i) => (/^ {4}\/runs /.test(l) ? [i] : []));
  return [title, ...kept.filter((_, i) => !runsAsked.slice(0, -1).includes(i))];
}
