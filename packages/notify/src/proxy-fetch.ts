/**
 * `proxyFetch`: the one `fetch` every HTTP notifier uses, so that all of them honour the proxy
 * settings (see proxy-config.ts) the same way. A request that no proxy applies to is Node's own
 * `fetch`, untouched, and undici (about 0.3 s to load) is not even loaded; one that goes through a
 * proxy is Node's `fetch` with an undici `ProxyAgent` as its dispatcher (checked to work on Node 20
 * with Node's own FormData, Blob and Response — undici's npm `fetch` would send Node's FormData as
 * text). Plain http:// is forwarded as curl does (`POST http://host/path` to the proxy), https://
 * and everything else tunnels with CONNECT.
 */
import type { ProxyAgent } from 'undici';
import { ProxyRefusedError, ProxyUnreachableError, proxyFailureOf } from './errors.js';
import { type ProxyChoice, type ProxySetting, parseProxy, proxyRoute } from './proxy-config.js';

/** What a caller learns of requests through the proxy: the Notifier base tells a proxy's failure once. */
export interface ProxyFetchHooks {
  /** A request failed at the proxy: the error thrown (the plugin's client may wrap it). */
  failed?(error: ProxyRefusedError | ProxyUnreachableError): void;
  /** A request went through the proxy. */
  passed?(): void;
}

/** Errors of connecting to the proxy itself: with a proxy, the client connects to nothing else. */
const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

let undici: Promise<typeof import('undici')> | undefined;

/**
 * A `fetch` for the notifier (or command) `where` that goes through the proxy its `proxy` option
 * names, else the one the environment names for the URL (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`,
 * lower case too, as curl reads them), else directly. Give it to the service's client:
 * `new WebClient(token, { fetch: proxyFetch('SlackCallback', options.proxy) })`. Inside a Notifier,
 * use `this.httpFetch` instead: the base then warns once when the proxy fails.
 *
 * A proxy that refuses (403, or 407 for a login) rejects with ProxyRefusedError (permanent); one
 * that cannot be reached, with ProxyUnreachableError (transient). Both name the proxy without its
 * credentials and say what to set.
 *
 * @throws ConfigError now, when a proxy setting that applies is malformed (naming the variable).
 */
export function proxyFetch(where: string, proxy?: ProxySetting, hooks: ProxyFetchHooks = {}): typeof fetch {
  const route = proxyRoute(where, proxy);
  const agents = new Map<string, Promise<ProxyAgent>>();
  const agentFor = (choice: ProxyChoice): Promise<ProxyAgent> => {
    let agent = agents.get(choice.url.href);
    if (!agent) {
      undici ??= import('undici');
      // Forwarding plain http:// (not tunnelling it) lets the proxy see and log each request, as curl does.
      agent = undici.then(({ ProxyAgent }) => new ProxyAgent({ uri: choice.url.href, proxyTunnel: false }));
      agents.set(choice.url.href, agent);
    }
    return agent;
  };
  return async (input, init) => {
    const target = new URL(input instanceof Request ? input.url : input instanceof URL ? input.href : String(input));
    const choice = route.choose(target);
    if (!choice) return fetch(input, init);
    const dispatcher = await agentFor(choice);
    let response: Response;
    try {
      // Node's fetch takes an undici dispatcher; its types name Node's bundled undici, not this one.
      response = await fetch(input, { ...init, dispatcher } as unknown as RequestInit);
    } catch (error) {
      const failure = proxyFailure(error, choice, target);
      if (!failure) throw error;
      hooks.failed?.(failure);
      throw failure;
    }
    const denied = forwardDenied(response);
    if (denied) {
      await response.body?.cancel();
      const failure = new ProxyRefusedError(choice, denied, target.host);
      hooks.failed?.(failure);
      throw failure;
    }
    hooks.passed?.();
    return response;
  };
}

/**
 * The proxy's own refusal of a forwarded request: a 407, or an answer whose RFC 9209
 * `Proxy-Status` carries an error (the proxy answered, not the destination).
 */
function forwardDenied(response: Response): number | undefined {
  if (response.status === 407) return 407;
  const status = response.headers.get('proxy-status');
  return status !== null && /;\s*error=/i.test(status) && response.status >= 400 && response.status < 500 ? response.status : undefined;
}

/** What undici's error says of the proxy: refused (its CONNECT answer, a 407), unreachable, or nothing. */
function proxyFailure(error: unknown, choice: ProxyChoice, target: URL): ProxyRefusedError | ProxyUnreachableError | undefined {
  if (error instanceof Error && error.name === 'AbortError') return undefined;
  for (let cause: unknown = error, depth = 0; cause instanceof Error && depth < 6; cause = cause.cause, depth++) {
    const code = (cause as { code?: unknown }).code;
    const tunnel = /Proxy response \((\d{3})\) !== 200/.exec(cause.message);
    if (tunnel) {
      const status = Number(tunnel[1]);
      // 5xx: the proxy is fine, the destination beyond it is not: the plugin's usual network error.
      return status < 500 ? new ProxyRefusedError(choice, status, target.host) : undefined;
    }
    if (/Proxy Authentication Required \(407\)/.test(cause.message)) return new ProxyRefusedError(choice, 407, target.host);
    if (typeof code === 'string' && CONNECT_FAILURES.has(code)) return new ProxyUnreachableError(choice, code, target.host);
  }
  return undefined;
}

/**
 * A notifier's proxy, for the Notifier base: its `fetch` (built on first use), which attempt
 * failed at the proxy whatever the plugin's client made of the error, and one warning per outage.
 */
export class NotifierProxy {
  readonly #where: string;
  readonly #setting: ProxySetting | undefined;
  readonly #warn: (text: string) => void;
  #fetch: typeof fetch | undefined;
  /** The failure of the latest request through the proxy, until one passes. */
  #failure: ProxyRefusedError | ProxyUnreachableError | undefined;
  #told = false;

  constructor(where: string, setting: ProxySetting | undefined, warn: (text: string) => void) {
    // The option is checked now (and its login registered as a secret), even for a plugin that never fetches.
    if (typeof setting === 'string') parseProxy(where, 'the proxy option', setting);
    this.#where = where;
    this.#setting = setting;
    this.#warn = warn;
  }

  get fetch(): typeof fetch {
    this.#fetch ??= proxyFetch(this.#where, this.#setting, {
      failed: (error) => {
        this.#failure = error;
      },
      passed: () => {
        this.#failure = undefined;
        this.#told = false;
      },
    });
    return this.#fetch;
  }

  /** Runs an attempt (a send, a check); when a request of it failed at the proxy, that is its error. */
  async attempt<T>(run: () => Promise<T>): Promise<T> {
    this.#failure = undefined;
    try {
      return await run();
    } catch (error) {
      throw this.#failure ?? error;
    }
  }

  /** Whether `error` is the proxy's failure; the first of an outage is told in one warning. */
  tell(error: unknown): boolean {
    const failure = proxyFailureOf(error);
    if (!failure) return false;
    if (!this.#told) {
      this.#told = true;
      const next = failure instanceof ProxyRefusedError ? 'nothing more is sent this run' : 'messages are retried, then dropped';
      this.#warn(`${failure.message} (training goes on; ${next}; this is said once)`);
    }
    return true;
  }
}
