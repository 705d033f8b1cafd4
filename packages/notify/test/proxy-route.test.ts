// Which proxy a request goes through: the variables curl reads, their precedence, NO_PROXY, the
// `proxy` option, and the ConfigError a malformed setting gets (naming it, never echoing a password).
import { ConfigError } from '@epochcast/core';
import { proxyRoute, redactSecrets, WebhookCallback } from '@epochcast/notify';
import { afterEach, describe, expect, test } from 'vitest';

const VARS = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY', 'no_proxy', 'NO_PROXY'];
const saved = Object.fromEntries(VARS.map((name) => [name, process.env[name]]));

afterEach(() => {
  for (const name of VARS) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
});

function env(values: Record<string, string>): void {
  for (const name of VARS) delete process.env[name];
  Object.assign(process.env, values);
}

const via = (target: string, kinds: 'http' | 'smtp' = 'http') => {
  const choice = proxyRoute('Test', undefined, kinds).choose(new URL(target));
  return choice && `${choice.source} ${choice.url.host}`;
};

describe('which variable applies', () => {
  test('https:// reads https_proxy, then HTTPS_PROXY, then all_proxy, then ALL_PROXY; lower case first', () => {
    env({ HTTPS_PROXY: 'upper:1', https_proxy: 'lower:2', ALL_PROXY: 'all:3', HTTP_PROXY: 'http:4' });
    expect(via('https://api.example.com/x')).toBe('https_proxy lower:2');
    env({ HTTPS_PROXY: 'upper:1', ALL_PROXY: 'all:3', HTTP_PROXY: 'http:4' });
    expect(via('https://api.example.com/x')).toBe('HTTPS_PROXY upper:1');
    env({ all_proxy: 'lowall:5', ALL_PROXY: 'all:3', HTTP_PROXY: 'http:4' });
    expect(via('https://api.example.com/x')).toBe('all_proxy lowall:5');
    // HTTP_PROXY is for http:// only, as curl has it.
    env({ HTTP_PROXY: 'http:4' });
    expect(via('https://api.example.com/x')).toBeUndefined();
  });

  test('http:// reads http_proxy, then HTTP_PROXY, then ALL_PROXY; SMTP reads only ALL_PROXY', () => {
    env({ http_proxy: 'lower:1', HTTP_PROXY: 'upper:2', HTTPS_PROXY: 'https:3' });
    expect(via('http://127.0.0.1:8080/hook')).toBe('http_proxy lower:1');
    env({ HTTP_PROXY: 'upper:2', HTTPS_PROXY: 'https:3' });
    expect(via('http://127.0.0.1:8080/hook')).toBe('HTTP_PROXY upper:2');
    expect(via('smtp://mail.example.com:587', 'smtp')).toBeUndefined();
    env({ ALL_PROXY: 'all:3', HTTPS_PROXY: 'https:3' });
    expect(via('smtp://mail.example.com:587', 'smtp')).toBe('ALL_PROXY all:3');
    expect(via('http://127.0.0.1:8080/hook')).toBe('ALL_PROXY all:3');
  });

  test('NO_PROXY: names with their subdomains, leading dots, ports, IPs, CIDR ranges, *', () => {
    env({ HTTPS_PROXY: 'p:1', HTTP_PROXY: 'p:1', NO_PROXY: 'example.com, .corp.test,*.lan, 10.0.0.0/8,127.0.0.1:9000 , [::1]' });
    expect(via('https://example.com/')).toBeUndefined();
    expect(via('https://api.example.com/')).toBeUndefined();
    expect(via('https://notexample.com/')).toBe('HTTPS_PROXY p:1');
    expect(via('https://a.corp.test/')).toBeUndefined();
    expect(via('https://host.lan/')).toBeUndefined();
    expect(via('http://10.2.3.4/')).toBeUndefined();
    expect(via('http://11.2.3.4/')).toBe('HTTP_PROXY p:1');
    expect(via('http://127.0.0.1:9000/')).toBeUndefined();
    expect(via('http://127.0.0.1:9001/')).toBe('HTTP_PROXY p:1');
    expect(via('http://[::1]:80/')).toBeUndefined();
    env({ HTTPS_PROXY: 'p:1', no_proxy: '*', NO_PROXY: 'other' });
    expect(via('https://anything.example/')).toBeUndefined();
  });

  test('the proxy option wins over the environment, NO_PROXY included; false turns proxies off', () => {
    env({ HTTPS_PROXY: 'envproxy:1', NO_PROXY: 'example.com' });
    const fixed = proxyRoute('Test', 'http://option-proxy:3128').choose(new URL('https://example.com/'));
    expect(fixed?.source).toBe('the proxy option');
    expect(fixed?.url.host).toBe('option-proxy:3128');
    expect(proxyRoute('Test', false).choose(new URL('https://api.example.com/'))).toBeUndefined();
  });
});

describe('malformed settings', () => {
  test('a malformed variable is a ConfigError at construction naming it, without the password', () => {
    env({ HTTPS_PROXY: 'http://user:pa ss-word-77@[bad' });
    let error: unknown;
    try {
      new WebhookCallback({ url: 'https://hooks.example.com/h', secret: 's3cret-hook', logger: { warn: () => {} } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/WebhookCallback: HTTPS_PROXY is not a valid proxy URL/);
    expect((error as Error).message).not.toContain('pa ss-word-77');
  });

  test('the proxy option: a bad type, an unsupported scheme', () => {
    expect(() => new WebhookCallback({ url: 'https://h.example.com/h', proxy: 42 as unknown as string })).toThrow(
      /WebhookCallback: proxy must be a proxy URL .* or false to send directly; received 42/,
    );
    expect(() => new WebhookCallback({ url: 'https://h.example.com/h', proxy: 'socks5://127.0.0.1:1080' })).toThrow(
      /the proxy option is a socks5:\/\/ proxy; only http:\/\/ and https:\/\/ proxies are supported/,
    );
  });

  test("a proxy's password is a secret from the moment the setting is read", () => {
    env({ HTTPS_PROXY: 'http://alice:Proxy-Pass-9931@proxy.corp:3128' });
    proxyRoute('Test', undefined);
    expect(redactSecrets('Proxy-Authorization failed for Proxy-Pass-9931')).not.toContain('Proxy-Pass-9931');
    expect(redactSecrets(`Basic ${Buffer.from('alice:Proxy-Pass-9931').toString('base64')}`)).not.toContain(
      Buffer.from('alice:Proxy-Pass-9931').toString('base64'),
    );
  });
});
