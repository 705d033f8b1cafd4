import { joinScope, resolveRedisUrl, scopeName } from '@epochcast/coordination';

// As a notifier joins: its `redisUrl` option, else EPOCHCAST_REDIS_URL, else this machine only.
const membership = await joinScope(scopeName('example', 'another-bot-token'), {
  redisUrl: resolveRedisUrl('redis-url example', undefined),
  record: { id: 'c3c3c3c3', name: 'lr=1e-1', host: 'here', pid: process.pid, startedAt: Date.now(), epoch: 0, totalEpochs: 10 },
  onMessage: () => {},
  warn: (line) => console.warn(line),
});
console.log(`coordinating through: ${membership.engine}`);
await membership.leave();
