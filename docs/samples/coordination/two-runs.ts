import { joinScope, type ScopeMessage, scopeName } from '@epochcast/coordination';

// Named after the account's secret without showing it.
const scope = scopeName('example', 'the-shared-bot-token');

// Resolves with the name of the next run elected leader.
let announce = (_name: string) => {};
const nextLeader = () => new Promise<string>((resolve) => (announce = resolve));

function join(id: string, name: string, onMessage = (_message: ScopeMessage) => {}) {
  return joinScope(scope, {
    record: { id, name, host: 'here', pid: process.pid, startedAt: Date.now(), epoch: 0, totalEpochs: 10 },
    onMessage,
    leadership: { onElected: () => announce(name), onDeposed: () => console.log(`${name} steps down`) },
    warn: (line) => console.warn(line),
  });
}

let leader = nextLeader();
let deliver = (_message: ScopeMessage) => {};
const delivered = new Promise<ScopeMessage>((resolve) => (deliver = resolve));
const a = await join('a1a1a1a1', 'lr=1e-2', deliver);
const b = await join('b2b2b2b2', 'lr=3e-2');
console.log(`${await leader} leads`);

console.log((await b.runs()).map((run) => run.name).join(', '));
await b.sendTo(a.runId, { command: 'status' });
console.log('lr=1e-2 received', JSON.stringify(await delivered));

// One budget for both: three sends, a second apart, whoever makes them.
const waits = await Promise.all([a.reserve(1000), b.reserve(1000), a.reserve(1000)]);
const seconds = waits.map((ms) => Math.round(ms / 1000)).sort((x, y) => x - y);
console.log(`wait ${seconds.join(', ')} s`);

leader = nextLeader();
await a.leave();
console.log(`${await leader} leads`);
await b.leave();
