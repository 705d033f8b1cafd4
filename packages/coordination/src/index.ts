export { scopeAuthKey } from './auth.js';
export { joinScope, scopeName } from './join.js';
export { redactUrl, resolveRedisUrl, urlSecrets } from './redis-url.js';
export type { Coordinator, JoinOptions, Membership, RunRecord, ScopeMessage } from './types.js';
