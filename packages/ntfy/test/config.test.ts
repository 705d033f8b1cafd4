import { inspect } from 'node:util';
import { ConfigError } from '@epochcast/core';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { NtfyCallback, type NtfyCallbackOptions } from '../src/index.js';

const saved = { url: process.env.NTFY_URL, token: process.env.NTFY_TOKEN };

beforeEach(() => {
  delete process.env.NTFY_URL;
  delete process.env.NTFY_TOKEN;
});

afterEach(() => {
  for (const [name, value] of [
    ['NTFY_URL', saved.url],
    ['NTFY_TOKEN', saved.token],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

/** The ConfigError building the callback throws (the test fails when it does not throw one). */
function configError(options: NtfyCallbackOptions): ConfigError {
  try {
    new NtfyCallback({ handleSignals: false, ...options });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('NtfyCallback configuration', () => {
  test('no URL: says which variable to set and what it looks like', () => {
    expect(configError({}).message).toMatch(/no ntfy URL\. Set NTFY_URL or pass \{ url \}: .*https:\/\/ntfy\.sh\//);
  });

  test('a malformed URL, another scheme, a URL without a topic, a topic ntfy refuses, a query', () => {
    expect(configError({ url: 'ntfy.sh/my-runs' }).message).toMatch(/is not a valid URL; received a string of 15 characters/);
    expect(configError({ url: 'ftp://ntfy.sh/my-runs' }).message).toMatch(/must be https:\/\/ .*received a ftp: URL/);
    expect(configError({ url: 'https://ntfy.sh/' }).message).toMatch(
      /names no topic: add it to the path, e\.g\. https:\/\/ntfy\.sh\/my-runs/,
    );
    expect(configError({ url: 'https://ntfy.sh/my runs!' }).message).toMatch(
      /the topic "my runs!" is not one ntfy accepts: 1 to 64 letters/,
    );
    expect(configError({ url: 'https://ntfy.sh/runs?auth=abc' }).message).toMatch(/without \?… or #…/);
  });

  test('a priority ntfy does not know', () => {
    expect(configError({ url: 'https://ntfy.sh/runs', priority: 7 as never }).message).toMatch(
      /priority must be 1 to 5 or one of min, low, default, high, urgent, max; received 7/,
    );
    expect(configError({ url: 'https://ntfy.sh/runs', priority: 'loud' as never }).message).toMatch(/received "loud"/);
  });

  test('a malformed token, credentials twice, half credentials in the URL: errors that never quote them', () => {
    const bad = configError({ url: 'https://ntfy.sh/runs', token: 'secret-token-value' });
    expect(bad.message).toMatch(
      /malformed: expected an access token starting with "tk_" .* or user:password; received a string of 18 characters/,
    );
    expect(bad.message).not.toContain('secret-token-value');
    const twice = configError({ url: 'https://phil:pw-9f8e7d@ntfy.example/runs', token: 'tk_abc123' });
    expect(twice.message).toMatch(/credentials twice/);
    expect(twice.message).not.toMatch(/pw-9f8e7d|tk_abc123/);
    expect(configError({ url: 'https://phil@ntfy.example/runs' }).message).toMatch(/must be user:password@ \(both\)/);
    expect(configError({ url: 'https://ntfy.sh/runs', token: 'tk_ab cd' }).message).toMatch(/without spaces/);
  });

  test('clickUrl, markdown and maxAttachmentBytes are checked', () => {
    expect(configError({ url: 'https://ntfy.sh/runs', clickUrl: 'not a url' }).message).toMatch(/clickUrl must be a URL/);
    expect(configError({ url: 'https://ntfy.sh/runs', markdown: 'yes' as never }).message).toMatch(/markdown must be true or false/);
    expect(configError({ url: 'https://ntfy.sh/runs', maxAttachmentBytes: -1 }).message).toMatch(
      /maxAttachmentBytes must be a whole number/,
    );
  });

  test('NTFY_URL and NTFY_TOKEN are read; printing the callback shows neither the token nor the URL', () => {
    process.env.NTFY_URL = 'https://ntfy.example/prefix/my-runs';
    process.env.NTFY_TOKEN = 'tk_fromenv123456789';
    const callback = new NtfyCallback({ handleSignals: false });
    const printed = [inspect(callback, { showHidden: true, depth: 10 }), JSON.stringify(callback)].join('\n');
    expect(printed).toContain('ntfy');
    expect(printed).not.toMatch(/tk_fromenv|my-runs/);
    expect(callback.redact('token tk_fromenv123456789 leaked')).toBe('token *** leaked');
    // The topic's URL reads the topic on an open server: redacted too.
    expect(callback.redact('subscribe at https://ntfy.example/prefix/my-runs')).toBe('subscribe at ***');
  });

  test("a URL's user:password is accepted as basic auth, and its password redacted everywhere", () => {
    const callback = new NtfyCallback({ url: 'https://phil:pa55-w0rd-77@ntfy.example/runs', handleSignals: false });
    expect(callback.redact('pa55-w0rd-77 and cGhpbDpwYTU1LXcwcmQtNzc=')).toBe('*** and ***');
  });
});
