/**
 * Which proxy a request goes through, read as curl reads it. The `proxy` option wins: a URL sends
 * every request of the notifier through that proxy (NO_PROXY does not apply), `false` sends every
 * request directly. Without it, the environment, read once when the notifier is built:
 *
 * - https:// — `https_proxy`, else `HTTPS_PROXY`, else `all_proxy`, else `ALL_PROXY`;
 * - http://  — `http_proxy`, else `HTTP_PROXY`, else `all_proxy`, else `ALL_PROXY`
 *   (curl ignores upper-case HTTP_PROXY, which CGI servers fill from a request header; a training
 *   run is no CGI script, and most other tools read it, so it is read here);
 * - SMTP     — `all_proxy`, else `ALL_PROXY` (curl's variable for every other protocol);
 * - `no_proxy`, else `NO_PROXY`: hosts that are reached directly — comma-separated names (each
 *   matching itself and its subdomains; a leading `.` or `*.` is allowed), IP addresses, CIDR
 *   ranges (`10.0.0.0/8`), `host:port` for one port only, or `*` for everything.
 *
 * Lower case first, as curl does. A proxy is `http://[user:password@]host[:port]` (a bare
 * `host:port` means http://) or https://; its credentials are secrets, never shown.
 */
import { BlockList, isIP } from 'node:net';
// core's errors alone: `epochcast telegram chats` loads this without tfjs.
import { ConfigError, describeValue } from '@epochcast/core/errors';
import { registerSecret, urlCredentials } from './secret-registry.js';

/** The `proxy` notifier option: a proxy URL for every request, or `false` for none (environment ignored). */
export type ProxySetting = string | false;

/** The proxy chosen for a request. */
export interface ProxyChoice {
  /** The proxy's URL, credentials included: never print it, print `shown`. */
  readonly url: URL;
  /** The proxy as a message may show it: `http://***@host:port` when it has a login. */
  readonly shown: string;
  /** What named it: `HTTPS_PROXY`, `http_proxy`, `the proxy option`, … — for the fix a message suggests. */
  readonly source: string;
}

/** Which proxy (if any) each destination goes through, for one notifier. */
export interface ProxyRoute {
  /** The proxy for `target` (http:, https:, smtp: or smtps:), undefined to go directly. */
  choose(target: URL): ProxyChoice | undefined;
}

const HTTP_VARS = ['http_proxy', 'HTTP_PROXY', 'all_proxy', 'ALL_PROXY'] as const;
const HTTPS_VARS = ['https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY'] as const;
const SMTP_VARS = ['all_proxy', 'ALL_PROXY'] as const;

/**
 * The route for the notifier (or command) `where`, given its `proxy` option. Every proxy setting
 * that applies is checked now: a malformed one is a ConfigError naming the variable.
 */
export function proxyRoute(where: string, proxy: ProxySetting | undefined, kinds: 'http' | 'smtp' = 'http'): ProxyRoute {
  if (proxy === false) return { choose: () => undefined };
  if (proxy !== undefined) {
    const fixed = parseProxy(where, 'the proxy option', proxy);
    return { choose: () => fixed };
  }
  const env = process.env;
  const first = (names: readonly string[]): ProxyChoice | undefined => {
    const name = names.find((n) => env[n]?.trim());
    return name === undefined ? undefined : parseProxy(where, name, env[name] as string);
  };
  const http = kinds === 'http' ? first(HTTP_VARS) : undefined;
  const https = kinds === 'http' ? first(HTTPS_VARS) : undefined;
  const smtp = kinds === 'smtp' ? first(SMTP_VARS) : undefined;
  const bypass = noProxyMatcher(env.no_proxy ?? env.NO_PROXY ?? '');
  return {
    choose(target) {
      const chosen = target.protocol === 'https:' ? https : target.protocol === 'http:' ? http : smtp;
      if (!chosen || bypass(target)) return undefined;
      return chosen;
    },
  };
}

/** Checks a proxy URL; its credentials go to the secret registry before anything can print them. */
export function parseProxy(where: string, source: string, raw: unknown): ProxyChoice {
  if (typeof raw !== 'string' || raw.trim() === '')
    throw new ConfigError(
      `${where}: ${source} must be a proxy URL such as "http://proxy.example.com:3128", or false; received ${describeValue(raw)}.`,
    );
  // Only a URL with a login is a secret as a whole: a plain proxy address is shown in warnings.
  if (raw.includes('@')) registerSecret(raw, ...urlCredentials(raw.trim()));
  const text = raw.trim();
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
  } catch {
    // It may hold a password: say what is wrong with it, not what it is.
    throw new ConfigError(
      `${where}: ${source} is not a valid proxy URL (a string of ${text.length} characters). Expected http://host:port or http://user:password@host:port, with special characters of the password percent-encoded.`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConfigError(
      `${where}: ${source} is a ${url.protocol}// proxy; only http:// and https:// proxies are supported. Set ${source} to an http:// proxy, or pass { proxy: false } to send directly.`,
    );
  if (url.hostname === '') throw new ConfigError(`${where}: ${source} has no host; expected http://host:port.`);
  const login = url.username !== '' || url.password !== '';
  if (login) {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    // As a Proxy-Authorization header carries them.
    registerSecret(url.password, `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`);
  }
  return { url, shown: `${url.protocol}//${login ? '***@' : ''}${url.host}`, source };
}

/** Whether NO_PROXY says `target` is reached directly. */
function noProxyMatcher(value: string): (target: URL) => boolean {
  const entries = value
    .split(/[,\s]+/)
    .map((e) => e.trim().toLowerCase())
    .filter(Boolean);
  if (entries.includes('*')) return () => true;
  const ranges = new BlockList();
  const names: { host: string; port: number | undefined }[] = [];
  for (const entry of entries) {
    const cidr = /^([^/]+)\/(\d{1,3})$/.exec(entry);
    const family = cidr ? isIP(cidr[1] as string) : 0;
    if (cidr && family) {
      ranges.addSubnet(cidr[1] as string, Number(cidr[2]), family === 6 ? 'ipv6' : 'ipv4');
      continue;
    }
    const withPort = /^(.*[^:]):(\d{1,5})$/.exec(entry);
    const host = unbracket(withPort && !isIP(entry) ? (withPort[1] as string) : entry).replace(/^\*?\./, '');
    names.push({ host, port: withPort && !isIP(entry) ? Number(withPort[2]) : undefined });
  }
  return (target) => {
    const host = unbracket(target.hostname.toLowerCase());
    const port = Number(target.port) || defaultPort(target.protocol);
    const family = isIP(host);
    if (family && ranges.check(host, family === 6 ? 'ipv6' : 'ipv4')) return true;
    return names.some((n) => (n.port === undefined || n.port === port) && (host === n.host || host.endsWith(`.${n.host}`)));
  };
}

function unbracket(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1');
}

function defaultPort(protocol: string): number {
  return protocol === 'https:' ? 443 : protocol === 'http:' ? 80 : protocol === 'smtps:' ? 465 : 587;
}
