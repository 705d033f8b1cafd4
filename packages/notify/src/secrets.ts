/**
 * `@epochcast/notify/secrets`: the process's secret registry on its own, for code that handles
 * secrets outside a notifier (a CLI, a wrapper script) and must not load the rest of the package.
 */
export { redactSecrets, registerSecret } from './secret-registry.js';
