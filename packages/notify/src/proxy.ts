/**
 * `@epochcast/notify/proxy`: the proxy policy on its own (which proxy a request goes through, and a
 * fetch that goes through it), for code that speaks HTTP outside a notifier (a CLI command) and must
 * not load the rest of the package.
 */
export { ProxyRefusedError, ProxyUnreachableError } from './errors.js';
export { type ProxyChoice, type ProxyRoute, type ProxySetting, proxyRoute } from './proxy-config.js';
export { type ProxyFetchHooks, proxyFetch } from './proxy-fetch.js';
